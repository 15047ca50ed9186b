package pyruntime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/gofastapi/gofastapi/server"
)

// A stand-in for the real gofastapi package that speaks protocol.md in a
// few lines, so these tests exercise the pool and the C bridge on their own.
const fakeDispatch = `
import json, os, sys, time, threading
_app = None
def load(spec, app_dir, startup=True):
    global _app
    if app_dir not in sys.path:
        sys.path.insert(0, app_dir)
    mod, _, attr = spec.partition(":")
    _app = getattr(__import__(mod), attr)
    routes = [{"id": 0, "methods": ["GET"], "path": "/", "go_pattern": "/", "path_params": []}]
    return json.dumps({"protocol": 2, "routes": routes, "fingerprint": "f"})
def handle(route_id, method, path, query, headers, body, host, port, scheme, rid, values):
    if query == "raise":
        raise ValueError("broken handle")
    if query == "sleep":
        time.sleep(0.2)
    if query == "bad":
        return ("x", b"", b"")
    out = {"route": route_id, "method": method, "path": path, "query": query, "headers": headers,
           "body": body.decode("latin-1"), "client": [host, port], "scheme": scheme, "rid": rid,
           "values": list(values), "interp": id(sys.modules), "thread": threading.get_ident(), "pid": os.getpid()}
    return (200, b"content-type: application/json\r\n", json.dumps(out).encode())
def shutdown():
    pass
`

func fakePackage() fstest.MapFS {
	return fstest.MapFS{
		"gofastapi/__init__.py":  {Data: []byte("")},
		"gofastapi/_dispatch.py": {Data: []byte(fakeDispatch)},
	}
}

// Python can be initialised once per process, so every test shares a pool.
var (
	poolOnce sync.Once
	shared   *Pool
	poolErr  error
)

func testPool(t *testing.T) *Pool {
	t.Helper()
	poolOnce.Do(func() {
		dir, err := os.MkdirTemp("", "gfa-app-")
		if err != nil {
			poolErr = err
			return
		}
		os.WriteFile(filepath.Join(dir, "myapp.py"), []byte("app = object()\n"), 0o644)
		shared, poolErr = Start(Options{
			App: "myapp:app", AppDir: dir, Workers: 2, QueueSize: 4, Venv: "",
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Package: fakePackage(),
		})
	})
	if poolErr != nil {
		t.Fatalf("starting pool: %v", poolErr)
	}
	return shared
}

type echoed struct {
	Method, Path, Query, Headers, Body, Scheme, Rid string
	Client                                          []any
	Values                                          []string
	Interp                                          int64
}

func TestDispatchRoundTrip(t *testing.T) {
	p := testPool(t)
	tests := []struct {
		name string
		req  server.Request
	}{
		{"plain", server.Request{Method: "GET", Path: "/", Scheme: "http", RequestID: "r1", ClientHost: "127.0.0.1", ClientPort: 9}},
		{"everything", server.Request{Method: "POST", Path: "/é/x", RawQuery: "a=1&b=%20", Header: []byte("host: h\r\nx-y: z\r\n"),
			Body: []byte("{\"k\": [1, 2]}\x00\xff"), Scheme: "https", RequestID: "r2", PathValues: []string{"a/b", "", "ü"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := p.Dispatch(context.Background(), &tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Status != 200 || string(resp.Header) != "content-type: application/json\r\n" {
				t.Fatalf("resp = %d %q", resp.Status, resp.Header)
			}
			var got echoed
			if err := json.Unmarshal(resp.Body, &got); err != nil {
				t.Fatal(err)
			}
			r := tt.req
			if got.Method != r.Method || got.Path != r.Path || got.Query != r.RawQuery || got.Headers != string(r.Header) ||
				got.Body != latin1(r.Body) || got.Scheme != r.Scheme || got.Rid != r.RequestID ||
				fmt.Sprint(got.Values) != fmt.Sprint(nonNil(r.PathValues)) || got.Client[0] != r.ClientHost {
				t.Errorf("python saw %+v; sent %+v", got, r)
			}
		})
	}
}

func latin1(b []byte) string {
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func TestHandleErrorsBecomePythonErrors(t *testing.T) {
	p := testPool(t)
	tests := []struct{ query, wantType, wantMsg string }{
		{"raise", "ValueError", "broken handle"},
		{"bad", "TypeError", ""},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			_, err := p.Dispatch(context.Background(), &server.Request{Method: "GET", Path: "/", RawQuery: tt.query})
			var pe *PythonError
			if !errors.As(err, &pe) || pe.Type != tt.wantType || !strings.Contains(pe.Message, tt.wantMsg) {
				t.Fatalf("err = %#v; want %s", err, tt.wantType)
			}
			if tt.query == "raise" && !strings.Contains(pe.Traceback, "broken handle") {
				t.Errorf("traceback %q lacks the message", pe.Traceback)
			}
		})
	}
	// The pool still serves afterwards.
	if _, err := p.Dispatch(context.Background(), &server.Request{Method: "GET", Path: "/"}); err != nil {
		t.Fatal(err)
	}
}

func TestConcurrentRequestsUseBothInterpreters(t *testing.T) {
	p := testPool(t)
	var mu sync.Mutex
	interps := map[int64]bool{}
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := p.Dispatch(context.Background(), &server.Request{Method: "GET", Path: "/", RawQuery: "sleep"})
			if err != nil {
				t.Error(err)
				return
			}
			var got echoed
			json.Unmarshal(resp.Body, &got)
			mu.Lock()
			interps[got.Interp] = true
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(interps) != 2 {
		t.Errorf("requests ran in %d interpreters; want 2", len(interps))
	}
}

func TestQueueFullAndCancel(t *testing.T) {
	p := testPool(t)
	// 2 running + 4 queued fill the pool; more must be refused at once.
	var wg sync.WaitGroup
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.Dispatch(context.Background(), &server.Request{Method: "GET", Path: "/", RawQuery: "sleep"})
		}()
	}
	time.Sleep(50 * time.Millisecond)
	if _, err := p.Dispatch(context.Background(), &server.Request{Method: "GET", Path: "/"}); !errors.Is(err, server.ErrOverloaded) {
		t.Errorf("err = %v; want ErrOverloaded", err)
	}
	wg.Wait()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.Dispatch(ctx, &server.Request{Method: "GET", Path: "/"}); err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v; want nil or Canceled", err)
	}
}

// TestMain closes the shared pool after every test: ending the
// sub-interpreters and finalising CPython must work and not hang.
func TestMain(m *testing.M) {
	code := m.Run()
	if shared != nil {
		start := time.Now()
		if err := shared.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "closing pool: %v\n", err)
			code = 1
		}
		if _, err := shared.Dispatch(context.Background(), &server.Request{}); !errors.Is(err, server.ErrClosed) {
			fmt.Fprintf(os.Stderr, "dispatch after close: %v; want ErrClosed\n", err)
			code = 1
		}
		fmt.Fprintf(os.Stderr, "pool closed in %s\n", time.Since(start))
	}
	os.Exit(code)
}

// BenchmarkDispatch measures the hand-off from callers into the two
// interpreters and back, with a trivial handler.
func BenchmarkDispatch(b *testing.B) {
	p := testPool(&testing.T{})
	req := server.Request{Method: "GET", Path: "/", Scheme: "http", RequestID: "r"}
	b.SetParallelism(2) // 4 callers: never more than 2 running + 4 queued
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := req
			if _, err := p.Dispatch(context.Background(), &r); err != nil {
				b.Error(err)
			}
		}
	})
}
