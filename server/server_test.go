package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// fakeDispatcher answers with the request it saw, as JSON, or with err.
type fakeDispatcher struct {
	mu   sync.Mutex
	last *Request
	err  error
}

func (f *fakeDispatcher) Dispatch(ctx context.Context, r *Request) (*Response, error) {
	f.mu.Lock()
	f.last = r
	f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	if r.Path == "/panic" {
		panic("boom")
	}
	body, _ := json.Marshal(r)
	return &Response{Status: 200, Header: []byte("content-type: application/json\r\nx-bad\r\nset-cookie: a=1\r\nset-cookie: b=2\r\nconnection: close\r\n"), Body: body}, nil
}

func (f *fakeDispatcher) Close() error { return nil }

func testApp() *App {
	return &App{Protocol: ProtocolVersion, Routes: []Route{
		{ID: 0, Methods: []string{"GET"}, Path: "/items/{item_id}", GoPattern: "/items/{item_id}", PathParams: []string{"item_id"}},
		{ID: 1, Methods: []string{"POST", "PUT"}, Path: "/items/", GoPattern: "/items/"},
		{ID: 2, Methods: []string{"GET"}, Path: "/files/{p:path}", GoPattern: "/files/{p...}", PathParams: []string{"p"}},
		{ID: 3, Methods: []string{"GET"}, Path: "/", GoPattern: "/"},
		{ID: 4, Methods: []string{"GET"}, Path: "/panic", GoPattern: "/panic"},
	}}
}

func newTestServer(t *testing.T, d Dispatcher) http.Handler {
	t.Helper()
	cfg := DefaultConfig()
	cfg.MaxBodyBytes = 16
	s, err := New(cfg, testApp(), d, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return s.Handler()
}

func TestRouting(t *testing.T) {
	tests := []struct {
		name, method, target, body string
		wantStatus                 int
		wantRoute                  int // -1: never dispatched
		wantAllow                  string
		wantValues                 []string
	}{
		{"path param", "GET", "/items/42?q=x", "", 200, 0, "", []string{"42"}},
		{"escaped path param", "GET", "/items/a%2Fb", "", 200, 0, "", []string{"a/b"}},
		{"head of get", "HEAD", "/items/1", "", 200, 0, "", []string{"1"}},
		{"trailing slash exact", "POST", "/items/", `{}`, 200, 1, "", nil},
		{"trailing slash no subtree", "POST", "/items/x/y", `{}`, 404, -1, "", nil},
		{"catch-all", "GET", "/files/a/b/c.txt", "", 200, 2, "", []string{"a/b/c.txt"}},
		{"root exact", "GET", "/", "", 200, 3, "", nil},
		{"unknown path", "GET", "/nope", "", 404, -1, "", nil},
		{"wrong method", "DELETE", "/items/1", "", 405, -1, "GET, HEAD", nil},
		{"wrong method post route", "GET", "/items/", "", 405, -1, "POST, PUT", nil},
		{"body too large", "POST", "/items/", strings.Repeat("x", 17), 413, -1, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &fakeDispatcher{}
			h := newTestServer(t, d)
			req := httptest.NewRequest(tt.method, tt.target, strings.NewReader(tt.body))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d; want %d (body %s)", rec.Code, tt.wantStatus, rec.Body)
			}
			if got := rec.Header().Get("Allow"); got != tt.wantAllow {
				t.Errorf("Allow = %q; want %q", got, tt.wantAllow)
			}
			if tt.wantRoute < 0 {
				if d.last != nil {
					t.Errorf("dispatched route %d; want none", d.last.RouteID)
				}
				var e struct{ Detail string }
				if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Detail == "" {
					t.Errorf("error body %q is not JSON with a detail", rec.Body)
				}
				return
			}
			if d.last == nil || d.last.RouteID != tt.wantRoute {
				t.Fatalf("dispatched %+v; want route %d", d.last, tt.wantRoute)
			}
			if strings.Join(d.last.PathValues, "|") != strings.Join(tt.wantValues, "|") {
				t.Errorf("path values = %q; want %q", d.last.PathValues, tt.wantValues)
			}
		})
	}
}

func TestRequestEncoding(t *testing.T) {
	d := &fakeDispatcher{}
	h := newTestServer(t, d)
	req := httptest.NewRequest("GET", "http://example.com/items/7?q=a%20b&q=c", nil)
	req.Header.Add("X-Multi", "1")
	req.Header.Add("X-Multi", "2")
	req.RemoteAddr = "192.0.2.1:5555"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	r := d.last
	if r.RawQuery != "q=a%20b&q=c" || r.Method != "GET" || r.Path != "/items/7" || r.Scheme != "http" {
		t.Errorf("request = %+v", r)
	}
	if r.ClientHost != "192.0.2.1" || r.ClientPort != 5555 {
		t.Errorf("client = %s:%d; want 192.0.2.1:5555", r.ClientHost, r.ClientPort)
	}
	hdr := string(r.Header)
	for _, want := range []string{"host: example.com\r\n", "x-multi: 1\r\nx-multi: 2\r\n"} {
		if !strings.Contains(hdr, want) {
			t.Errorf("header blob %q lacks %q", hdr, want)
		}
	}
	if r.RequestID == "" || rec.Header().Get("X-Request-Id") != r.RequestID {
		t.Errorf("request id %q, response header %q", r.RequestID, rec.Header().Get("X-Request-Id"))
	}
}

func TestResponseHeaders(t *testing.T) {
	h := newTestServer(t, &fakeDispatcher{})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/items/1", nil))
	if got := rec.Header().Values("Set-Cookie"); len(got) != 2 {
		t.Errorf("Set-Cookie = %q; want both cookies", got)
	}
	if got := rec.Header().Get("Connection"); got != "" {
		t.Errorf("Connection = %q; want hop-by-hop header dropped", got)
	}
	if got := rec.Header().Get("X-Bad"); got != "" {
		t.Errorf("malformed line produced X-Bad = %q", got)
	}
	if got, want := rec.Header().Get("Content-Length"), strconv.Itoa(rec.Body.Len()); got != want {
		t.Errorf("Content-Length = %s; want %s", got, want)
	}
}

func TestRequestID(t *testing.T) {
	tests := []struct {
		name, sent string
		keep       bool
	}{
		{"sane kept", "abc-123.X_y:z", true},
		{"too long replaced", strings.Repeat("a", 129), false},
		{"bad chars replaced", "a b<script>", false},
		{"none generated", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newTestServer(t, &fakeDispatcher{})
			req := httptest.NewRequest("GET", "/items/1", nil)
			if tt.sent != "" {
				req.Header.Set("X-Request-ID", tt.sent)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			got := rec.Header().Get("X-Request-Id")
			if (got == tt.sent) != tt.keep || !saneRequestID(got) {
				t.Errorf("X-Request-ID = %q; sent %q, keep %v", got, tt.sent, tt.keep)
			}
		})
	}
}

func TestDispatchErrors(t *testing.T) {
	tests := []struct {
		err        error
		wantStatus int
		wantRetry  bool
	}{
		{ErrOverloaded, 503, true},
		{ErrClosed, 503, true},
		{context.DeadlineExceeded, 504, false},
		{errors.New("python exploded"), 500, false},
	}
	for _, tt := range tests {
		t.Run(tt.err.Error(), func(t *testing.T) {
			h := newTestServer(t, &fakeDispatcher{err: tt.err})
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/items/1", nil))
			if rec.Code != tt.wantStatus {
				t.Errorf("status = %d; want %d", rec.Code, tt.wantStatus)
			}
			if got := rec.Header().Get("Retry-After") != ""; got != tt.wantRetry {
				t.Errorf("Retry-After present = %v; want %v", got, tt.wantRetry)
			}
			if strings.Contains(rec.Body.String(), "exploded") {
				t.Errorf("error detail leaked to the client: %s", rec.Body)
			}
		})
	}
}

func TestPanicIsCleanJSON500(t *testing.T) {
	h := newTestServer(t, &fakeDispatcher{})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/panic", nil))
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), `"detail":"Internal Server Error"`) {
		t.Errorf("got %d %s; want JSON 500", rec.Code, rec.Body)
	}
}

func TestConflictingRoutesFail(t *testing.T) {
	app := &App{Protocol: ProtocolVersion, Routes: []Route{
		{ID: 0, Methods: []string{"GET"}, Path: "/{a}/x", GoPattern: "/{a}/x", PathParams: []string{"a"}},
		{ID: 1, Methods: []string{"GET"}, Path: "/x/{b}", GoPattern: "/x/{b}", PathParams: []string{"b"}},
	}}
	_, err := New(DefaultConfig(), app, &fakeDispatcher{}, slog.Default())
	if err == nil || !strings.Contains(err.Error(), "/x/{b}") {
		t.Errorf("err = %v; want a conflict naming the route", err)
	}
}

func TestParseApp(t *testing.T) {
	tests := []struct {
		name, json, wantErr string
	}{
		{"ok", `{"protocol":2,"routes":[{"id":0,"methods":["GET"],"path":"/a/{x}","go_pattern":"/a/{x}","path_params":["x"]}]}`, ""},
		{"protocol mismatch", `{"protocol":3,"routes":[]}`, "protocol 3"},
		{"param mismatch", `{"protocol":2,"routes":[{"id":0,"methods":["GET"],"path":"/a/{x}","go_pattern":"/a/{x}","path_params":["y"]}]}`, "path_params[0]"},
		{"bad method", `{"protocol":2,"routes":[{"id":0,"methods":["get me"],"path":"/","go_pattern":"/"}]}`, "invalid method"},
		{"bad id", `{"protocol":2,"routes":[{"id":3,"methods":["GET"],"path":"/","go_pattern":"/"}]}`, "has id 3"},
		{"not json", `{`, "decoding"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseApp([]byte(tt.json))
			if (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("err = %v; want %q", err, tt.wantErr)
			}
		})
	}
}
