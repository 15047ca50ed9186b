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
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gofastapi "github.com/gofastapi/gofastapi"
	"github.com/gofastapi/gofastapi/server"
)

// Runtimes a Pool can run the app in (see DESIGN.md, "Runtimes").
const (
	RuntimeAuto            = "auto"            // sub-interpreters, else processes
	RuntimeSubinterpreters = "subinterpreters" // own-GIL sub-interpreters in this process
	RuntimeProcess         = "process"         // worker processes, one interpreter each
	RuntimeMain            = "main"            // threads sharing the main interpreter
)

// Options configure a Pool.
type Options struct {
	Runtime      string        // one of the Runtime* constants; "" is auto
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

	pkgDir string // set in worker processes: the parent's extracted package
}

// preload lists stdlib modules imported in the main interpreter before any
// sub-interpreter exists (see DESIGN.md: destroying sub-interpreters that
// imported datetime crashes 3.13.0 unless the main interpreter has it).
var preload = []string{"datetime", "decimal", "json", "uuid", "asyncio", "sqlite3", "zoneinfo", "hashlib"}

// Pool runs requests in a fixed set of own-GIL sub-interpreters. It
// implements server.Dispatcher and is safe for concurrent use. After Close,
// Dispatch returns server.ErrClosed.
type Pool struct {
	opts    Options
	runtime string // the runtime in use (never auto)
	log     *slog.Logger
	app    []byte // the app description, from the main interpreter
	pkgDir string // extracted Python package, removed by Close
	exe    string // the venv's python, "" for the base installation
	owned  bool   // pkgDir was extracted by this pool

	queue  chan *job     // requests waiting for an interpreter
	stop   chan struct{} // closed by Close: workers leave their loop
	closed atomic.Bool

	workers []*worker
	main    *mainOwner
	once    sync.Once
}

// A backend runs requests for one worker: a sub-interpreter, a main
// interpreter thread or a worker process. It is used by one goroutine only.
type backend interface {
	dispatch(*server.Request) (*server.Response, error)
	close()
}

// worker is the goroutine owning one backend.
type worker struct {
	id       int
	requests atomic.Uint64 // requests served
	restarts atomic.Uint64 // backends replaced after they died
	turn     chan struct{} // closed when this worker may end its backend
	ended    chan struct{} // closed when its backend has ended
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
// interpreter and starts opts.Workers workers of the chosen runtime that
// each import the app. It returns when every worker is ready, or the first
// error (the app's own traceback for an import error). In the auto runtime
// an app that cannot load in a sub-interpreter is served by processes.
func Start(opts Options) (*Pool, error) {
	if opts.Workers < 1 || opts.QueueSize < 1 {
		return nil, fmt.Errorf("workers and queue size must be at least 1 (got %d, %d)", opts.Workers, opts.QueueSize)
	}
	switch opts.Runtime {
	case "":
		opts.Runtime = RuntimeAuto
	case RuntimeAuto, RuntimeSubinterpreters, RuntimeProcess, RuntimeMain:
	default:
		return nil, fmt.Errorf("runtime %q: expected auto, subinterpreters, process or main", opts.Runtime)
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	venv, err := findVenv(opts.Venv, opts.AppDir, PythonVersion())
	if err != nil {
		return nil, err
	}
	p := &Pool{
		opts: opts, log: log, pkgDir: opts.pkgDir,
		queue: make(chan *job, opts.QueueSize),
		stop:  make(chan struct{}),
	}
	if venv != "" {
		p.exe = filepath.Join(venv, "bin", "python")
	}
	if p.pkgDir == "" {
		src := opts.Package
		if src == nil {
			src = gofastapi.PythonPackage
		}
		if p.pkgDir, err = extractPackage(src); err != nil {
			return nil, err
		}
		p.owned = true
	}
	log.Debug("starting Python", "python", strings.Fields(PythonVersion())[0], "venv", venv, "app", opts.App, "app_dir", opts.AppDir)
	if err := p.startMain(); err != nil {
		p.removePackage()
		return nil, err
	}
	if err := p.startRuntime(); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// startRuntime starts the workers; auto tries sub-interpreters first.
func (p *Pool) startRuntime() error {
	rt := p.opts.Runtime
	if rt != RuntimeAuto {
		return p.startWorkers(rt)
	}
	err := p.startWorkers(RuntimeSubinterpreters)
	mod := subinterpreterBlocker(err)
	if mod == "" {
		return err
	}
	p.stopWorkers(p.closeTimeout())
	p.log.Warn(fmt.Sprintf("extension module %s cannot load in a sub-interpreter: using the process runtime", mod),
		"module", mod, "runtime", RuntimeProcess)
	p.stop = make(chan struct{})
	p.workers = nil
	return p.startWorkers(RuntimeProcess)
}

// subinterpreterBlocker returns the module named by an ImportError that says
// it cannot load in sub-interpreters, or "".
func subinterpreterBlocker(err error) string {
	var pe *PythonError
	if !errors.As(err, &pe) || !strings.Contains(pe.Message, "does not support loading in subinterpreters") {
		return ""
	}
	if m := blockerRE.FindStringSubmatch(pe.Message); m != nil {
		return m[1]
	}
	return "an extension"
}

var blockerRE = regexp.MustCompile(`module ([\w.]+) does not support loading in subinterpreters`)

// Runtime returns the runtime in use: subinterpreters, process or main.
func (p *Pool) Runtime() string { return p.runtime }

// App returns the app description (docs/protocol.md §1).
func (p *Pool) App() []byte { return p.app }

// startMain starts the main owner goroutine and waits for the description.
func (p *Pool) startMain() error {
	m := &mainOwner{finalize: make(chan struct{}), done: make(chan struct{})}
	ready := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // CPython's main thread state lives on this thread
		if err := initMain(p.exe, p.pkgDir); err != nil {
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

// startWorkers starts opts.Workers workers of runtime rt in parallel and
// checks that each exported the same route table as the main interpreter.
func (p *Pool) startWorkers(rt string) error {
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
	var mainReady chan struct{} // main workers start one after the other
	for i := 0; i < p.opts.Workers; i++ {
		w := &worker{id: i, turn: make(chan struct{}), ended: make(chan struct{})}
		p.workers = append(p.workers, w)
		prev, next := mainReady, make(chan struct{})
		mainReady = next
		go func() {
			if rt != RuntimeProcess {
				runtime.LockOSThread() // never unlocked: the interpreter lives on this thread
			}
			if prev != nil && rt == RuntimeMain {
				<-prev
			}
			b, desc, err := p.newBackend(rt, w.id)
			close(next)
			ready <- result{w.id, desc, err}
			if err != nil {
				close(w.ended)
				return
			}
			p.serve(w, rt, b)
		}()
	}
	var firstErr error
	for range p.opts.Workers {
		r := <-ready
		if r.err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("loading app %q in %s worker %d: %w", p.opts.App, rt, r.id, r.err)
			}
			continue
		}
		if got, err := fingerprint(r.desc); err != nil || got != want {
			if firstErr == nil {
				firstErr = fmt.Errorf("%s worker %d built a different route table than the main interpreter: routes must not depend on per-interpreter state", rt, r.id)
			}
		}
	}
	if firstErr == nil {
		p.runtime = rt
		p.log.Info("workers ready", "runtime", rt, "workers", p.opts.Workers, "startup_ms", time.Since(start).Milliseconds())
	}
	return firstErr
}

// newBackend creates worker id's backend of runtime rt on the calling
// goroutine (locked to its thread for the in-process runtimes).
func (p *Pool) newBackend(rt string, id int) (backend, []byte, error) {
	switch rt {
	case RuntimeSubinterpreters:
		return newSubinterp(p.pkgDir, p.opts.App, p.opts.AppDir)
	case RuntimeMain:
		return newMainThread(p.opts.App, p.opts.AppDir, id == 0)
	default:
		return startProcess(p, id)
	}
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

// serve is the worker loop: take a job, run it, signal its caller. A worker
// process that died is replaced. On stop the worker waits for its turn,
// then ends its backend on its own thread.
func (p *Pool) serve(w *worker, rt string, b backend) {
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
				if b != nil {
					b.close()
				}
				return
			}
		}
		if !j.state.CompareAndSwap(stateQueued, stateRunning) {
			continue // the caller gave up before we started
		}
		if b == nil {
			b = p.replace(w, rt)
		}
		if b == nil {
			j.err = server.ErrWorkerLost
		} else {
			j.resp, j.err = b.dispatch(j.req)
			w.requests.Add(1)
			if errors.Is(j.err, server.ErrWorkerLost) {
				b.close()
				b = p.replace(w, rt)
			}
		}
		j.done <- struct{}{}
	}
}

// replace starts a new backend for a worker whose backend died; nil if that
// failed too (the next request tries again).
func (p *Pool) replace(w *worker, rt string) backend {
	w.restarts.Add(1)
	b, _, err := p.newBackend(rt, w.id)
	if err != nil {
		p.log.Error("replacing a dead worker failed", "worker", w.id, "runtime", rt, "err", err.Error())
		return nil
	}
	p.log.Warn("worker replaced", "worker", w.id, "runtime", rt, "restarts", w.restarts.Load())
	return b
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
// finalises CPython. Requests still queued get server.ErrClosed. If a worker
// is still busy after CloseTimeout, Close returns an error without
// finalising (CPython would hang). Close is idempotent.
func (p *Pool) Close() error {
	var err error
	p.once.Do(func() {
		p.closed.Store(true)
		deadline := time.Now().Add(p.closeTimeout())
		err = p.stopWorkers(p.closeTimeout())
		p.failQueued()
		if err == nil && p.main != nil {
			close(p.main.finalize)
			select {
			case <-p.main.done:
			case <-time.After(time.Until(deadline)):
				err = errors.New("finalising Python timed out")
			}
		}
		p.removePackage()
	})
	return err
}

// stopWorkers ends every worker, last created first, within timeout.
func (p *Pool) stopWorkers(timeout time.Duration) error {
	close(p.stop)
	deadline := time.After(timeout)
	for i := len(p.workers) - 1; i >= 0; i-- {
		w := p.workers[i]
		close(w.turn)
		select {
		case <-w.ended:
		case <-deadline:
			return fmt.Errorf("worker %d still busy after %s: not finalising Python", w.id, timeout)
		}
	}
	return nil
}

func (p *Pool) removePackage() {
	if p.owned {
		os.RemoveAll(p.pkgDir)
	}
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
