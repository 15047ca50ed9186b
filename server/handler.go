package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// routeHandler serves one route: it turns the request into a Request, hands
// it to the Dispatcher and writes the Response.
type routeHandler struct {
	route   *Route
	d       Dispatcher
	body    bodyPolicy
	limit   *limiter      // nil: no rate limit
	jwt     *jwtVerifier  // nil: the route takes no JWTBearer
	counts  *Counters     // the server's security counts
	timeout time.Duration // handler deadline; 0: none
	log     *slog.Logger
	seclog  *slog.Logger
}

func (h *routeHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !h.limit.check(w, r, h.seclog) {
		return
	}
	delete(r.Header, claimsHeader) // only the edge may set it
	if h.jwt != nil {
		if token := bearerToken(r); token != "" {
			if claims, reason := h.jwt.verify(token); reason == "" {
				r.Header[claimsHeader] = []string{string(claims)}
			} else {
				h.counts.BadTokens.Add(1)
				h.seclog.Warn("authentication failed", "event", "auth_failed", "reason", reason,
					"client", r.RemoteAddr, "request_id", requestID(r), "path", r.URL.Path)
			}
		}
	}
	var body []byte
	if hasBody(r) {
		if h.body.mediaTypes != nil {
			mt, ok := h.body.accepts(r.Header.Get("Content-Type"))
			if !ok {
				h.refuse(w, r, http.StatusUnsupportedMediaType, "Unsupported Media Type: expected "+strings.Join(h.route.MediaTypes, " or "), "content_type", mt)
				return
			}
		}
		var status int
		if body, status = readBody(r, h.body.maxBytes); status != 0 {
			if status == http.StatusRequestEntityTooLarge {
				if r.ProtoMajor == 1 { // the rest of the body is unread; HTTP/2 resets only the stream
					w.Header().Set("Connection", "close")
				}
				h.refuse(w, r, status, fmt.Sprintf("Request Entity Too Large: the limit is %d bytes", h.body.maxBytes), "size_limit", "")
				return
			}
			writeError(w, status, http.StatusText(status))
			return
		}
	}
	var pathValues []string
	if n := len(h.route.PathParams); n > 0 {
		pathValues = make([]string, n)
		for i, name := range h.route.PathParams {
			pathValues[i] = r.PathValue(name)
		}
	}
	checked := false // the body's JSON syntax and depth were checked
	if plan := h.route.Validate; plan != nil {
		// Invalid input is answered here, without taking an interpreter. A
		// body the plan could decode is well-formed JSON; one it could not
		// is checked below, which reports where it breaks.
		if plan.Body != nil && h.body.json && len(body) > 0 && checkDepth(body) != nil {
			plan = nil
		}
		if plan != nil {
			errs, decided := plan.check(r, pathValues, body)
			if decided && len(errs) > 0 {
				writeValidationErrors(w, errs)
				return
			}
			checked = decided && plan.Body != nil
		}
	}
	if h.body.json && len(body) > 0 && !checked {
		if err := checkJSON(body); err != nil {
			writeJSONInvalid(w, err.(*jsonError))
			return
		}
	}
	req := &Request{
		RouteID:   h.route.ID,
		Method:    r.Method,
		Path:      r.URL.Path,
		RawQuery:  r.URL.RawQuery,
		Header:    encodeHeader(r),
		Body:      body,
		Scheme:    "http",
		RequestID: requestID(r),
		Timeout:   h.timeout,
	}
	if isTLS(r) {
		req.Scheme = "https"
	}
	req.ClientHost, req.ClientPort = splitHostPort(r.RemoteAddr)
	req.PathValues = pathValues
	if ci := infoOf(r); ci != nil && ci.sem != nil {
		// HTTP/2: bound what one connection can put in the Python queue.
		select {
		case ci.sem <- struct{}{}:
			defer func() { <-ci.sem }()
		case <-r.Context().Done():
			return
		}
	}
	var claim *answerClaim
	if req.Timeout > 0 {
		claim = &answerClaim{}
		req.Abandon = func() {
			if claim.take() {
				h.log.Error("handler stuck in C code past its timeout: answering 504 now", "request_id", req.RequestID, "route", h.route.Path)
				w.Header().Set("Connection", "close")
				writeError(w, http.StatusGatewayTimeout, "Gateway Timeout")
				_ = http.NewResponseController(w).Flush()
			}
		}
	}
	resp, err := h.d.Dispatch(r.Context(), req)
	if claim != nil && !claim.take() {
		return // answered by Abandon while the handler was stuck
	}
	if err != nil {
		h.dispatchError(w, r, req, err)
		return
	}
	if resp.Status == http.StatusUnauthorized {
		h.counts.AuthFailures.Add(1)
	}
	writeResponse(w, r, resp)
}

// answerClaim decides who writes the response when a stuck handler is
// abandoned: the first to take it. Taking it also orders the two writers'
// memory accesses, so the ResponseWriter is never used by both.
type answerClaim struct {
	mu    sync.Mutex
	taken bool
}

func (c *answerClaim) take() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.taken {
		return false
	}
	c.taken = true
	return true
}

// refuse answers a request an edge limit stopped and logs a security event.
func (h *routeHandler) refuse(w http.ResponseWriter, r *http.Request, status int, detail, event, extra string) {
	h.seclog.Warn("request refused", "event", event, "status", status, "client", r.RemoteAddr,
		"request_id", requestID(r), "path", r.URL.Path, "detail", extra)
	writeError(w, status, detail)
}

// dispatchError answers a request the Dispatcher could not serve.
func (h *routeHandler) dispatchError(w http.ResponseWriter, r *http.Request, req *Request, err error) {
	switch {
	case errors.Is(err, ErrOverloaded):
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "Service Unavailable: server is overloaded, retry later")
	case errors.Is(err, ErrClosed):
		w.Header().Set("Retry-After", "1")
		w.Header().Set("Connection", "close")
		writeError(w, http.StatusServiceUnavailable, "Service Unavailable: server is shutting down")
	case errors.Is(err, ErrWorkerLost):
		h.log.Error("worker lost", "request_id", req.RequestID, "route", h.route.Path)
		writeError(w, http.StatusBadGateway, "Bad Gateway: the worker serving this request died")
	case errors.Is(err, context.DeadlineExceeded):
		h.log.Warn("handler timed out", "request_id", req.RequestID, "route", h.route.Path, "timeout", h.timeout.String())
		writeError(w, http.StatusGatewayTimeout, "Gateway Timeout")
	case errors.Is(err, context.Canceled):
		// The client went away; nobody reads the answer.
		w.WriteHeader(499)
	default:
		h.log.Error("dispatch failed", "request_id", req.RequestID, "route", h.route.Path, "err", err)
		writeError(w, http.StatusInternalServerError, "Internal Server Error")
	}
}

// readBody reads the whole request body, at most max bytes. A non-zero
// status is the error to answer (413 for a body over the cap, 400 for a
// broken one).
func readBody(r *http.Request, max int64) ([]byte, int) {
	if r.ContentLength == 0 || r.Body == nil || r.Body == http.NoBody {
		return nil, 0
	}
	if r.ContentLength > max {
		return nil, http.StatusRequestEntityTooLarge // refused unread: no 100 Continue is sent
	}
	var buf []byte
	if r.ContentLength > 0 {
		buf = make([]byte, 0, r.ContentLength)
	}
	b := bytes.NewBuffer(buf)
	n, err := b.ReadFrom(io.LimitReader(r.Body, max+1))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, http.StatusRequestEntityTooLarge
		}
		return nil, http.StatusBadRequest
	}
	if n > max {
		return nil, http.StatusRequestEntityTooLarge
	}
	return b.Bytes(), 0
}

// encodeHeader renders r's headers as protocol lines with lower-case names,
// "host" first.
func encodeHeader(r *http.Request) []byte {
	size := len("host: \r\n") + len(r.Host)
	for k, vs := range r.Header {
		for _, v := range vs {
			size += len(k) + len(v) + 4
		}
	}
	b := make([]byte, 0, size)
	if r.Host != "" {
		b = append(b, "host: "...)
		b = append(b, r.Host...)
		b = append(b, '\r', '\n')
	}
	for k, vs := range r.Header {
		for _, v := range vs {
			for i := 0; i < len(k); i++ {
				c := k[i]
				if 'A' <= c && c <= 'Z' {
					c += 'a' - 'A'
				}
				b = append(b, c)
			}
			b = append(b, ':', ' ')
			b = append(b, v...)
			b = append(b, '\r', '\n')
		}
	}
	return b
}

// hopByHop are headers a handler may not set: they describe the connection,
// which the server owns.
var hopByHop = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Transfer-Encoding": true,
	"Upgrade": true, "Proxy-Connection": true, "Te": true, "Trailer": true,
	"Content-Length": true,
}

// writeResponse copies a handler's response to w.
func writeResponse(w http.ResponseWriter, r *http.Request, resp *Response) {
	h := w.Header()
	eachHeader(resp.Header, func(name, value string) {
		key := http.CanonicalHeaderKey(name)
		if !hopByHop[key] {
			h[key] = append(h[key], value)
		}
	})
	status := resp.Status
	if status < 200 || status > 599 {
		status = http.StatusInternalServerError
	}
	if bodyAllowed(status) {
		h["Content-Length"] = []string{strconv.Itoa(len(resp.Body))}
	}
	w.WriteHeader(status)
	if r.Method != http.MethodHead && bodyAllowed(status) && len(resp.Body) > 0 {
		_, _ = w.Write(resp.Body)
	}
}

func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}

// eachHeader calls fn for each valid "Name: value\r\n" line of blob and
// skips malformed ones.
func eachHeader(blob []byte, fn func(name, value string)) {
	for len(blob) > 0 {
		i := bytes.Index(blob, []byte("\r\n"))
		line := blob
		if i >= 0 {
			line, blob = blob[:i], blob[i+2:]
		} else {
			blob = nil
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			continue
		}
		name, value := line[:colon], bytes.TrimLeft(line[colon+1:], " \t")
		if validName(name) && validValue(value) {
			fn(string(name), string(value))
		}
	}
}

// validName reports whether b is an RFC 9110 token.
func validName(b []byte) bool {
	for _, c := range b {
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return len(b) > 0
}

// validValue reports whether b holds no control characters but tab.
func validValue(b []byte) bool {
	for _, c := range b {
		if (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// splitHostPort parses "ip:port" as net/http fills RemoteAddr.
func splitHostPort(addr string) (string, int) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr, 0
	}
	p, _ := strconv.Atoi(port)
	return host, p
}
