package pyruntime

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
