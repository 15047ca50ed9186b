package server

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// CORSConfig is the cross-origin policy (cors_* settings).
type CORSConfig struct {
	Origins     []string // exact origins ("https://a.example") or "*"
	Methods     []string // allowed methods, or "*"
	Headers     []string // allowed request headers, or "*"
	Credentials bool
	MaxAge      int // seconds a preflight may be cached
}

// cors is a validated CORSConfig with its answers precomputed.
type cors struct {
	anyOrigin                          bool
	origins                            map[string]bool
	anyMethod                          bool
	methods                            map[string]bool
	anyHeader                          bool
	headers                            map[string]bool // lower case
	credentials                        bool
	allowMethods, allowHeaders, maxAge string
	log                                *slog.Logger
}

// newCORS validates c. No origins means CORS is off (nil, nil).
// Credentials with a wildcard origin is refused: browsers reject it and
// reflecting any origin with credentials would expose every user's data.
func newCORS(c CORSConfig, log *slog.Logger) (*cors, error) {
	if len(c.Origins) == 0 {
		return nil, nil
	}
	x := &cors{origins: map[string]bool{}, methods: map[string]bool{}, headers: map[string]bool{},
		credentials: c.Credentials, log: log}
	for _, o := range c.Origins {
		if o == "*" {
			x.anyOrigin = true
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return nil, fmt.Errorf("cors_origins: %q is not an origin; expected scheme://host[:port] such as https://example.com, or *", o)
		}
		x.origins[strings.TrimSuffix(o, "/")] = true
	}
	if x.anyOrigin && c.Credentials {
		return nil, fmt.Errorf("cors_credentials=true with cors_origins=[\"*\"] is refused: list the trusted origins explicitly")
	}
	methods := c.Methods
	if len(methods) == 0 {
		methods = []string{"GET"}
	}
	for _, m := range methods {
		if m == "*" {
			x.anyMethod = true
			continue
		}
		if !methodToken(m) {
			return nil, fmt.Errorf("cors_methods: %q is not an HTTP method", m)
		}
		x.methods[strings.ToUpper(m)] = true
	}
	for _, h := range c.Headers {
		if h == "*" {
			x.anyHeader = true
			continue
		}
		if !validName([]byte(h)) {
			return nil, fmt.Errorf("cors_headers: %q is not a header name", h)
		}
		x.headers[strings.ToLower(h)] = true
	}
	if c.MaxAge < 0 {
		return nil, fmt.Errorf("cors_max_age: %d must be 0 or more seconds", c.MaxAge)
	}
	if x.anyMethod {
		x.allowMethods = "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT"
	} else {
		x.allowMethods = strings.Join(sortedKeys(x.methods), ", ")
	}
	x.allowHeaders = strings.Join(sortedKeys(x.headers), ", ")
	x.maxAge = strconv.Itoa(c.MaxAge)
	return x, nil
}

func methodToken(m string) bool {
	for i := 0; i < len(m); i++ {
		c := m[i] | 0x20
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return m != ""
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// allowOrigin returns the Access-Control-Allow-Origin value for origin, or
// "" when it is not allowed.
func (x *cors) allowOrigin(origin string) string {
	if x.origins[origin] {
		return origin
	}
	if x.anyOrigin {
		return "*"
	}
	return ""
}

// withCORS answers preflights in Go and adds CORS headers to allowed
// cross-origin responses. A disallowed origin gets no CORS headers (the
// browser then blocks the response) and is logged as a security event.
// Preflights count against the app-wide rate limit lim (nil: none).
func withCORS(x *cors, lim *limiter, next http.Handler) http.Handler {
	if x == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Add("Vary", "Origin")
		allowed := x.allowOrigin(origin)
		reqMethod := r.Header.Get("Access-Control-Request-Method")
		if r.Method == http.MethodOptions && reqMethod != "" {
			if lim.check(w, r, x.log) {
				x.preflight(w, r, origin, allowed, reqMethod)
			}
			return
		}
		if allowed == "" {
			x.log.Warn("cors origin refused", "event", "cors_refused", "origin", origin,
				"client", r.RemoteAddr, "request_id", requestID(r), "path", r.URL.Path)
		} else {
			h.Set("Access-Control-Allow-Origin", allowed)
			if x.credentials {
				h.Set("Access-Control-Allow-Credentials", "true")
			}
		}
		next.ServeHTTP(w, r)
	})
}

// preflight answers an OPTIONS preflight without entering Python.
func (x *cors) preflight(w http.ResponseWriter, r *http.Request, origin, allowed, reqMethod string) {
	h := w.Header()
	h.Add("Vary", "Access-Control-Request-Method")
	h.Add("Vary", "Access-Control-Request-Headers")
	reason := ""
	switch {
	case allowed == "":
		reason = "origin"
	case !x.anyMethod && !x.methods[strings.ToUpper(reqMethod)]:
		reason = "method"
	default:
		for _, name := range strings.Split(r.Header.Get("Access-Control-Request-Headers"), ",") {
			name = strings.ToLower(strings.TrimSpace(name))
			if name != "" && !x.anyHeader && !x.headers[name] && !safelisted(name) {
				reason = "headers"
				break
			}
		}
	}
	if reason != "" {
		x.log.Warn("cors preflight refused", "event", "cors_refused", "origin", origin, "reason", reason,
			"client", r.RemoteAddr, "request_id", requestID(r), "path", r.URL.Path)
		writeError(w, http.StatusBadRequest, "Disallowed CORS "+reason)
		return
	}
	h.Set("Access-Control-Allow-Origin", allowed)
	h.Set("Access-Control-Allow-Methods", x.allowMethods)
	if x.anyHeader {
		if rh := r.Header.Get("Access-Control-Request-Headers"); rh != "" {
			h.Set("Access-Control-Allow-Headers", rh)
		}
	} else if x.allowHeaders != "" {
		h.Set("Access-Control-Allow-Headers", x.allowHeaders)
	}
	if x.credentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	h.Set("Access-Control-Max-Age", x.maxAge)
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusNoContent)
}

// safelisted reports CORS-safelisted request headers, which need no
// permission (the Fetch standard's list, without its value checks).
func safelisted(name string) bool {
	switch name {
	case "accept", "accept-language", "content-language", "content-type":
		return true
	}
	return false
}
