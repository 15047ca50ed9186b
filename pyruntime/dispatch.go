package pyruntime

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofastapi/gofastapi/server"
)

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

func (p *Pool) grace() time.Duration {
	if p.opts.Grace > 0 {
		return p.opts.Grace
	}
	return 2 * time.Second
}
