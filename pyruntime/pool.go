package pyruntime

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/rand/v2"
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
	Grace        time.Duration // after a timeout, how long an interrupted handler may take to stop
	MaxRequests  int           // replace a worker after this many requests (0: never)
	Jitter       int           // add 0..Jitter to MaxRequests per worker, so they do not recycle together
	// MaxMemory caps each worker's memory in bytes; 0 for none. A worker
	// process gets an OS limit (RLIMIT_DATA: heap and private mappings); a
	// sub-interpreter an accounting allocator that fails its requests'
	// allocations past the cap (MemoryError there only). Not available in
	// the main runtime, whose workers share one interpreter.
	MaxMemory int64
	// AllowedImports overrides the app's allowed_imports setting when not
	// nil; listing subprocess (or multiprocessing, pty) or ctypes (or cffi)
	// lets the audit hook permit process spawning or ctypes.
	AllowedImports []string
	Logger         *slog.Logger
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
	// interrupt raises TimeoutError in the running request; any goroutine.
	interrupt(escalate bool)
	// kill stops a stuck backend at once if it can (a process), so that
	// dispatch returns server.ErrWorkerLost; false if it cannot.
	kill() bool
	// refused is the number of operations its guard refused so far.
	refused() uint64
	close()
}

// A generation is the set of workers serving one version of the app; a
// reload (--reload) starts a new one and drains the old.
type generation struct {
	free    chan *worker  // idle workers
	workers []*worker     // every slot, by id; guarded by Pool.mu
	retired chan struct{} // closed when a newer generation took over
}

func newGeneration(n int) *generation {
	return &generation{free: make(chan *worker, n), workers: make([]*worker, n), retired: make(chan struct{})}
}

// worker is one slot of the pool. b and limit are touched only by the
// goroutine holding the slot; mu guards running and abandoned, which the
// timeout watchdog reads.
type worker struct {
	id    int
	b     backend // nil while a dead backend is being replaced; written under mu
	limit uint64  // recycle after this many requests of b (0: never)
	used  uint64  // requests served by b

	mu        sync.Mutex
	running   *server.Request // the request in b, nil when idle
	abandoned bool            // stuck past its grace: not returned to the pool

	stats *WorkerStats
	gen   *generation // where the slot returns when idle
}

// WorkerStats are one slot's counters, kept across the backends it has had.
type WorkerStats struct {
	Requests  atomic.Uint64 // requests served
	Timeouts  atomic.Uint64 // requests that overran their deadline
	Abandoned atomic.Uint64 // backends given up while stuck in C code
	Restarts  atomic.Uint64 // backends replaced after they died
	Recycles  atomic.Uint64 // backends replaced after MaxRequests
	Refused   atomic.Uint64 // refusals by backends this slot no longer has
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

	gen     atomic.Pointer[generation] // the workers serving now
	waiting atomic.Int64               // callers waiting for a free worker
	closed  atomic.Bool                // set by Close
	closing chan struct{}              // closed by Close: waiting callers give up

	allowSubprocess, allowFFI bool // the audit hook's policy, from allowed_imports

	mu    sync.Mutex   // guards generation.workers (slots are replaced when abandoned)
	stuck atomic.Int64 // abandoned backends whose call has not returned
	main  *mainOwner
	once  sync.Once
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
	if opts.MaxMemory > 0 && opts.Runtime == RuntimeMain {
		return nil, errors.New("a memory limit per worker cannot be enforced in the main runtime (its workers share one interpreter): use --runtime subinterpreters or process")
	}
	venv, err := findVenv(opts.Venv, opts.AppDir, PythonVersion())
	if err != nil {
		return nil, err
	}
	p := &Pool{opts: opts, log: log, pkgDir: opts.pkgDir, closing: make(chan struct{})}
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
	p.allowSubprocess, p.allowFFI = guardPolicy(p.app, opts.AllowedImports)
	if err := p.startRuntime(); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// guardPolicy reads allowed_imports (override, else the app's setting) and
// returns what the audit hook must permit.
func guardPolicy(desc []byte, override []string) (subprocess, ffi bool) {
	allowed := override
	if allowed == nil {
		var d struct {
			Settings struct {
				AllowedImports []string `json:"allowed_imports"`
			} `json:"settings"`
		}
		_ = json.Unmarshal(desc, &d)
		allowed = d.Settings.AllowedImports
	}
	for _, m := range allowed {
		switch m {
		case "subprocess", "multiprocessing", "_posixsubprocess", "pty":
			subprocess = true
		case "ctypes", "_ctypes", "cffi", "_cffi_backend":
			ffi = true
		}
	}
	return subprocess, ffi
}

// startRuntime starts the workers; auto tries sub-interpreters first.
func (p *Pool) startRuntime() error {
	rt := p.opts.Runtime
	if rt == RuntimeSubinterpreters && p.opts.MaxRequests > 0 {
		p.log.Warn("recycling sub-interpreters leaks memory inside CPython (about 6 MB per recycle measured here): use --runtime process for leak control")
	}
	if rt != RuntimeAuto {
		return p.startWorkers(rt)
	}
	if p.opts.MaxRequests > 0 {
		// Recycling is leak control, which only processes provide: a new
		// sub-interpreter costs CPython memory it never returns.
		p.log.Info("--max-requests is set: using the process runtime (recycled processes return all their memory)",
			"runtime", RuntimeProcess)
		return p.startWorkers(RuntimeProcess)
	}
	err := p.startWorkers(RuntimeSubinterpreters)
	mod := subinterpreterBlocker(err)
	if mod == "" {
		return err
	}
	if err := p.stopWorkers(p.gen.Load(), p.closeTimeout()); err != nil {
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
		runtime.LockOSThread()                           // CPython's main thread state lives on this thread
		if p.opts.MaxMemory > 0 && p.opts.pkgDir == "" { // not in worker processes: they use an OS limit
			trackMemory()
		}
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
	g, desc, err := p.newGenerationOf(rt)
	p.gen.Store(g)
	if err != nil {
		return err
	}
	if got, _ := fingerprint(desc); got != want {
		return fmt.Errorf("%s workers built a different route table than the main interpreter: routes must not depend on per-interpreter state", rt)
	}
	p.runtime = rt
	if p.opts.pkgDir == "" { // worker processes stay quiet
		p.log.Info("workers ready", "runtime", rt, "workers", p.opts.Workers, "startup_ms", time.Since(start).Milliseconds())
	}
	return nil
}

// newGenerationOf starts opts.Workers workers of runtime rt and returns them
// with the description they exported, or the first error (every worker, in
// error or not, is in the generation so that it can be stopped).
func (p *Pool) newGenerationOf(rt string) (*generation, []byte, error) {
	g := newGeneration(p.opts.Workers)
	errs := make([]error, p.opts.Workers)
	descs := make([][]byte, p.opts.Workers)
	workers := g.workers
	var wg sync.WaitGroup
	for i := range workers {
		workers[i] = p.newWorker(i, &WorkerStats{})
		workers[i].gen = g
		run := func() {
			defer wg.Done()
			b, desc, err := p.newBackend(rt, i)
			if err == nil {
				workers[i].b, descs[i] = b, desc
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
	for _, w := range workers {
		g.free <- w
	}
	for i, err := range errs {
		if err != nil {
			return g, nil, fmt.Errorf("loading app %q in %s worker %d: %w", p.opts.App, rt, i, err)
		}
	}
	want, _ := fingerprint(descs[0])
	for i := range descs {
		if got, _ := fingerprint(descs[i]); got != want {
			return g, nil, fmt.Errorf("%s workers %d and 0 built different route tables: routes must not depend on per-interpreter state", rt, i)
		}
	}
	return g, descs[0], nil
}

// newWorker makes slot id with its recycling limit drawn.
func (p *Pool) newWorker(id int, stats *WorkerStats) *worker {
	w := &worker{id: id, stats: stats}
	if p.opts.MaxRequests > 0 {
		w.limit = uint64(p.opts.MaxRequests)
		if p.opts.Jitter > 0 {
			w.limit += uint64(rand.IntN(p.opts.Jitter + 1))
		}
	}
	return w
}

// newBackend creates worker id's backend of runtime rt.
func (p *Pool) newBackend(rt string, id int) (backend, []byte, error) {
	var it *interp
	var desc []byte
	var err error
	switch rt {
	case RuntimeSubinterpreters:
		it, desc, err = newSubinterp(p.pkgDir, p.opts.App, p.opts.AppDir)
	case RuntimeMain:
		it, desc, err = newMainThread(p.opts.App, p.opts.AppDir, id == 0)
	default:
		return startProcess(p, id)
	}
	if err != nil {
		return nil, nil, err
	}
	it.guard(p.allowSubprocess, p.allowFFI)
	if rt == RuntimeSubinterpreters && p.opts.MaxMemory > 0 {
		it.setLimit(p.opts.MaxMemory)
	}
	return it, desc, nil
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
		err = p.stopWorkers(p.gen.Load(), p.closeTimeout())
		if err == nil && p.stuck.Load() > 0 {
			err = fmt.Errorf("%d abandoned handlers are still stuck in C code: not finalising Python (it would hang)", p.stuck.Load())
		}
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

// stopWorkers takes every worker of g out of the pool (waiting for busy
// ones at most timeout) and ends them, last created first.
func (p *Pool) stopWorkers(g *generation, timeout time.Duration) error {
	if g == nil {
		return nil
	}
	deadline := time.After(timeout)
	for range g.workers {
		select {
		case <-g.free:
		case <-deadline:
			return fmt.Errorf("a worker is still busy after %s: not finalising Python", timeout)
		}
	}
	p.mu.Lock()
	workers := append([]*worker(nil), g.workers...)
	p.mu.Unlock()
	for i := len(workers) - 1; i >= 0; i-- {
		if b := workers[i].b; b != nil {
			b.close()
		}
	}
	return nil
}

// Reload starts a new generation of workers with the app's current code
// and, once all of them loaded it, retires the old generation: requests in
// flight finish on the old code, new ones get the new code. It returns the
// new description. If the new code does not load (a syntax error), the old
// workers keep serving and the error (with the traceback) is returned.
// The main runtime cannot reload: its interpreter caches the app's modules.
func (p *Pool) Reload() ([]byte, error) {
	if p.runtime == RuntimeMain {
		return nil, errors.New("the main runtime cannot reload: use subinterpreters or process")
	}
	g, desc, err := p.newGenerationOf(p.runtime)
	if err != nil {
		go p.stopWorkers(g, p.closeTimeout())
		return nil, err
	}
	old := p.gen.Swap(g)
	close(old.retired)
	go func() {
		if err := p.stopWorkers(old, 5*time.Minute); err != nil {
			p.log.Warn("draining the old workers after a reload", "err", err.Error())
		}
	}()
	return desc, nil
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
