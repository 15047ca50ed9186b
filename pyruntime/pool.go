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
	Workers      int           // interpreters, processes or threads, ≥ 1
	QueueSize    int           // requests that may wait for a free worker, ≥ 1
	Venv         string        // virtual environment; "" to discover it
	CloseTimeout time.Duration // how long Close waits for busy workers
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

// A backend runs requests for one worker: a sub-interpreter, a share of the
// main interpreter or a worker process. The pool hands it to one goroutine
// at a time; that goroutine calls into it directly, on its own thread.
type backend interface {
	dispatch(*server.Request) (*server.Response, error)
	close()
}

// worker is one slot of the pool. Its fields other than the counters are
// touched only by the goroutine holding the slot.
type worker struct {
	id       int
	b        backend // nil while a dead backend is being replaced
	requests atomic.Uint64
	restarts atomic.Uint64
}

// Pool runs requests in a fixed set of workers. It implements
// server.Dispatcher and is safe for concurrent use. The goroutine calling
// Dispatch runs the request itself, on its own OS thread, as soon as it
// holds a free worker: there is no hand-off to another thread, which on a
// small handler costs more than the handler (DESIGN.md, "Measured facts").
// After Close, Dispatch returns server.ErrClosed.
type Pool struct {
	opts    Options
	runtime string // the runtime in use (never auto)
	log     *slog.Logger
	app     []byte // the app description, from the main interpreter
	pkgDir  string // extracted Python package, removed by Close
	exe     string // the venv's python, "" for the base installation
	owned   bool   // pkgDir was extracted by this pool

	free    chan *worker  // idle workers
	waiting atomic.Int64  // callers waiting for a free worker
	closed  atomic.Bool   // set by Close
	closing chan struct{} // closed by Close: waiting callers give up

	workers []*worker
	main    *mainOwner
	once    sync.Once
}

// mainOwner is the goroutine owning the main interpreter.
type mainOwner struct {
	finalize chan struct{} // closed to ask for Py_FinalizeEx
	done     chan struct{} // closed after finalisation
}

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
	p := &Pool{opts: opts, log: log, pkgDir: opts.pkgDir, free: make(chan *worker, opts.Workers), closing: make(chan struct{})}
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
	if err := p.stopWorkers(p.closeTimeout()); err != nil {
		return err
	}
	p.log.Warn(fmt.Sprintf("extension module %s cannot load in a sub-interpreter: using the process runtime", mod),
		"module", mod, "runtime", RuntimeProcess)
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

// startWorkers starts opts.Workers workers of runtime rt and checks that each
// exported the same route table as the main interpreter. Sub-interpreters
// and processes start in parallel; main workers one after the other, since
// only the first runs the app's start-up hooks.
func (p *Pool) startWorkers(rt string) error {
	want, err := fingerprint(p.app)
	if err != nil {
		return err
	}
	start := time.Now()
	errs := make([]error, p.opts.Workers)
	workers := make([]*worker, p.opts.Workers)
	var wg sync.WaitGroup
	for i := range workers {
		workers[i] = &worker{id: i}
		run := func() {
			defer wg.Done()
			b, desc, err := p.newBackend(rt, i)
			if err == nil {
				workers[i].b = b
				if got, ferr := fingerprint(desc); ferr != nil || got != want {
					err = fmt.Errorf("it built a different route table than the main interpreter: routes must not depend on per-interpreter state")
				}
			}
			errs[i] = err
		}
		wg.Add(1)
		if rt == RuntimeMain {
			run()
		} else {
			go run()
		}
	}
	wg.Wait()
	p.workers = workers
	for _, w := range workers {
		p.free <- w
	}
	for i, err := range errs {
		if err != nil {
			return fmt.Errorf("loading app %q in %s worker %d: %w", p.opts.App, rt, i, err)
		}
	}
	p.runtime = rt
	if p.opts.pkgDir == "" { // worker processes stay quiet
		p.log.Info("workers ready", "runtime", rt, "workers", p.opts.Workers, "startup_ms", time.Since(start).Milliseconds())
	}
	return nil
}

// newBackend creates worker id's backend of runtime rt.
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

// Dispatch runs req on a free worker, in the calling goroutine. When every
// worker is busy it waits in line; when QueueSize callers already wait it
// fails fast with server.ErrOverloaded. If ctx ends while waiting, it
// returns ctx.Err(); once running, the handler is allowed to finish.
func (p *Pool) Dispatch(ctx context.Context, req *server.Request) (*server.Response, error) {
	if p.closed.Load() {
		return nil, server.ErrClosed
	}
	var w *worker
	select {
	case w = <-p.free:
	default:
		if p.waiting.Add(1) > int64(p.opts.QueueSize) {
			p.waiting.Add(-1)
			return nil, server.ErrOverloaded
		}
		select {
		case w = <-p.free:
			p.waiting.Add(-1)
		case <-ctx.Done():
			p.waiting.Add(-1)
			return nil, ctx.Err()
		case <-p.closing:
			p.waiting.Add(-1)
			return nil, server.ErrClosed
		}
	}
	if p.closed.Load() {
		p.free <- w
		return nil, server.ErrClosed
	}
	return p.run(w, req)
}

// run serves one request on w and gives w back to the pool. A worker
// process that died is replaced off the request path: the slot returns to
// the pool once its new process is ready.
func (p *Pool) run(w *worker, req *server.Request) (*server.Response, error) {
	if w.b == nil && !p.replace(w) {
		p.free <- w
		return nil, server.ErrWorkerLost
	}
	resp, err := w.b.dispatch(req)
	w.requests.Add(1)
	if errors.Is(err, server.ErrWorkerLost) {
		w.b.close()
		w.b = nil
		go func() {
			p.replace(w)
			p.free <- w
		}()
		return resp, err
	}
	p.free <- w
	return resp, err
}

// replace starts a new backend for w and reports success. It must only be
// called by the goroutine holding w.
func (p *Pool) replace(w *worker) bool {
	w.restarts.Add(1)
	b, _, err := p.newBackend(p.runtime, w.id)
	if err != nil {
		p.log.Error("replacing a dead worker failed", "worker", w.id, "runtime", p.runtime, "err", err.Error())
		return false
	}
	w.b = b
	p.log.Warn("worker replaced", "worker", w.id, "runtime", p.runtime, "restarts", w.restarts.Load())
	return true
}

// Stats returns the number of requests each worker has served.
func (p *Pool) Stats() []uint64 {
	out := make([]uint64, len(p.workers))
	for i, w := range p.workers {
		out[i] = w.requests.Load()
	}
	return out
}

// Close waits for running requests to finish, runs the app's shutdown
// hooks, ends the workers (last created first) and finalises CPython.
// Waiting callers get server.ErrClosed. If a worker is still busy after
// CloseTimeout, Close returns an error without finalising (CPython would
// hang). Close is idempotent.
func (p *Pool) Close() error {
	var err error
	p.once.Do(func() {
		p.closed.Store(true)
		close(p.closing)
		deadline := time.Now().Add(p.closeTimeout())
		err = p.stopWorkers(p.closeTimeout())
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

// stopWorkers takes every worker out of the pool (waiting for busy ones at
// most timeout) and ends them, last created first.
func (p *Pool) stopWorkers(timeout time.Duration) error {
	deadline := time.After(timeout)
	for range p.workers {
		select {
		case <-p.free:
		case <-deadline:
			return fmt.Errorf("a worker is still busy after %s: not finalising Python", timeout)
		}
	}
	for i := len(p.workers) - 1; i >= 0; i-- {
		if b := p.workers[i].b; b != nil {
			b.close()
		}
	}
	p.workers = nil
	return nil
}

func (p *Pool) closeTimeout() time.Duration {
	if p.opts.CloseTimeout > 0 {
		return p.opts.CloseTimeout
	}
	return 10 * time.Second
}

func (p *Pool) removePackage() {
	if p.owned {
		os.RemoveAll(p.pkgDir)
	}
}
