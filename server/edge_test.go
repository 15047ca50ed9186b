package server

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestParseRate(t *testing.T) {
	tests := []struct {
		in      string
		want    *RateSpec
		wantErr bool
	}{
		{"100/minute", &RateSpec{100, time.Minute, 100}, false},
		{"10/second;burst=20", &RateSpec{10, time.Second, 20}, false},
		{"5/hour", &RateSpec{5, time.Hour, 5}, false},
		{"off", nil, false},
		{"", nil, false},
		{"0/minute", nil, true},
		{"10/fortnight", nil, true},
		{"ten/second", nil, true},
		{"10/second;bust=3", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseRate(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v; wantErr %v", err, tt.wantErr)
			}
			if (got == nil) != (tt.want == nil) || (got != nil && *got != *tt.want) {
				t.Errorf("got %v; want %v", got, tt.want)
			}
		})
	}
}

func TestLimiterBucket(t *testing.T) {
	now := time.Unix(1000, 0)
	l := newLimiter(RateSpec{Events: 2, Per: time.Second, Burst: 3}, 100)
	l.now = func() time.Time { return now }
	for i := 0; i < 3; i++ {
		if v := l.allow("a"); !v.ok || v.remaining != 2-i {
			t.Fatalf("request %d: %+v; want ok with %d left", i, v, 2-i)
		}
	}
	v := l.allow("a")
	if v.ok || v.retryAfter != 500*time.Millisecond {
		t.Fatalf("4th request: %+v; want refused, retry in 500ms", v)
	}
	if v := l.allow("b"); !v.ok {
		t.Errorf("another client was limited: %+v", v)
	}
	now = now.Add(500 * time.Millisecond)
	if v := l.allow("a"); !v.ok {
		t.Errorf("after refill: %+v; want ok", v)
	}
}

func TestLimiterTableIsBounded(t *testing.T) {
	l := newLimiter(RateSpec{Events: 1, Per: time.Hour, Burst: 1}, limiterShards*16)
	for i := 0; i < 100_000; i++ {
		l.allow(strconv.Itoa(i))
	}
	if n := l.size(); n > limiterShards*16 {
		t.Errorf("table holds %d buckets; want at most %d", n, limiterShards*16)
	}
}

func TestClientAddr(t *testing.T) {
	proxies, err := ParseTrustedProxies("10.0.0.0/8, 127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, peer, xff, fwd, want string
	}{
		{"untrusted peer ignores header", "203.0.113.9:1000", "1.2.3.4", "", "203.0.113.9:1000"},
		{"trusted peer", "10.1.1.1:1000", "1.2.3.4", "", "1.2.3.4:0"},
		{"rightmost untrusted", "127.0.0.1:1000", "6.6.6.6, 1.2.3.4, 10.0.0.2", "", "1.2.3.4:0"},
		{"forwarded ignored by default", "10.1.1.1:1000", "9.9.9.9", `for="[2001:db8::1]:443";proto=https`, "9.9.9.9:0"},
		{"garbage stops", "10.1.1.1:1000", "1.2.3.4, junk", "", "10.1.1.1:1000"},
		{"no header", "10.1.1.1:1000", "", "", "10.1.1.1:1000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.peer
			if tt.xff != "" {
				r.Header.Set("X-Forwarded-For", tt.xff)
			}
			if tt.fwd != "" {
				r.Header.Set("Forwarded", tt.fwd)
			}
			if got := proxies.clientAddr(r); got != tt.want {
				t.Errorf("clientAddr = %q; want %q", got, tt.want)
			}
		})
	}
	if _, err := ParseTrustedProxies("10.0.0.0/33"); err == nil {
		t.Error("bad CIDR accepted")
	}
	fwd := proxies
	fwd.forwarded = true
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.1.1.1:1000"
	r.Header.Set("X-Forwarded-For", "9.9.9.9")
	r.Header.Set("Forwarded", `for="[2001:db8::1]:443"`)
	if got := fwd.clientAddr(r); got != "[2001:db8::1]:0" {
		t.Errorf("with Forwarded configured: clientAddr = %q", got)
	}
}

func TestClientKeyGroupsIPv6(t *testing.T) {
	if a, b := clientKey("[2001:db8::1]:1"), clientKey("[2001:db8::ffff]:2"); a != b {
		t.Errorf("same /64 gave keys %q and %q", a, b)
	}
	if a, b := clientKey("192.0.2.1:1"), clientKey("192.0.2.2:1"); a == b {
		t.Errorf("different IPv4 clients share key %q", a)
	}
}

func TestSecurityHeaders(t *testing.T) {
	tests := []struct {
		name, raw string
		tls       bool
		want      map[string]string // "" means absent
		wantErr   bool
	}{
		{"defaults", `true`, false, map[string]string{"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Strict-Transport-Security": ""}, false},
		{"hsts on tls", `true`, true, map[string]string{"Strict-Transport-Security": defaultHSTS}, false},
		{"off", `false`, true, map[string]string{"X-Frame-Options": "", "Strict-Transport-Security": ""}, false},
		{"dict extends", `{"X-XSS-Protection":"1; mode=block","X-Frame-Options":"SAMEORIGIN"}`, false,
			map[string]string{"X-Xss-Protection": "1; mode=block", "X-Frame-Options": "SAMEORIGIN", "X-Content-Type-Options": "nosniff"}, false},
		{"dict removes", `{"X-Frame-Options":null}`, false, map[string]string{"X-Frame-Options": ""}, false},
		{"dict replaces", `{"inherit_defaults":false,"X-Frame-Options":"DENY"}`, true,
			map[string]string{"X-Frame-Options": "DENY", "X-Content-Type-Options": "", "Strict-Transport-Security": ""}, false},
		{"bad value", `{"X-A":"a\nb"}`, false, nil, true},
		{"bad type", `3`, false, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sh, err := parseSecurityHeaders(json.RawMessage(tt.raw))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v; wantErr %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			h := withSecurityHeaders(sh, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
			r := httptest.NewRequest("GET", "/", nil)
			if tt.tls {
				r = httptest.NewRequest("GET", "https://x/", nil)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			for k, want := range tt.want {
				if got := rec.Header().Get(k); got != want {
					t.Errorf("%s = %q; want %q", k, got, want)
				}
			}
		})
	}
}

func TestCORS(t *testing.T) {
	cfg := CORSConfig{Origins: []string{"https://a.example"}, Methods: []string{"GET", "POST"}, Headers: []string{"Authorization"}, MaxAge: 60}
	x, err := newCORS(cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(299) })
	h := withCORS(x, nil, next)
	tests := []struct {
		name, method, origin, reqMethod, reqHeaders string
		wantStatus                                  int
		wantACAO                                    string
	}{
		{"simple allowed", "GET", "https://a.example", "", "", 299, "https://a.example"},
		{"simple refused", "GET", "https://evil.example", "", "", 299, ""},
		{"no origin", "GET", "", "", "", 299, ""},
		{"preflight ok", "OPTIONS", "https://a.example", "POST", "authorization, content-type", 204, "https://a.example"},
		{"preflight bad origin", "OPTIONS", "https://evil.example", "POST", "", 400, ""},
		{"preflight bad method", "OPTIONS", "https://a.example", "DELETE", "", 400, ""},
		{"preflight bad header", "OPTIONS", "https://a.example", "GET", "x-secret", 400, ""},
		{"plain options passes", "OPTIONS", "https://a.example", "", "", 299, "https://a.example"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, "/", nil)
			if tt.origin != "" {
				r.Header.Set("Origin", tt.origin)
			}
			if tt.reqMethod != "" {
				r.Header.Set("Access-Control-Request-Method", tt.reqMethod)
			}
			if tt.reqHeaders != "" {
				r.Header.Set("Access-Control-Request-Headers", tt.reqHeaders)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != tt.wantStatus {
				t.Errorf("status = %d; want %d", rec.Code, tt.wantStatus)
			}
			if got := rec.Header().Get("Access-Control-Allow-Origin"); got != tt.wantACAO {
				t.Errorf("ACAO = %q; want %q", got, tt.wantACAO)
			}
			if tt.origin != "" && !strings.Contains(strings.Join(rec.Header().Values("Vary"), ","), "Origin") {
				t.Errorf("Vary = %q; want Origin", rec.Header().Values("Vary"))
			}
		})
	}
}

func TestCORSConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  CORSConfig
	}{
		{"credentials with wildcard", CORSConfig{Origins: []string{"*"}, Credentials: true}},
		{"not an origin", CORSConfig{Origins: []string{"example.com"}}},
		{"origin with path", CORSConfig{Origins: []string{"https://a.example/app"}}},
		{"bad method", CORSConfig{Origins: []string{"https://a.example"}, Methods: []string{"GE T"}}},
		{"negative max age", CORSConfig{Origins: []string{"https://a.example"}, MaxAge: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := newCORS(tt.cfg, quiet); err == nil {
				t.Error("accepted; want a start-up error")
			}
		})
	}
}

func TestParseSize(t *testing.T) {
	tests := map[string]int64{"10MB": 10 << 20, "512kb": 512 << 10, "1GiB": 1 << 30, "100": 100, " 2 M ": 2 << 20}
	for in, want := range tests {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"ten", "-1", "0", "10XB", ""} {
		if _, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) accepted", bad)
		}
	}
}

func TestCheckJSON(t *testing.T) {
	tests := []struct {
		name, body string
		ok         bool
	}{
		{"object", `{"a": [1, "x]", {"b": null}]}`, true},
		{"trailing data", `{"a":1} {"b":2}`, false},
		{"trailing garbage", `[1] x`, false},
		{"trailing space ok", "{}\n ", true},
		{"nan", `{"a": NaN}`, false},
		{"truncated", `{"a": [1, 2`, false},
		{"deep", strings.Repeat("[", MaxJSONDepth+1) + strings.Repeat("]", MaxJSONDepth+1), false},
		{"max depth ok", strings.Repeat("[", MaxJSONDepth) + strings.Repeat("]", MaxJSONDepth), true},
		{"brackets in strings", `["` + strings.Repeat("[", 1000) + `"]`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := checkJSON([]byte(tt.body)); (err == nil) != tt.ok {
				t.Errorf("checkJSON = %v; want ok %v", err, tt.ok)
			}
		})
	}
}

func TestBadPath(t *testing.T) {
	for p, bad := range map[string]bool{"/a/b": false, "/../etc": true, "/a/./b": true, "/a/..": true, "/a..b/c": false, "/a\\b": true, "/a\x00": true} {
		if got := badPath(p) != ""; got != bad {
			t.Errorf("badPath(%q) = %v; want %v", p, got, bad)
		}
	}
}

func TestEdgeLimitsThroughServer(t *testing.T) {
	size := int64(16)
	rl := "2/minute"
	app := &App{Protocol: ProtocolVersion, Settings: Settings{MaxRequestSize: &size}, Routes: []Route{
		{ID: 0, Methods: []string{"POST"}, Path: "/json", GoPattern: "/json", MediaTypes: []string{"application/json"}},
		{ID: 1, Methods: []string{"GET"}, Path: "/limited", GoPattern: "/limited", RateLimit: &rl},
	}}
	s, err := New(DefaultConfig(), app, &fakeDispatcher{}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, method, path, ctype, body string
		wantStatus                      int
	}{
		{"json ok", "POST", "/json", "application/json", `{"a":1}`, 200},
		{"json suffix ok", "POST", "/json", "application/merge-patch+json", `{}`, 200},
		{"wrong type", "POST", "/json", "text/plain", `{"a":1}`, 415},
		{"no type", "POST", "/json", "", `{"a":1}`, 415},
		{"too large", "POST", "/json", "application/json", `{"a":"` + strings.Repeat("x", 20) + `"}`, 413},
		{"bad json", "POST", "/json", "application/json", `{"a":}`, 422},
		{"dot segment", "GET", "/a/%2e%2e/json", "", "", 400},
		{"limited 1", "GET", "/limited", "", "", 200},
		{"limited 2", "GET", "/limited", "", "", 200},
		{"limited 3", "GET", "/limited", "", "", 429},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
			if tt.body == "" {
				r = httptest.NewRequest(tt.method, tt.path, nil)
			}
			if tt.ctype != "" {
				r.Header.Set("Content-Type", tt.ctype)
			}
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, r)
			if rec.Code != tt.wantStatus {
				t.Errorf("status = %d; want %d (%s)", rec.Code, tt.wantStatus, rec.Body)
			}
			if rec.Code == 429 && (rec.Header().Get("Retry-After") == "" || rec.Header().Get("RateLimit-Remaining") != "0") {
				t.Errorf("429 headers = %v", rec.Header())
			}
		})
	}
}
