// Command gofastapi-server serves a GoFastAPI app: a Go HTTP edge in front
// of a pool of own-GIL CPython sub-interpreters.
//
//	gofastapi-server --app app:app [--host 127.0.0.1] [--port 8000] [--workers N]
//
// Every flag can also be set as GOFASTAPI_<FLAG> in the environment
// (dashes become underscores); a flag on the command line wins.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gofastapi/gofastapi/pyruntime"
	"github.com/gofastapi/gofastapi/server"
)

// Version is the server's version, set at build time with -ldflags.
var Version = "0.1.0-dev"

// Exit codes.
const (
	exitOK     = 0
	exitFailed = 1 // start-up or serving failed
	exitUsage  = 2 // bad flag or setting
)

func main() {
	if pyruntime.IsChild() {
		level := slog.LevelInfo
		_ = level.UnmarshalText([]byte(os.Getenv("GOFASTAPI_LOG_LEVEL")))
		os.Exit(pyruntime.RunChild(slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))))
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	opts, err := parseOptions(args, os.LookupEnv, stderr)
	if errors.Is(err, errHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "gofastapi-server: %v\n", err)
		fmt.Fprintln(stderr, "run 'gofastapi-server --help' for usage")
		return exitUsage
	}
	if opts.version {
		fmt.Fprintf(stdout, "gofastapi-server %s (%s, CPython %s, runtime %s)\n",
			Version, runtime.Version(), strings.Fields(pyruntime.PythonVersion())[0], opts.runtime)
		return exitOK
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: opts.logLevel}))
	if err := serve(opts, log); err != nil {
		log.Error("gofastapi-server failed", "err", err.Error())
		var pe *pyruntime.PythonError
		if errors.As(err, &pe) && pe.Traceback != "" {
			fmt.Fprintf(stderr, "\n%s\n", pe.Traceback)
		}
		return exitFailed
	}
	return exitOK
}

// serve binds the port first (a busy port fails before Python starts), loads
// the app, and serves until SIGTERM or SIGINT.
func serve(opts *options, log *slog.Logger) error {
	addr := net.JoinHostPort(opts.host, strconv.Itoa(opts.port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listening on %s (is another server using the port? choose one with --port): %w", addr, err)
	}
	defer ln.Close()
	var adminLn net.Listener
	if opts.adminAddr != "" {
		if adminLn, err = net.Listen("tcp", opts.adminAddr); err != nil {
			return fmt.Errorf("--admin-addr: listening on %s: %w", opts.adminAddr, err)
		}
		defer adminLn.Close()
	}
	var redirectLn net.Listener
	if opts.redirect != "" {
		if redirectLn, err = net.Listen("tcp", opts.redirect); err != nil {
			return fmt.Errorf("--redirect-http: listening on %s: %w", opts.redirect, err)
		}
		defer redirectLn.Close()
	}

	if opts.debug {
		os.Setenv("GOFASTAPI_DEBUG", "1") // read by gofastapi in every interpreter
	}
	if opts.allowedImports != nil { // read by gofastapi's import guard, here and in worker processes
		os.Setenv("GOFASTAPI_ALLOWED_IMPORTS", strings.Join(opts.allowedImports, ","))
	}
	pool, err := pyruntime.Start(pyruntime.Options{
		Runtime: opts.runtime, App: opts.app, AppDir: opts.appDir, Workers: opts.workers,
		QueueSize: opts.queueSize, Venv: opts.venv, Logger: log,
		Grace: opts.grace, MaxRequests: opts.maxRequests, Jitter: opts.jitter, AllowedImports: opts.allowedImports,
		MaxMemory: opts.maxMemory,
		// Busy workers at exit mean the HTTP shutdown deadline already
		// passed: do not wait much longer for them.
		CloseTimeout: time.Second,
	})
	if err != nil {
		return err
	}
	app, err := server.ParseApp(pool.App())
	if err == nil && opts.debug {
		app.Debug = true
	}
	// A response must be writable for as long as a handler may run.
	if need := opts.server.Timeout + opts.grace + 5*time.Second; opts.server.Timeout > 0 && opts.server.WriteTimeout < need {
		opts.server.WriteTimeout = need
	}
	var srv *server.Server
	if err == nil {
		srv, err = server.New(opts.server, app, pool, log)
	}
	if err != nil {
		_ = pool.Close()
		return fmt.Errorf("app %q: %w", opts.app, err)
	}
	if app.Debug {
		log.Warn("debug is on: tracebacks are sent to clients; never use it in production")
	}
	if opts.reload {
		log.Warn("--reload is on: code changed in the app directory runs at once; never use it in production")
		if !app.Debug {
			log.Warn("--reload without debug: is this really a development server?")
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for range hup {
			if err := srv.ReloadCertificates(); err != nil {
				log.Error("reloading TLS certificates failed; keeping the old ones", "err", err.Error())
			} else {
				log.Info("reloaded TLS certificates")
			}
		}
	}()
	log.Info("serving", "url", srv.Scheme()+"://"+ln.Addr().String(), "app", opts.app, "routes", len(app.Routes),
		"workers", opts.workers, "runtime", pool.Runtime(), "version", Version)
	if adminLn != nil {
		go serveAdmin(ctx, adminLn, pool, srv)
		log.Info("admin endpoint", "url", "http://"+adminLn.Addr().String()+"/_gofastapi/stats")
	}
	go logStats(ctx, log, pool, srv, opts.statsInterval)
	if opts.reload {
		go watchReload(ctx, log, opts.appDir, pool, srv)
	}
	serveErr := srv.Serve(ctx, ln, redirectLn)
	log.Info("stats", "stats", report(pool, srv))
	closeErr := pool.Close()
	if serveErr != nil {
		return serveErr
	}
	if closeErr != nil {
		log.Warn("stopping interpreters", "err", closeErr.Error())
	}
	log.Info("stopped")
	return nil
}
