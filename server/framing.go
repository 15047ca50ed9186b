package server

import (
	"bytes"
	"log/slog"
	"net/http"
	"strconv"
)

// withFramingGuard refuses every request of a connection on which the
// headScanner saw a smuggling-shaped head, and closes that connection.
func withFramingGuard(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ci := infoOf(r); ci != nil && ci.guard != nil && ci.guard.bad.Load() {
			log.Warn("ambiguous request framing refused", "event", "bad_framing", "client", r.RemoteAddr,
				"request_id", requestID(r), "path", r.URL.Path)
			w.Header().Set("Connection", "close")
			writeError(w, http.StatusBadRequest, "Bad Request: both Content-Length and Transfer-Encoding, or several Content-Length headers")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// headScanner follows the request framing of one HTTP/1.x connection from
// its raw bytes and flags request heads that net/http accepts but request
// smuggling relies on: Content-Length together with Transfer-Encoding
// (net/http silently drops the Content-Length) and more than one
// Content-Length (net/http merges equal ones). nginx and gunicorn refuse
// both; so do we.
//
// It skips bodies by their declared framing, so body bytes that look like
// headers are never mistaken for a head. Anything it cannot follow stops the
// scan (net/http rejects such input itself). Not safe for concurrent use.
type headScanner struct {
	state   scanState
	line    []byte // partial line, at most maxScanLine bytes
	skip    int64  // body or chunk bytes left to skip
	sawReq  bool   // the current head has its request line
	nCL     int    // Content-Length fields in the current head
	cl      int64
	chunked bool
	hasTE   bool
	bad     bool // a smuggling-shaped head was seen
}

type scanState int

const (
	scanHead scanState = iota
	scanBody
	scanChunkSize
	scanChunkData
	scanTrailers
	scanDone // stopped: bad input or a head we cannot follow
)

const maxScanLine = 64 << 10

// feed consumes the next bytes read from the connection.
func (s *headScanner) feed(b []byte) {
	for len(b) > 0 && s.state != scanDone {
		switch s.state {
		case scanBody, scanChunkData:
			n := min(int64(len(b)), s.skip)
			s.skip -= n
			b = b[n:]
			if s.skip == 0 {
				if s.state == scanBody {
					s.state = scanHead
				} else {
					s.state = scanChunkSize
				}
			}
		default:
			i := bytes.IndexByte(b, '\n')
			if i < 0 {
				if len(s.line)+len(b) > maxScanLine {
					s.state = scanDone
					return
				}
				s.line = append(s.line, b...)
				return
			}
			line := b[:i]
			if len(s.line) > 0 {
				s.line = append(s.line, line...)
				line = s.line
			}
			b = b[i+1:]
			s.onLine(bytes.TrimSuffix(line, []byte("\r")))
			s.line = s.line[:0]
		}
	}
}

// onLine handles one complete line in the head, chunk-size or trailer state.
func (s *headScanner) onLine(line []byte) {
	switch s.state {
	case scanHead:
		if len(line) == 0 {
			if s.sawReq {
				s.endHead()
			}
			return // empty lines before a request line are tolerated
		}
		if !s.sawReq {
			s.sawReq = true
			return
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			s.nCL++
			n, err := strconv.ParseInt(string(value), 10, 64)
			if err != nil || n < 0 {
				s.state = scanDone
				return
			}
			s.cl = n
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			s.hasTE = true
			s.chunked = bytes.Contains(bytes.ToLower(value), []byte("chunked"))
		}
	case scanChunkSize:
		size, _, _ := bytes.Cut(line, []byte(";"))
		n, err := strconv.ParseInt(string(bytes.TrimSpace(size)), 16, 64)
		switch {
		case err != nil || n < 0:
			s.state = scanDone
		case n == 0:
			s.state = scanTrailers
		default:
			s.skip, s.state = n+2, scanChunkData // data and its CRLF
		}
	case scanTrailers:
		if len(line) == 0 {
			s.state = scanHead
		}
	}
}

// endHead judges a complete head and moves on to its body.
func (s *headScanner) endHead() {
	if (s.hasTE && s.nCL > 0) || s.nCL > 1 {
		s.bad = true
		s.state = scanDone // the connection will be closed
		return
	}
	switch {
	case s.hasTE && s.chunked:
		s.state = scanChunkSize
	case s.hasTE:
		s.state = scanDone // net/http answers 501 and closes
	case s.cl > 0:
		s.state, s.skip = scanBody, s.cl
	default:
		s.state = scanHead
	}
	s.sawReq, s.nCL, s.cl, s.chunked, s.hasTE = false, 0, 0, false, false
}
