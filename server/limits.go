package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"strings"
)

// MaxJSONDepth caps the nesting of JSON bodies: deeper documents are refused
// before Python parses them (CPython's parser would recurse).
const MaxJSONDepth = 512

// withPathHygiene refuses paths that could escape a route prefix once
// decoded: "." and ".." segments (plain or percent-encoded, which net/http
// does not clean), NUL bytes and backslashes. ServeMux would redirect plain
// dot segments; refusing is simpler and no client needs them.
func withPathHygiene(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if reason := badPath(r.URL.Path); reason != "" {
			log.Warn("invalid path refused", "event", "bad_path", "reason", reason, "client", r.RemoteAddr,
				"request_id", requestID(r), "path", r.URL.EscapedPath())
			writeError(w, http.StatusBadRequest, "Invalid path: "+reason)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func badPath(p string) string {
	if !strings.HasPrefix(p, "/") {
		return "must start with /"
	}
	if strings.ContainsAny(p, "\x00\\") {
		return "NUL or backslash"
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "." || seg == ".." {
			return "dot segment"
		}
	}
	return ""
}

// bodyPolicy is what a route accepts as a body.
type bodyPolicy struct {
	maxBytes   int64
	mediaTypes map[string]bool // nil: any (or no) content type
	json       bool            // JSON is accepted: check its syntax in Go
}

func newBodyPolicy(rt *Route, appMax int64) bodyPolicy {
	p := bodyPolicy{maxBytes: appMax}
	if rt.MaxRequestSize != nil && *rt.MaxRequestSize > 0 {
		p.maxBytes = *rt.MaxRequestSize
	}
	if len(rt.MediaTypes) > 0 {
		p.mediaTypes = map[string]bool{}
		for _, m := range rt.MediaTypes {
			p.mediaTypes[strings.ToLower(m)] = true
			if strings.ToLower(m) == "application/json" {
				p.json = true
			}
		}
	}
	return p
}

// accepts reports whether contentType is one of the route's media types.
// With application/json declared, any application/*+json is accepted too,
// as FastAPI does.
func (p bodyPolicy) accepts(contentType string) (mediaType string, ok bool) {
	if contentType == "application/json" && p.json { // the common case, without parsing
		return contentType, true
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return "", false
	}
	if p.mediaTypes[mt] {
		return mt, true
	}
	if p.json && strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json") {
		return mt, true
	}
	return mt, false
}

// hasBody reports whether r carries a body (declared length or chunked).
func hasBody(r *http.Request) bool {
	return r.ContentLength > 0 || (r.ContentLength < 0 && r.Body != nil && r.Body != http.NoBody)
}

// checkJSON validates body as one JSON value nested at most MaxJSONDepth
// deep. The error carries the byte offset like a parser would.
func checkJSON(body []byte) error {
	if err := checkDepth(body); err != nil {
		return err
	}
	if json.Valid(body) {
		return nil
	}
	// Invalid: decode once more only to find where.
	var v any
	dec := json.NewDecoder(bytes.NewReader(body))
	err := dec.Decode(&v)
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return &jsonError{offset: int(se.Offset), msg: se.Error()}
	case err != nil:
		return &jsonError{offset: len(body), msg: "unexpected end of JSON input"}
	default:
		return &jsonError{offset: int(dec.InputOffset()), msg: "extra data after the JSON value"}
	}
}

// checkDepth refuses JSON nested deeper than MaxJSONDepth, scanning bytes
// only (strings skipped), so that no parser recurses on it.
func checkDepth(body []byte) error {
	depth, inString, escaped := 0, false, false
	for i, c := range body {
		switch {
		case inString:
			if escaped {
				escaped = false
			} else if c == '\\' {
				escaped = true
			} else if c == '"' {
				inString = false
			}
		case c == '"':
			inString = true
		case c == '[' || c == '{':
			depth++
			if depth > MaxJSONDepth {
				return &jsonError{offset: i, msg: fmt.Sprintf("JSON nested deeper than %d levels", MaxJSONDepth)}
			}
		case c == ']' || c == '}':
			depth--
		}
	}
	return nil
}

type jsonError struct {
	offset int
	msg    string
}

func (e *jsonError) Error() string { return e.msg }

// writeJSONInvalid answers a malformed JSON body with FastAPI's 422 shape.
func writeJSONInvalid(w http.ResponseWriter, err *jsonError) {
	ctx, _ := json.Marshal(map[string]string{"error": err.msg})
	writeValidationErrors(w, []validationError{{Type: "json_invalid", Loc: []any{"body", err.offset},
		Msg: "JSON decode error", Input: map[string]any{}, Ctx: ctx}})
}

// withSuspicion logs requests whose query string is longer than maxQuery as
// a security event; it does not refuse them (URLs are capped by
// MaxHeaderBytes).
func withSuspicion(log *slog.Logger, maxQuery int, next http.Handler) http.Handler {
	if maxQuery <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n := len(r.URL.RawQuery); n > maxQuery {
			log.Warn("suspicious long query string", "event", "long_query", "query_length", n,
				"client", r.RemoteAddr, "request_id", requestID(r), "path", r.URL.Path)
		}
		next.ServeHTTP(w, r)
	})
}
