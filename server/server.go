package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Config holds the edge settings. The zero value is not useful; start from
// DefaultConfig.
type Config struct {
	ReadHeaderTimeout time.Duration // time to read the request line and headers
	ReadTimeout       time.Duration // time to read a whole request, body included
	WriteTimeout      time.Duration // time from the end of the headers to the end of the response
	IdleTimeout       time.Duration // keep-alive connections idle longer are closed
	ShutdownTimeout   time.Duration // how long in-flight requests may finish after SIGTERM
	MaxHeaderBytes    int           // request line + headers; larger requests get 431
	MaxBodyBytes      int64         // request bodies; larger ones get 413
	AccessLog         bool          // one JSON line per request
}

// DefaultConfig returns hardened defaults: every timeout set (net/http has
// none unless asked) and header bytes capped at 32 KiB instead of 1 MiB.
func DefaultConfig() Config {
	return Config{
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ShutdownTimeout:   30 * time.Second,
		MaxHeaderBytes:    32 << 10,
		MaxBodyBytes:      1 << 20,
		AccessLog:         true,
	}
}

// Server is the HTTP edge for one app. It is safe for concurrent use;
// Serve may be called once.
type Server struct {
	cfg     Config
	log     *slog.Logger
	handler http.Handler
}

// New builds the middleware chain and the router for app, dispatching matched
// requests to d. It fails on a route table that ServeMux cannot represent.
func New(cfg Config, app *App, d Dispatcher, log *slog.Logger) (*Server, error) {
	if app.Settings.MaxRequestSize != nil && *app.Settings.MaxRequestSize > 0 {
		cfg.MaxBodyBytes = *app.Settings.MaxRequestSize
	}
	router, err := newRouter(app.Routes, func(rt *Route) http.Handler {
		return &routeHandler{route: rt, d: d, maxBody: cfg.MaxBodyBytes, log: log}
	})
	if err != nil {
		return nil, err
	}
	var access *slog.Logger
	if cfg.AccessLog {
		access = log.With("logger", "gofastapi.access")
	}
	h := withRequestID(newRequestIDs(), router)
	h = withAccessLog(log, access, h)
	return &Server{cfg: cfg, log: log, handler: h}, nil
}

// Handler returns the whole chain, for tests.
func (s *Server) Handler() http.Handler { return s.handler }

// Serve serves HTTP on ln until ctx is cancelled, then shuts down gracefully:
// it stops accepting, lets in-flight requests finish for at most
// ShutdownTimeout, and returns. It returns nil after a clean shutdown.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout:       s.cfg.ReadTimeout,
		WriteTimeout:      s.cfg.WriteTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		MaxHeaderBytes:    s.cfg.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serving on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	s.log.Info("shutting down: waiting for in-flight requests", "timeout", s.cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		s.log.Warn("shutdown timeout reached: closing remaining connections")
		_ = srv.Close()
	} else if err != nil {
		return err
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
