package pyruntime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gofastapi "github.com/gofastapi/gofastapi"
	"github.com/gofastapi/gofastapi/server"
)

// Options configure a Pool.
type Options struct {
	App          string        // "module:attr"
	AppDir       string        // put first on sys.path
	Workers      int           // number of sub-interpreters, ≥ 1
	QueueSize    int           // requests that may wait for a free interpreter, ≥ 1
	Venv         string        // virtual environment; "" to discover it
	CloseTimeout time.Duration // how long Close waits for busy interpreters
	Logger       *slog.Logger
	// Package holds the Python package "gofastapi/..." to import; nil means
	// the one embedded in the binary. Tests pass their own.
	Package fs.FS
}

// preload lists stdlib modules imported in the main interpreter before any
// sub-interpreter exists (see DESIGN.md: destroying sub-interpreters that
// imported datetime crashes 3.13.0 unless the main interpreter has it).
var preload = []string{"datetime", "decimal", "json", "uuid", "asyncio", "sqlite3", "zoneinfo", "hashlib"}

// Pool runs requests in a fixed set of own-GIL sub-interpreters. It
// implements server.Dispatcher and is safe for concurrent use. After Close,
// Dispatch returns server.ErrClosed.
type Pool struct {
	opts   Options
	log    *slog.Logger
	app    []byte // the app description, from the main interpreter
	pkgDir string // extracted Python package, removed by Close

	queue  chan *job     // requests waiting for an interpreter
	stop   chan struct{} // closed by Close: workers leave their loop
	closed atomic.Bool

	workers []*worker
	main    *mainOwner
	once    sync.Once
}

// worker is the goroutine owning one sub-interpreter.
type worker struct {
	id       int
	requests atomic.Uint64 // requests served
	turn     chan struct{} // closed when this worker may end its interpreter
	ended    chan struct{} // closed when its interpreter has ended
}

// mainOwner is the goroutine owning the main interpreter.
type mainOwner struct {
	finalize chan struct{} // closed to ask for Py_FinalizeEx
	done     chan struct{} // closed after finalisation
}

// Job states: a job is taken by exactly one of the worker (running) or the
// waiting caller giving up (abandoned).
const (
	stateQueued int32 = iota
	stateRunning
	stateAbandoned
)

type job struct {
	req   *server.Request
	resp  *server.Response
	err   error
	state atomic.Int32
	done  chan struct{} // capacity 1; signalled once per use
}

var jobs = sync.Pool{New: func() any { return &job{done: make(chan struct{}, 1)} }}

// Start initialises CPython, reads the app's description in the main
// interpreter and starts opts.Workers sub-interpreters that each import the
// app. It returns when every interpreter is ready, or the first error (the
// app's own traceback for an import error).
func Start(opts Options) (*Pool, error) {
	if opts.Workers < 1 || opts.QueueSize < 1 {
		return nil, fmt.Errorf("workers and queue size must be at least 1 (got %d, %d)", opts.Workers, opts.QueueSize)
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	venv, err := findVenv(opts.Venv, opts.AppDir, PythonVersion())
	if err != nil {
		return nil, err
	}
	src := opts.Package
	if src == nil {
		src = gofastapi.PythonPackage
	}
	pkgDir, err := extractPackage(src)
	if err != nil {
		return nil, err
	}
	p := &Pool{
		opts: opts, log: log, pkgDir: pkgDir,
		queue: make(chan *job, opts.QueueSize),
		stop:  make(chan struct{}),
	}
	exe := ""
	if venv != "" {
		exe = filepath.Join(venv, "bin", "python")
	}
	log.Info("starting Python", "python", strings.Fields(PythonVersion())[0], "venv", venv, "app", opts.App, "app_dir", opts.AppDir)
	if err := p.startMain(exe); err != nil {
		os.RemoveAll(pkgDir)
		return nil, err
	}
	if err := p.startWorkers(); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// App returns the app description (docs/protocol.md §1).
func (p *Pool) App() []byte { return p.app }

// startMain starts the main owner goroutine and waits for the description.
func (p *Pool) startMain(exe string) error {
	m := &mainOwner{finalize: make(chan struct{}), done: make(chan struct{})}
	ready := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // CPython's main thread state lives on this thread
		if err := initMain(exe, p.pkgDir); err != nil {
			ready <- fmt.Errorf("initialising Python: %w", err)
			return
		}
		p.main = m
		desc, err := loadMain(p.opts.App, p.opts.AppDir, strings.Join(preload, ","))
		if err != nil {
			ready <- fmt.Errorf("loading app %q: %w", p.opts.App, err)
		} else {
			p.app = desc
			ready <- nil
		}
		<-m.finalize
		finalizeMain()
		close(m.done)
	}()
	return <-ready
}

// startWorkers creates the sub-interpreters in parallel and checks that each
// exported the same route table as the main interpreter.
func (p *Pool) startWorkers() error {
	want, err := fingerprint(p.app)
	if err != nil {
		return err
	}
	type result struct {
		id   int
		desc []byte
		err  error
	}
	ready := make(chan result, p.opts.Workers)
	start := time.Now()
	for i := 0; i < p.opts.Workers; i++ {
		w := &worker{id: i, turn: make(chan struct{}), ended: make(chan struct{})}
		p.workers = append(p.workers, w)
		go func() {
			runtime.LockOSThread() // never unlocked: the interpreter lives on this thread
			it, desc, err := newInterp(p.pkgDir, p.opts.App, p.opts.AppDir)
			ready <- result{w.id, desc, err}
			if err != nil {
				close(w.ended)
				return
			}
			p.serve(w, it)
		}()
	}
	var firstErr error
	for range p.opts.Workers {
		r := <-ready
		if r.err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("loading app %q in sub-interpreter %d: %w", p.opts.App, r.id, r.err)
			}
			continue
		}
		if got, err := fingerprint(r.desc); err != nil || got != want {
			if firstErr == nil {
				firstErr = fmt.Errorf("sub-interpreter %d built a different route table than the main interpreter: routes must not depend on per-interpreter state", r.id)
			}
		}
	}
	if firstErr == nil {
		p.log.Info("interpreters ready", "runtime", "subinterpreters", "workers", p.opts.Workers,
			"startup_ms", time.Since(start).Milliseconds())
	}
	return firstErr
}

func fingerprint(desc []byte) (string, error) {
	var d struct {
		Fingerprint string `json:"fingerprint"`
	}
	if err := json.Unmarshal(desc, &d); err != nil {
		return "", fmt.Errorf("decoding app description: %w", err)
	}
	return d.Fingerprint, nil
}

// serve is the worker loop: take a job, run it, signal its caller. On stop
// it waits for its turn, then ends the interpreter on its own thread.
func (p *Pool) serve(w *worker, it *interp) {
	defer close(w.ended)
	for {
		var j *job
		select {
		case j = <-p.queue: // fast path: work is already waiting
		default:
			select {
			case j = <-p.queue:
			case <-p.stop:
				<-w.turn
				it.close()
				return
			}
		}
		if !j.state.CompareAndSwap(stateQueued, stateRunning) {
			continue // the caller gave up before we started
		}
		j.resp, j.err = it.dispatch(j.req)
		w.requests.Add(1)
		j.done <- struct{}{}
	}
}

// Dispatch runs req in a free interpreter. It fails fast with
// server.ErrOverloaded when the queue is full. If ctx ends while the request
// is still queued, it is dropped and ctx.Err() returned; once running, the
// handler is allowed to finish.
func (p *Pool) Dispatch(ctx context.Context, req *server.Request) (*server.Response, error) {
	if p.closed.Load() {
		return nil, server.ErrClosed
	}
	j := jobs.Get().(*job)
	j.req, j.resp, j.err = req, nil, nil
	j.state.Store(stateQueued)
	select {
	case p.queue <- j:
	default:
		jobs.Put(j)
		return nil, server.ErrOverloaded
	}
	select {
	case <-j.done:
	case <-ctx.Done():
		if j.state.CompareAndSwap(stateQueued, stateAbandoned) {
			return nil, ctx.Err() // the worker drops it; j is not reused
		}
		<-j.done
	}
	resp, err := j.resp, j.err
	j.req, j.resp, j.err = nil, nil, nil
	jobs.Put(j)
	return resp, err
}

// Stats returns the number of requests each interpreter has served.
func (p *Pool) Stats() []uint64 {
	out := make([]uint64, len(p.workers))
	for i, w := range p.workers {
		out[i] = w.requests.Load()
	}
	return out
}

// Close stops the workers once their current request is done, runs the
// app's shutdown hooks, ends the interpreters (last created first) and
// finalises CPython. Requests still queued get server.ErrClosed. If an
// interpreter is still busy after CloseTimeout, Close returns an error
// without finalising (CPython would hang). Close is idempotent.
func (p *Pool) Close() error {
	var err error
	p.once.Do(func() {
		p.closed.Store(true)
		close(p.stop)
		deadline := time.After(p.closeTimeout())
		for i := len(p.workers) - 1; i >= 0 && err == nil; i-- {
			w := p.workers[i]
			close(w.turn)
			select {
			case <-w.ended:
			case <-deadline:
				err = fmt.Errorf("sub-interpreter %d still busy after %s: not finalising Python", w.id, p.closeTimeout())
			}
		}
		p.failQueued()
		if err == nil && p.main != nil {
			close(p.main.finalize)
			select {
			case <-p.main.done:
			case <-deadline:
				err = errors.New("finalising Python timed out")
			}
		}
		os.RemoveAll(p.pkgDir)
	})
	return err
}

func (p *Pool) closeTimeout() time.Duration {
	if p.opts.CloseTimeout > 0 {
		return p.opts.CloseTimeout
	}
	return 10 * time.Second
}

// failQueued answers every job still in the queue with ErrClosed.
func (p *Pool) failQueued() {
	for {
		select {
		case j := <-p.queue:
			if j.state.CompareAndSwap(stateQueued, stateRunning) {
				j.err = server.ErrClosed
				j.done <- struct{}{}
			}
		default:
			return
		}
	}
}
