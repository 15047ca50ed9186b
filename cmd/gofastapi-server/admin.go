package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"time"

	"github.com/gofastapi/gofastapi/pyruntime"
)

// statsReport is what operators see: in the log every --stats-interval and
// at shutdown, and on the admin endpoint.
type statsReport struct {
	Runtime    string                     `json:"runtime"`
	Waiting    int64                      `json:"waiting"`
	ServerRSS  int64                      `json:"server_rss_bytes"`
	Goroutines int                        `json:"goroutines"`
	Workers    []pyruntime.WorkerSnapshot `json:"workers"`
}

func report(pool *pyruntime.Pool) statsReport {
	workers, waiting := pool.Snapshot()
	return statsReport{Runtime: pool.Runtime(), Waiting: waiting, ServerRSS: pyruntime.ProcessRSS(os.Getpid()),
		Goroutines: runtime.NumGoroutine(), Workers: workers}
}

// logStats logs a stats line every interval until ctx ends.
func logStats(ctx context.Context, log *slog.Logger, pool *pyruntime.Pool, interval time.Duration) {
	if interval <= 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			log.Info("stats", "stats", report(pool))
		}
	}
}

// serveAdmin serves GET /_gofastapi/stats on ln (never on the public port)
// until ctx ends.
func serveAdmin(ctx context.Context, ln net.Listener, pool *pyruntime.Pool) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_gofastapi/stats", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(report(pool))
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	_ = srv.Serve(ln)
}
