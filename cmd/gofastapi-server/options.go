package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/gofastapi/gofastapi/server"
)

// options is everything the command line and environment configure.
type options struct {
	app       string
	appDir    string
	host      string
	port      int
	workers   int
	queueSize int
	venv      string
	debug     bool
	version   bool
	logLevel  slog.Level
	server    server.Config
}

var errHelp = errors.New("help requested")

// envPrefix prefixes the environment variable of every flag.
const envPrefix = "GOFASTAPI_"

// envName returns the environment variable for a flag: workers → GOFASTAPI_WORKERS.
func envName(flagName string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parseOptions reads flags, with GOFASTAPI_* variables as defaults, and
// validates them. A bad value is an error naming the flag (or variable) and
// the accepted form.
func parseOptions(args []string, lookupEnv func(string) (string, bool), out io.Writer) (*options, error) {
	o := &options{server: server.DefaultConfig()}
	fs := flag.NewFlagSet("gofastapi-server", flag.ContinueOnError)
	fs.SetOutput(out)
	var logLevel string
	fs.StringVar(&o.app, "app", "", "the app to serve, as module:attribute (e.g. app:app)")
	fs.StringVar(&o.appDir, "app-dir", ".", "directory put first on sys.path to import the app from")
	fs.StringVar(&o.host, "host", "127.0.0.1", "address to listen on (0.0.0.0 or :: for every interface)")
	fs.IntVar(&o.port, "port", 8000, "TCP port to listen on (0 picks a free one)")
	fs.IntVar(&o.workers, "workers", runtime.NumCPU(), "number of Python interpreters")
	fs.IntVar(&o.queueSize, "queue-size", 1024, "requests that may wait for a free interpreter before the server answers 503")
	fs.StringVar(&o.venv, "venv", "", "virtual environment to use (default: $VIRTUAL_ENV, else .venv in the app dir or the working directory)")
	fs.BoolVar(&o.debug, "debug", false, "send tracebacks to clients (development only)")
	fs.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.BoolVar(&o.server.AccessLog, "access-log", o.server.AccessLog, "log one JSON line per request")
	fs.DurationVar(&o.server.ShutdownTimeout, "shutdown-timeout", o.server.ShutdownTimeout, "how long in-flight requests may finish after SIGTERM/SIGINT")
	fs.DurationVar(&o.server.ReadHeaderTimeout, "read-header-timeout", o.server.ReadHeaderTimeout, "time allowed to read a request's headers")
	fs.DurationVar(&o.server.ReadTimeout, "read-timeout", o.server.ReadTimeout, "time allowed to read a whole request")
	fs.DurationVar(&o.server.WriteTimeout, "write-timeout", o.server.WriteTimeout, "time allowed to produce and write a response")
	fs.DurationVar(&o.server.IdleTimeout, "idle-timeout", o.server.IdleTimeout, "keep-alive connections idle longer are closed")
	fs.IntVar(&o.server.MaxHeaderBytes, "max-header-bytes", o.server.MaxHeaderBytes, "cap on request line + headers; larger requests get 431")
	fs.BoolVar(&o.version, "version", false, "print the version and exit")
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: gofastapi-server --app module:attr [flags]\n\n")
		fmt.Fprintf(out, "Every flag may also be set as %s<FLAG> (e.g. GOFASTAPI_WORKERS=4); the command line wins.\n\n", envPrefix)
		fs.PrintDefaults()
	}

	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		if v, ok := lookupEnv(envName(f.Name)); ok && envErr == nil {
			if err := fs.Set(f.Name, v); err != nil {
				envErr = fmt.Errorf("environment variable %s=%q: %v", envName(f.Name), v, err)
			}
		}
	})
	if envErr != nil {
		return nil, envErr
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, errHelp
		}
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q: every setting is a flag (e.g. --app %s)", fs.Arg(0), fs.Arg(0))
	}
	if o.version {
		return o, nil
	}
	if err := o.validate(logLevel); err != nil {
		return nil, err
	}
	return o, nil
}

func (o *options) validate(logLevel string) error {
	mod, attr, ok := strings.Cut(o.app, ":")
	switch {
	case o.app == "":
		return fmt.Errorf("--app is required: name the app as module:attribute, e.g. --app app:app")
	case !ok || mod == "" || attr == "" || strings.Contains(attr, ":"):
		return fmt.Errorf("--app %q: expected module:attribute, e.g. app:app or mypkg.main:app", o.app)
	}
	if st, err := os.Stat(o.appDir); err != nil || !st.IsDir() {
		return fmt.Errorf("--app-dir %q is not a directory", o.appDir)
	}
	abs, err := filepath.Abs(o.appDir)
	if err != nil {
		return fmt.Errorf("--app-dir %q: %v", o.appDir, err)
	}
	o.appDir = abs
	if o.port < 0 || o.port > 65535 {
		return fmt.Errorf("--port %d: expected 0–65535", o.port)
	}
	if o.workers < 1 || o.workers > 1024 {
		return fmt.Errorf("--workers %d: expected 1–1024", o.workers)
	}
	if o.queueSize < 1 {
		return fmt.Errorf("--queue-size %d: expected at least 1", o.queueSize)
	}
	if o.server.MaxHeaderBytes < 1024 {
		return fmt.Errorf("--max-header-bytes %d: expected at least 1024", o.server.MaxHeaderBytes)
	}
	for name, d := range map[string]time.Duration{
		"--shutdown-timeout": o.server.ShutdownTimeout, "--read-header-timeout": o.server.ReadHeaderTimeout,
		"--read-timeout": o.server.ReadTimeout, "--write-timeout": o.server.WriteTimeout, "--idle-timeout": o.server.IdleTimeout,
	} {
		if d <= 0 {
			return fmt.Errorf("%s %s: expected a positive duration such as 30s", name, d)
		}
	}
	if err := o.logLevel.UnmarshalText([]byte(logLevel)); err != nil {
		return fmt.Errorf("--log-level %q: expected debug, info, warn or error", logLevel)
	}
	return nil
}
