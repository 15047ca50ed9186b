package server

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"
)

// recorder remembers the status and size of a response for the access log
// and for panic recovery.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (rw *recorder) WriteHeader(status int) {
	if rw.status == 0 {
		rw.status = status
	}
	rw.ResponseWriter.WriteHeader(status)
}

func (rw *recorder) Write(b []byte) (int, error) {
	if rw.status == 0 {
		rw.status = http.StatusOK
	}
	n, err := rw.ResponseWriter.Write(b)
	rw.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the connection.
func (rw *recorder) Unwrap() http.ResponseWriter { return rw.ResponseWriter }

// withAccessLog logs one JSON line per request on log (nil: no access log)
// and recovers from panics in next with a clean 500.
func withAccessLog(log, accessLog *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				log.Error("panic serving request", "request_id", requestID(r), "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				if rec.status == 0 {
					writeError(rec, http.StatusInternalServerError, "Internal Server Error")
				}
			}
			if accessLog != nil {
				accessLog.LogAttrs(r.Context(), slog.LevelInfo, "request",
					slog.String("request_id", requestID(r)),
					slog.String("client", r.RemoteAddr),
					slog.String("method", r.Method),
					slog.String("path", r.URL.Path),
					slog.String("proto", r.Proto),
					slog.Int("status", rec.status),
					slog.Int("bytes", rec.bytes),
					slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
				)
			}
		}()
		next.ServeHTTP(rec, r)
	})
}
