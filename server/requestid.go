package server

import (
	"crypto/rand"
	"encoding/base32"
	"net/http"
	"strconv"
	"sync/atomic"
)

// requestIDHeader is the canonical form of X-Request-ID.
const requestIDHeader = "X-Request-Id"

// maxRequestIDLen bounds a client-supplied request id.
const maxRequestIDLen = 128

// requestIDs generates ids unique within and across processes: a random
// per-process prefix and a counter, cheaper than crypto/rand per request.
type requestIDs struct {
	prefix string
	n      atomic.Uint64
}

func newRequestIDs() *requestIDs {
	var b [10]byte
	_, _ = rand.Read(b[:])
	return &requestIDs{prefix: base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:])}
}

func (g *requestIDs) next() string {
	return g.prefix + "-" + strconv.FormatUint(g.n.Add(1), 36)
}

// withRequestID keeps a sane X-Request-ID from the client or assigns one,
// stores it in the request's header for the rest of the chain and returns it
// on the response.
func withRequestID(g *requestIDs, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := ""
		if vs := r.Header[requestIDHeader]; len(vs) == 1 && saneRequestID(vs[0]) {
			id = vs[0]
		} else {
			id = g.next()
			r.Header[requestIDHeader] = []string{id}
		}
		w.Header()[requestIDHeader] = []string{id}
		next.ServeHTTP(w, r)
	})
}

// requestID returns the id withRequestID assigned to r.
func requestID(r *http.Request) string {
	if vs := r.Header[requestIDHeader]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}

// saneRequestID accepts 1–128 characters of [A-Za-z0-9._:-], so an id can
// be logged and echoed without escaping.
func saneRequestID(s string) bool {
	if len(s) == 0 || len(s) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-' || c == ':') {
			return false
		}
	}
	return true
}
