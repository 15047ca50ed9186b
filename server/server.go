package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
)

// Config holds the edge settings. The zero value is not useful; start from
// DefaultConfig.
type Config struct {
	ReadHeaderTimeout time.Duration // request line and headers (and the TLS handshake)
	ReadTimeout       time.Duration // a whole request, body included
	WriteTimeout      time.Duration // from the end of the headers to the end of the response
	IdleTimeout       time.Duration // keep-alive connections idle longer are closed
	ShutdownTimeout   time.Duration // how long in-flight requests may finish after SIGTERM
	MaxHeaderBytes    int           // request line + headers; larger requests get 431
	MaxBodyBytes      int64         // default cap on bodies (413); the app's max_request_size wins
	AccessLog         bool          // one JSON line per request
	TLS               TLSConfig
	TrustedProxies    string        // CIDRs whose X-Forwarded-For/Forwarded are believed
	ForwardedHeader   string        // "x-forwarded-for" (default) or "forwarded": the one header trusted proxies set
	MaxQueryLength    int           // longer query strings are logged as suspicious
	MaxConnRequests   int           // requests one HTTP/2 connection may have in flight toward Python
	MaxRateClients    int           // rate-limit buckets kept in memory
	Timeout           time.Duration // handler deadline unless the app or route sets one; 0: none
	Overrides         Overrides
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
		MaxQueryLength:    2048,
		MaxConnRequests:   16,
		MaxRateClients:    100_000,
		Timeout:           30 * time.Second,
	}
}

// Server is the HTTP edge for one app. Serve may be called once.
type Server struct {
	counts  Counters
	cfg     Config
	log     *slog.Logger
	seclog  *slog.Logger // the "gofastapi.security" logger
	d       Dispatcher
	chain   atomic.Pointer[http.Handler] // swapped by Reload
	handler http.Handler                 // serves through chain
	tls     *tls.Config
	certs   *certStore
}

// New validates cfg and the app's settings and builds the middleware chain
// and the router. Any bad setting is an error naming it.
func New(cfg Config, app *App, d Dispatcher, log *slog.Logger) (*Server, error) {
	s := &Server{cfg: cfg, log: log, seclog: log.With("logger", "gofastapi.security"), d: d}
	if cfg.TLS.Enabled() {
		var err error
		if s.tls, s.certs, err = newTLS(cfg.TLS); err != nil {
			return nil, err
		}
	}
	if err := s.Reload(app); err != nil {
		return nil, err
	}
	s.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		(*s.chain.Load()).ServeHTTP(w, r)
	})
	return s, nil
}

// Reload rebuilds the routes and the app's edge settings from app (after a
// code reload) and swaps them in; requests in progress finish on the old
// chain. On error nothing changes.
func (s *Server) Reload(app *App) error {
	h, err := s.build(app)
	if err != nil {
		return err
	}
	s.chain.Store(&h)
	return nil
}

// build makes the middleware chain and router for app.
func (s *Server) build(app *App) (http.Handler, error) {
	cfg, log, d := s.cfg, s.log, s.d
	set := app.Settings.with(cfg.Overrides)
	if set.MaxRequestSize != nil && *set.MaxRequestSize > 0 {
		cfg.MaxBodyBytes = *set.MaxRequestSize
	}
	sec, err := parseSecurityHeaders(set.SecurityHeaders)
	if err != nil {
		return nil, err
	}
	cors, err := newCORS(CORSConfig{Origins: set.CORSOrigins, Methods: set.CORSMethods, Headers: set.CORSHeaders,
		Credentials: set.CORSCredentials, MaxAge: set.CORSMaxAge}, s.seclog)
	if err != nil {
		return nil, err
	}
	proxies, err := ParseTrustedProxies(cfg.TrustedProxies)
	if err != nil {
		return nil, err
	}
	proxies.forwarded = cfg.ForwardedHeader == "forwarded"
	// The app's limit is one bucket per client shared by every route
	// without its own; a route with rate_limit= has buckets of its own.
	limiterFor := func(spec *string, setting string) (*limiter, error) {
		if spec == nil {
			return nil, nil
		}
		rs, err := ParseRate(*spec)
		if err != nil || rs == nil {
			if err != nil {
				err = fmt.Errorf("%s: %w", setting, err)
			}
			return nil, err
		}
		return newLimiter(*rs, cfg.MaxRateClients), nil
	}
	appLimit, err := limiterFor(set.RateLimit, "rate_limit")
	if err != nil {
		return nil, err
	}
	router, err := newRouter(app.Routes, func(rt *Route) (http.Handler, error) {
		lim := appLimit
		if rt.RateLimit != nil {
			if lim, err = limiterFor(rt.RateLimit, fmt.Sprintf("rate_limit of route %s", rt.Path)); err != nil {
				return nil, err
			}
		}
		rh := &routeHandler{route: rt, d: d, body: newBodyPolicy(rt, cfg.MaxBodyBytes), limit: lim,
			log: log, seclog: s.seclog, timeout: cfg.Timeout, counts: &s.counts}
		if set.Timeout != nil {
			rh.timeout = seconds(*set.Timeout)
		}
		if rt.Timeout != nil {
			rh.timeout = seconds(*rt.Timeout)
		}
		if rt.JWT != nil {
			if rh.jwt, err = newJWTVerifier(rt.JWT); err != nil {
				return nil, fmt.Errorf("route %s: %w", rt.Path, err)
			}
		}
		return rh, nil
	}, func(w http.ResponseWriter, r *http.Request) bool { return appLimit.check(w, r, s.seclog) })
	if err != nil {
		return nil, err
	}
	var access *slog.Logger
	if cfg.AccessLog {
		access = log.With("logger", "gofastapi.access")
	}
	h := withCORS(cors, appLimit, router)
	h = withSuspicion(s.seclog, cfg.MaxQueryLength, h)
	h = withPathHygiene(s.seclog, h)
	h = withFramingGuard(s.seclog, h)
	h = withSecurityHeaders(sec, h) // before any refusal, so error pages carry them
	h = withClientAddr(proxies, h)
	h = withRequestID(newRequestIDs(), h)
	return withAccessLog(log, access, h), nil
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// Counters are the edge's security counts since start. Safe for concurrent
// use.
type Counters struct {
	AuthFailures atomic.Uint64 // 401 answers (bad, missing or refused credentials)
	BadTokens    atomic.Uint64 // bearer tokens the edge's JWT check refused
}

// Counts returns the server's counters.
func (s *Server) Counts() *Counters { return &s.counts }

// Handler returns the whole chain, for tests.
func (s *Server) Handler() http.Handler { return s.handler }

// ReloadCertificates re-reads the TLS key pair (on SIGHUP). Connections in
// progress are not affected; on error the old certificate stays in use.
func (s *Server) ReloadCertificates() error {
	if s.certs == nil {
		return nil
	}
	return s.certs.Reload()
}

// Scheme is "https" when TLS is configured, else "http".
func (s *Server) Scheme() string {
	if s.tls != nil {
		return "https"
	}
	return "http"
}

// Serve serves on ln until ctx is cancelled, then shuts down gracefully: it
// stops accepting, lets in-flight requests finish for at most
// ShutdownTimeout, and returns nil after a clean shutdown.
//
// redirectLn, if not nil, is a plain listener answering every request with a
// redirect to HTTPS on ln's port.
func (s *Server) Serve(ctx context.Context, ln, redirectLn net.Listener) error {
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout:       s.cfg.ReadTimeout,
		WriteTimeout:      s.cfg.WriteTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		MaxHeaderBytes:    s.cfg.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		ConnContext:       connContext,
	}
	servers := []*http.Server{srv}
	var h2conns sync.WaitGroup
	if s.tls != nil {
		h2s := &http2.Server{MaxConcurrentStreams: 100, IdleTimeout: s.cfg.IdleTimeout}
		if err := http2.ConfigureServer(srv, h2s); err != nil {
			return fmt.Errorf("configuring HTTP/2: %w", err)
		}
		base, cancel := context.WithCancel(context.Background())
		defer cancel()
		ln = newTLSListener(ln, s.tls, s.cfg.ReadHeaderTimeout, func(tc *tls.Conn) {
			h2conns.Add(1)
			defer h2conns.Done()
			state := tc.ConnectionState()
			ci := &connInfo{tls: &state, sem: make(chan struct{}, s.cfg.MaxConnRequests)}
			h2s.ServeConn(tc, &http2.ServeConnOpts{
				Context: context.WithValue(base, connInfoKey{}, ci), BaseConfig: srv, Handler: s.handler})
		}, s.seclog)
	} else {
		ln = guardListener{ln}
	}
	errc := make(chan error, 2)
	if redirectLn != nil {
		if s.tls == nil {
			return errors.New("--redirect-http needs TLS (--tls-cert and --tls-key)")
		}
		rs := s.redirectServer(ln.Addr())
		servers = append(servers, rs)
		go func() { errc <- rs.Serve(redirectLn) }()
	}
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		for _, x := range servers {
			x.Close()
		}
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	s.log.Info("shutting down: waiting for in-flight requests", "timeout", s.cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	var firstErr error
	for _, x := range servers {
		if err := x.Shutdown(sctx); errors.Is(err, context.DeadlineExceeded) {
			s.log.Warn("shutdown timeout reached: closing remaining connections")
			x.Close()
		} else if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	done := make(chan struct{})
	go func() { h2conns.Wait(); close(done) }()
	select {
	case <-done:
	case <-sctx.Done():
	}
	return firstErr
}

// redirectServer answers every request with a permanent redirect to the
// same URL over HTTPS on the main port.
func (s *Server) redirectServer(tlsAddr net.Addr) *http.Server {
	_, port, _ := net.SplitHostPort(tlsAddr.String())
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if host == "" || strings.ContainsAny(host, "/\\@") {
			writeError(w, http.StatusBadRequest, "Bad Request: missing or invalid Host")
			return
		}
		if port != "443" {
			host = net.JoinHostPort(strings.Trim(host, "[]"), port)
		}
		http.Redirect(w, r, "https://"+host+r.URL.RequestURI(), http.StatusPermanentRedirect)
	})
	return &http.Server{Handler: h, ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout: s.cfg.ReadHeaderTimeout, WriteTimeout: s.cfg.ReadHeaderTimeout, IdleTimeout: s.cfg.IdleTimeout,
		MaxHeaderBytes: s.cfg.MaxHeaderBytes}
}
