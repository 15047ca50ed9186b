package server

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// fallbackPattern catches every request no route matches, so that 404 and
// 405 are JSON and never reach Python.
const fallbackPattern = "/"

// newRouter builds a ServeMux from the app's route table. handler returns the
// http.Handler serving one route; limit is applied to requests no route
// matches (it answers and returns false to stop them). A route table
// ServeMux cannot represent (conflicting or invalid patterns) is an error
// naming the routes.
func newRouter(routes []Route, handler func(*Route) (http.Handler, error), limit func(http.ResponseWriter, *http.Request) bool) (http.Handler, error) {
	mux := http.NewServeMux()
	methods := map[string]bool{}
	for i := range routes {
		rt := &routes[i]
		h, err := handler(rt)
		if err != nil {
			return nil, err
		}
		for _, m := range rt.Methods {
			if err := register(mux, rt.muxPattern(m), h); err != nil {
				return nil, fmt.Errorf("route %s %q (%s): %w", m, rt.Path, rt.Name, err)
			}
			methods[m] = true
		}
	}
	if methods["GET"] {
		methods["HEAD"] = true
	}
	known := make([]string, 0, len(methods))
	for m := range methods {
		known = append(known, m)
	}
	slices.Sort(known)
	mux.Handle(fallbackPattern, &fallback{mux: mux, methods: known, limit: limit})
	return mux, nil
}

// register is mux.Handle with its panic on a bad or conflicting pattern
// turned into an error.
func register(mux *http.ServeMux, pattern string, h http.Handler) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	mux.Handle(pattern, h)
	return nil
}

// fallback answers requests that match no route: 405 with Allow when the
// path exists for other methods, else 404.
type fallback struct {
	mux     *http.ServeMux
	methods []string // every method some route serves, sorted
	limit   func(http.ResponseWriter, *http.Request) bool
}

func (f *fallback) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.limit != nil && !f.limit(w, r) {
		return
	}
	if allow := f.allowed(r.URL); len(allow) > 0 {
		w.Header()["Allow"] = []string{strings.Join(allow, ", ")}
		writeError(w, http.StatusMethodNotAllowed, "Method Not Allowed")
		return
	}
	writeError(w, http.StatusNotFound, "Not Found")
}

// allowed lists the methods some route serves for u's path.
func (f *fallback) allowed(u *url.URL) []string {
	var allow []string
	probe := &http.Request{URL: u, Host: "", Header: http.Header{}}
	for _, m := range f.methods {
		probe.Method = m
		if _, pattern := f.mux.Handler(probe); pattern != "" && pattern != fallbackPattern {
			allow = append(allow, m)
		}
	}
	return allow
}
