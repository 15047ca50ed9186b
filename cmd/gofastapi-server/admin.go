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
	"github.com/gofastapi/gofastapi/server"
)

// statsReport is what operators see: in the log every --stats-interval and
// at shutdown, and on the admin endpoint.
type statsReport struct {
	Runtime      string                     `json:"runtime"`
	AuthFailures uint64                     `json:"auth_failures"` // 401 answers
	BadTokens    uint64                     `json:"bad_tokens"`    // JWTs refused at the edge
	Waiting      int64                      `json:"waiting"`
	ServerRSS    int64                      `json:"server_rss_bytes"`
	Goroutines   int                        `json:"goroutines"`
	Workers      []pyruntime.WorkerSnapshot `json:"workers"`
}

func report(pool *pyruntime.Pool, srv *server.Server) statsReport {
	workers, waiting := pool.Snapshot()
	c := srv.Counts()
	return statsReport{Runtime: pool.Runtime(), Waiting: waiting, ServerRSS: pyruntime.ProcessRSS(os.Getpid()),
		Goroutines: runtime.NumGoroutine(), Workers: workers,
		AuthFailures: c.AuthFailures.Load(), BadTokens: c.BadTokens.Load()}
}

// logStats logs a stats line every interval until ctx ends.
func logStats(ctx context.Context, log *slog.Logger, pool *pyruntime.Pool, srv *server.Server, interval time.Duration) {
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
			log.Info("stats", "stats", report(pool, srv))
		}
	}
}

// serveAdmin serves GET /_gofastapi/stats on ln (never on the public port)
// until ctx ends.
func serveAdmin(ctx context.Context, ln net.Listener, pool *pyruntime.Pool, srv *server.Server) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_gofastapi/stats", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(report(pool, srv))
	})
	admin := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		admin.Close()
	}()
	_ = admin.Serve(ln)
}
