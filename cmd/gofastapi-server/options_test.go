package main

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestParseOptions(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string
		check   func(*options) bool
	}{
		{"minimal", []string{"--app", "app:app", "--app-dir", dir}, nil, "",
			func(o *options) bool { return o.app == "app:app" && o.port == 8000 && o.host == "127.0.0.1" }},
		{"env default", []string{"--app", "app:app", "--app-dir", dir}, map[string]string{"GOFASTAPI_WORKERS": "3"}, "",
			func(o *options) bool { return o.workers == 3 }},
		{"flag beats env", []string{"--app", "app:app", "--app-dir", dir, "--workers", "2"}, map[string]string{"GOFASTAPI_WORKERS": "3"}, "",
			func(o *options) bool { return o.workers == 2 }},
		{"env app", []string{"--app-dir", dir}, map[string]string{"GOFASTAPI_APP": "m:a", "GOFASTAPI_SHUTDOWN_TIMEOUT": "5s"}, "",
			func(o *options) bool { return o.app == "m:a" && o.server.ShutdownTimeout == 5*time.Second }},
		{"missing app", []string{"--app-dir", dir}, nil, "--app is required", nil},
		{"bad app", []string{"--app", "app", "--app-dir", dir}, nil, "module:attribute", nil},
		{"bad env", []string{"--app", "a:b"}, map[string]string{"GOFASTAPI_PORT": "eighty"}, "GOFASTAPI_PORT", nil},
		{"bad port", []string{"--app", "a:b", "--app-dir", dir, "--port", "70000"}, nil, "--port 70000", nil},
		{"bad workers", []string{"--app", "a:b", "--app-dir", dir, "--workers", "0"}, nil, "--workers 0", nil},
		{"bad log level", []string{"--app", "a:b", "--app-dir", dir, "--log-level", "loud"}, nil, "--log-level", nil},
		{"bad app dir", []string{"--app", "a:b", "--app-dir", dir + "/nope"}, nil, "--app-dir", nil},
		{"unknown flag", []string{"--app", "a:b", "--frobnicate"}, nil, "frobnicate", nil},
		{"stray argument", []string{"--app", "a:b", "--app-dir", dir, "extra"}, nil, `unexpected argument "extra"`, nil},
		{"zero timeout", []string{"--app", "a:b", "--app-dir", dir, "--read-timeout", "0s"}, nil, "--read-timeout", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lookup := func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok }
			o, err := parseOptions(tt.args, lookup, io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v; want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if !tt.check(o) {
				t.Errorf("options = %+v", o)
			}
		})
	}
}
