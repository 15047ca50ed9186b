package pyruntime

import (
	"context"
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

// Dispatch runs req on a free worker. When every worker is busy it waits in
// line; when QueueSize callers already wait it fails fast with
// server.ErrOverloaded. If ctx ends while waiting, it returns ctx.Err().
//
// The request runs in the calling goroutine, on its own thread. With
// req.Timeout a watchdog interrupts the handler at the deadline (a
// TimeoutError raised in it; pure-Python code stops within microseconds)
// and Dispatch returns context.DeadlineExceeded. A handler still running
// after the grace period (stuck in C code) is abandoned: a process is
// killed, an interpreter is left to finish on its own while its slot gets a
// fresh one, and req.Abandon answers the client.
func (p *Pool) Dispatch(ctx context.Context, req *server.Request) (*server.Response, error) {
	if p.closed.Load() {
		return nil, server.ErrClosed
	}
	w, err := p.acquire(ctx)
	if err != nil {
		return nil, err
	}
	if p.closed.Load() {
		w.gen.free <- w
		return nil, server.ErrClosed
	}
	if req.Timeout <= 0 {
		return p.run(w, req)
	}
	wd := &watchdog{p: p, w: w, req: req}
	wd.timer = time.AfterFunc(req.Timeout, wd.deadline)
	resp, err := p.run(w, req)
	wd.stop()
	if wd.fired.Load() {
		return nil, fmt.Errorf("request timed out after %s: %w", req.Timeout, context.DeadlineExceeded)
	}
	return resp, err
}

// A watchdog enforces one request's deadline while the request runs
// inline: at the deadline it raises TimeoutError in the handler, at half
// the grace period it escalates (the handler swallowed the exception), and
// at the end of the grace period it abandons the worker (the handler is
// stuck in C code) and calls req.Abandon so the client is answered at once.
type watchdog struct {
	p     *Pool
	w     *worker
	req   *server.Request
	fired atomic.Bool
	mu    sync.Mutex
	timer *time.Timer // guarded by mu
	done  bool        // guarded by mu: the request returned
}

func (wd *watchdog) stop() {
	wd.mu.Lock()
	wd.done = true
	wd.timer.Stop()
	wd.mu.Unlock()
}

// after schedules f unless the request already returned.
func (wd *watchdog) after(d time.Duration, f func()) {
	wd.mu.Lock()
	if !wd.done {
		wd.timer = time.AfterFunc(d, f)
	}
	wd.mu.Unlock()
}

func (wd *watchdog) deadline() {
	wd.fired.Store(true)
	wd.w.stats.Timeouts.Add(1)
	wd.p.interrupt(wd.w, wd.req, false)
	wd.after(wd.p.grace()/2, func() {
		wd.p.interrupt(wd.w, wd.req, true) // it swallowed the exception: unwind it line by line
		wd.after(wd.p.grace()/2, func() {
			if wd.p.abandon(wd.w, wd.req) && wd.req.Abandon != nil {
				wd.req.Abandon()
			}
		})
	})
}

// acquire takes a free worker of the current generation, waiting in line
// (at most QueueSize callers wait) and moving to a newer generation if a
// reload retires the one it waits on.
func (p *Pool) acquire(ctx context.Context) (*worker, error) {
	g := p.gen.Load()
	select {
	case w := <-g.free:
		return w, nil
	default:
	}
	if p.waiting.Add(1) > int64(p.opts.QueueSize) {
		p.waiting.Add(-1)
		return nil, server.ErrOverloaded
	}
	defer p.waiting.Add(-1)
	for {
		select {
		case w := <-g.free:
			return w, nil
		case <-g.retired:
			g = p.gen.Load()
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-p.closing:
			return nil, server.ErrClosed
		}
	}
}

// interrupt raises TimeoutError in req if it is still the one running on w.
func (p *Pool) interrupt(w *worker, req *server.Request, escalate bool) {
	w.mu.Lock()
	if w.running == req && w.b != nil {
		w.b.interrupt(escalate)
	}
	w.mu.Unlock()
}

// abandon gives up a backend stuck in req past its grace period. A process
// is killed and replaced by run as a dead one; an interpreter cannot be
// killed, so its slot gets a new worker here and the stuck one is ended
// whenever its call returns.
//
// It reports whether the request is still stuck (an interpreter was
// abandoned): then its caller will not return soon and must be answered by
// other means.
func (p *Pool) abandon(w *worker, req *server.Request) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.running != req || w.b == nil {
		return false
	}
	if w.b.kill() {
		p.log.Error("handler stuck past its timeout: killed its worker process", "worker", w.id,
			"request_id", req.RequestID, "path", req.Path)
		return false
	}
	w.abandoned = true
	w.stats.Abandoned.Add(1)
	p.stuck.Add(1)
	p.log.Error("handler stuck past its timeout: abandoning its interpreter and starting a new one",
		"worker", w.id, "request_id", req.RequestID, "path", req.Path, "runtime", p.runtime)
	go func() {
		nw := p.newWorker(w.id, w.stats)
		nw.gen = w.gen
		if p.replace(nw) {
			p.mu.Lock()
			w.gen.workers[w.id] = nw
			p.mu.Unlock()
		}
		nw.gen.free <- nw
	}()
	return true
}

// run serves one request on w and gives w back to the pool (unless it was
// abandoned). A backend that died or reached its request limit is replaced
// off the request path: the slot returns to the pool once the new backend
// is ready.
func (p *Pool) run(w *worker, req *server.Request) (*server.Response, error) {
	if w.b == nil && !p.replace(w) {
		w.gen.free <- w
		return nil, server.ErrWorkerLost
	}
	w.mu.Lock()
	w.running = req
	w.mu.Unlock()
	resp, err := w.b.dispatch(req)
	w.mu.Lock()
	w.running = nil
	abandoned := w.abandoned
	w.mu.Unlock()
	w.stats.Requests.Add(1)
	w.used++
	switch {
	case abandoned:
		go func() {
			w.retire(w.b)
			p.stuck.Add(-1)
		}()
	case errors.Is(err, server.ErrWorkerLost):
		w.stats.Restarts.Add(1)
		p.log.Warn("worker died: starting a new one", "worker", w.id, "runtime", p.runtime, "request_id", req.RequestID)
		go func() {
			w.retire(w.b)
			w.mu.Lock()
			w.b = nil
			w.mu.Unlock()
			p.replace(w)
			w.gen.free <- w
		}()
	case w.limit > 0 && w.used >= w.limit:
		go func() {
			w.mu.Lock()
			old := w.b
			w.b = nil
			w.mu.Unlock()
			w.retire(old)
			w.stats.Recycles.Add(1)
			p.replace(w)
			w.gen.free <- w
		}()
	default:
		w.gen.free <- w
	}
	return resp, err
}

// retire closes b, keeping its refusal count in the slot's stats.
func (w *worker) retire(b backend) {
	w.stats.Refused.Add(b.refused())
	b.close()
}

// refusedTotal sums every slot's refusals (worker processes report it).
func (p *Pool) refusedTotal() uint64 {
	workers, _ := p.Snapshot()
	var n uint64
	for _, w := range workers {
		n += w.Refused
	}
	return n
}

// replace starts a new backend for w and reports success. It must only be
// called by the goroutine holding w.
func (p *Pool) replace(w *worker) bool {
	b, _, err := p.newBackend(p.runtime, w.id)
	if err != nil {
		p.log.Error("starting a worker failed", "worker", w.id, "runtime", p.runtime, "err", err.Error())
		return false
	}
	w.mu.Lock()
	w.b, w.used = b, 0
	w.mu.Unlock()
	if w.limit > 0 && p.opts.Jitter > 0 {
		w.limit = uint64(p.opts.MaxRequests + rand.IntN(p.opts.Jitter+1))
	}
	return true
}

// interruptAll interrupts whatever runs anywhere in the pool (worker
// processes use it on SIGUSR1/SIGUSR2 from the server).
func (p *Pool) interruptAll(escalate bool) {
	p.mu.Lock()
	workers := append([]*worker(nil), p.gen.Load().workers...)
	p.mu.Unlock()
	for _, w := range workers {
		w.mu.Lock()
		if w.running != nil && w.b != nil {
			w.b.interrupt(escalate)
		}
		w.mu.Unlock()
	}
}

func (p *Pool) grace() time.Duration {
	if p.opts.Grace > 0 {
		return p.opts.Grace
	}
	return 2 * time.Second
}

// WorkerSnapshot is one slot's counters at a moment, for logs and the
// admin endpoint.
type WorkerSnapshot struct {
	ID        int    `json:"id"`
	Requests  uint64 `json:"requests"`
	Timeouts  uint64 `json:"timeouts"`
	Abandoned uint64 `json:"abandoned"`
	Restarts  uint64 `json:"restarts"`
	Recycles  uint64 `json:"recycles"`
	Refused   uint64 `json:"refused"`                // operations refused by the import guard and audit hook
	PID       int    `json:"pid,omitempty"`          // worker process (process runtime)
	RSSBytes  int64  `json:"rss_bytes,omitempty"`    // worker process resident memory
	Memory    int64  `json:"memory_bytes,omitempty"` // sub-interpreter: bytes its requests hold (with a memory limit)
}

// Snapshot returns every slot's counters, and the number of requests
// waiting for a worker.
func (p *Pool) Snapshot() ([]WorkerSnapshot, int64) {
	p.mu.Lock()
	workers := append([]*worker(nil), p.gen.Load().workers...)
	p.mu.Unlock()
	out := make([]WorkerSnapshot, len(workers))
	for i, w := range workers {
		st := w.stats
		out[i] = WorkerSnapshot{ID: w.id, Requests: st.Requests.Load(), Timeouts: st.Timeouts.Load(),
			Abandoned: st.Abandoned.Load(), Restarts: st.Restarts.Load(), Recycles: st.Recycles.Load(),
			Refused: st.Refused.Load()}
		w.mu.Lock()
		if w.b != nil {
			out[i].Refused += w.b.refused()
		}
		if pr, ok := w.b.(*process); ok && pr != nil {
			out[i].PID = pr.cmd.Process.Pid
			out[i].RSSBytes = ProcessRSS(out[i].PID)
		} else if it, ok := w.b.(*interp); ok && it != nil {
			out[i].Memory = it.memory()
		}
		w.mu.Unlock()
	}
	return out, p.waiting.Load()
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
