package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/gofastapi/gofastapi/server"
)

// options is everything the command line and environment configure.
type options struct {
	app            string
	appDir         string
	host           string
	port           int
	workers        int
	queueSize      int
	venv           string
	runtime        string
	debug          bool
	version        bool
	logLevel       slog.Level
	server         server.Config
	redirect       string // --redirect-http address
	grace          time.Duration
	adminAddr      string
	maxMemory      int64
	reload         bool
	reloadAnyHost  bool
	statsInterval  time.Duration
	allowedImports []string // nil: the app's setting
	maxRequests    int
	jitter         int
	config         string // --config file
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
	fs.IntVar(&o.workers, "workers", runtime.NumCPU(), "number of Python workers: sub-interpreters, processes or threads, by runtime")
	fs.StringVar(&o.runtime, "runtime", "auto", "where handlers run: auto (sub-interpreters, else processes), subinterpreters, process or main")
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
	fs.StringVar(&o.config, "config", "", "JSON file of settings: {\"flag-name\": value, ...}; the environment and flags override it")
	fs.StringVar(&o.server.TLS.CertFile, "tls-cert", "", "PEM certificate chain; enables HTTPS and HTTP/2 (reloaded on SIGHUP)")
	fs.StringVar(&o.server.TLS.KeyFile, "tls-key", "", "PEM private key for --tls-cert")
	fs.StringVar(&o.server.TLS.ClientCAFile, "tls-client-ca", "", "PEM CA certificates; clients must present a certificate they signed")
	fs.StringVar(&o.server.TLS.MinVersion, "tls-min-version", "1.2", "lowest TLS version accepted: 1.2 or 1.3")
	fs.StringVar(&o.redirect, "redirect-http", "", "also listen on this address (e.g. :8080) and redirect every request to HTTPS")
	fs.StringVar(&o.server.TrustedProxies, "trusted-proxies", "", "comma-separated CIDRs of proxies whose X-Forwarded-For/Forwarded headers are believed")
	fs.StringVar(&o.server.ForwardedHeader, "forwarded-header", "x-forwarded-for", "the header trusted proxies set: x-forwarded-for or forwarded (the other is ignored)")
	fs.IntVar(&o.server.MaxQueryLength, "max-query-length", o.server.MaxQueryLength, "query strings longer than this are logged as suspicious (0: never)")
	fs.IntVar(&o.server.MaxConnRequests, "max-conn-requests", o.server.MaxConnRequests, "requests one HTTP/2 connection may have in flight toward Python")
	fs.Func("rate-limit", "per-client rate limit for every route, e.g. 100/minute, 10/second;burst=20, or off (overrides the app's rate_limit)", func(v string) error {
		if _, err := server.ParseRate(v); err != nil {
			return err
		}
		o.server.Overrides.RateLimit = &v
		return nil
	})
	fs.Func("max-request-size", "largest request body, e.g. 10MB (overrides the app's max_request_size)", func(v string) error {
		n, err := server.ParseSize(v)
		o.server.Overrides.MaxRequestSize = &n
		return err
	})
	fs.Func("cors-origins", "comma-separated allowed origins, or * (overrides the app's cors_origins)", func(v string) error {
		o.server.Overrides.CORSOrigins = splitList(v)
		return nil
	})
	fs.Func("cors-methods", "comma-separated methods allowed cross-origin (overrides cors_methods)", func(v string) error {
		o.server.Overrides.CORSMethods = splitList(v)
		return nil
	})
	fs.Func("cors-headers", "comma-separated request headers allowed cross-origin (overrides cors_headers)", func(v string) error {
		o.server.Overrides.CORSHeaders = splitList(v)
		return nil
	})
	fs.Func("cors-credentials", "allow credentialed cross-origin requests: true or false (overrides cors_credentials)", func(v string) error {
		b, err := strconv.ParseBool(v)
		o.server.Overrides.CORSCredentials = &b
		return err
	})
	fs.Func("cors-max-age", "seconds browsers may cache a preflight (overrides cors_max_age)", func(v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fmt.Errorf("expected a number of seconds ≥ 0")
		}
		o.server.Overrides.CORSMaxAge = &n
		return nil
	})
	fs.Func("security-headers", "true, false, or a JSON object of header → value (overrides security_headers)", func(v string) error {
		if b, err := strconv.ParseBool(v); err == nil {
			v = strconv.FormatBool(b)
		} else if !json.Valid([]byte(v)) || !strings.HasPrefix(strings.TrimSpace(v), "{") {
			return fmt.Errorf("expected true, false or a JSON object")
		}
		o.server.Overrides.SecurityHeaders = json.RawMessage(v)
		return nil
	})
	fs.Func("timeout", "handler deadline, e.g. 30s (overrides the app's timeout; a route's timeout= wins); 0 for none", func(v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return fmt.Errorf("expected a duration such as 30s")
		}
		o.server.Overrides.Timeout = &d
		o.server.Timeout = d
		return nil
	})
	fs.Func("allowed-imports", "comma-separated top-level modules the app's code may import (overrides allowed_imports; subprocess/ctypes here also lift the audit hook's refusal)", func(v string) error {
		o.allowedImports = splitList(v)
		return nil
	})
	fs.StringVar(&o.adminAddr, "admin-addr", "", "serve GET /_gofastapi/stats (per-worker counters) on this address, e.g. 127.0.0.1:9100; keep it private")
	fs.DurationVar(&o.statsInterval, "stats-interval", time.Minute, "log per-worker stats this often (0: only at shutdown)")
	fs.Func("max-memory-per-worker", "memory cap of each worker, e.g. 512MB: an OS limit on a worker process, an accounting allocator on a sub-interpreter (MemoryError in its handler)", func(v string) error {
		n, err := server.ParseSize(v)
		o.maxMemory = n
		return err
	})
	fs.BoolVar(&o.reload, "reload", false, "development only: reload the app when a .py file in --app-dir changes")
	fs.BoolVar(&o.reloadAnyHost, "reload-any-host", false, "allow --reload on a non-loopback --host (dangerous)")
	fs.DurationVar(&o.grace, "timeout-grace", 2*time.Second, "after a timeout, how long an interrupted handler may take to stop before its worker is replaced")
	fs.IntVar(&o.maxRequests, "max-requests", 0, "replace a worker after this many requests (0: never)")
	fs.IntVar(&o.jitter, "max-requests-jitter", 0, "add a random 0..N to --max-requests per worker")
	fs.BoolVar(&o.version, "version", false, "print the version and exit")
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: gofastapi-server --app module:attr [flags]\n\n")
		fmt.Fprintf(out, "Every flag may also be set as %s<FLAG> (e.g. GOFASTAPI_WORKERS=4); the command line wins.\n\n", envPrefix)
		fs.PrintDefaults()
	}

	if err := applyConfigFile(fs, args, lookupEnv); err != nil {
		return nil, err
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

// applyConfigFile sets flags from the JSON file named by --config (or
// GOFASTAPI_CONFIG), before the environment and the command line apply.
func applyConfigFile(fs *flag.FlagSet, args []string, lookupEnv func(string) (string, bool)) error {
	path, _ := lookupEnv(envName("config"))
	for i, a := range args {
		switch {
		case (a == "--config" || a == "-config") && i+1 < len(args):
			path = args[i+1]
		case strings.HasPrefix(a, "--config=") || strings.HasPrefix(a, "-config="):
			path = a[strings.Index(a, "=")+1:]
		}
	}
	if path == "" {
		return nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("--config: %w", err)
	}
	var settings map[string]any
	if err := json.Unmarshal(data, &settings); err != nil {
		return fmt.Errorf("--config %s: not a JSON object of settings: %v", path, err)
	}
	for name, v := range settings {
		f := fs.Lookup(name)
		if f == nil || name == "config" {
			return fmt.Errorf("--config %s: unknown setting %q (settings are named like the flags, e.g. \"workers\")", path, name)
		}
		var s string
		switch x := v.(type) {
		case string:
			s = x
		case bool, float64:
			s = fmt.Sprint(x)
		case []any:
			parts := make([]string, len(x))
			for i, p := range x {
				parts[i] = fmt.Sprint(p)
			}
			s = strings.Join(parts, ",")
		case map[string]any:
			b, _ := json.Marshal(x)
			s = string(b)
		default:
			return fmt.Errorf("--config %s: setting %q has an unsupported value %v", path, name, v)
		}
		if err := fs.Set(name, s); err != nil {
			return fmt.Errorf("--config %s: setting %q=%v: %v", path, name, v, err)
		}
	}
	return nil
}

// splitList splits a comma-separated flag value; "" is an empty list.
func splitList(v string) []string {
	out := []string{}
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
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
	switch o.runtime {
	case "auto", "subinterpreters", "process", "main":
	default:
		return fmt.Errorf("--runtime %q: expected auto, subinterpreters, process or main", o.runtime)
	}
	if err := checkReload(o); err != nil {
		return err
	}
	if o.maxRequests < 0 || o.jitter < 0 {
		return fmt.Errorf("--max-requests and --max-requests-jitter must be 0 or more")
	}
	if o.grace <= 0 {
		return fmt.Errorf("--timeout-grace %s: expected a positive duration", o.grace)
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
	if o.server.TLS.Enabled() && (o.server.TLS.CertFile == "" || o.server.TLS.KeyFile == "") {
		return fmt.Errorf("--tls-cert and --tls-key must be given together")
	}
	if o.redirect != "" && !o.server.TLS.Enabled() {
		return fmt.Errorf("--redirect-http %s needs TLS: give --tls-cert and --tls-key", o.redirect)
	}
	if o.server.TLS.MinVersion != "1.2" && o.server.TLS.MinVersion != "1.3" {
		return fmt.Errorf("--tls-min-version %q: expected 1.2 or 1.3", o.server.TLS.MinVersion)
	}
	if _, err := server.ParseTrustedProxies(o.server.TrustedProxies); err != nil {
		return fmt.Errorf("--trusted-proxies: %v", err)
	}
	if h := o.server.ForwardedHeader; h != "x-forwarded-for" && h != "forwarded" {
		return fmt.Errorf("--forwarded-header %q: expected x-forwarded-for or forwarded", h)
	}
	if o.server.MaxConnRequests < 1 {
		return fmt.Errorf("--max-conn-requests %d: expected at least 1", o.server.MaxConnRequests)
	}
	if err := o.logLevel.UnmarshalText([]byte(logLevel)); err != nil {
		return fmt.Errorf("--log-level %q: expected debug, info, warn or error", logLevel)
	}
	return nil
}
