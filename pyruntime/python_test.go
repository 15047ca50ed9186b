package pyruntime

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

func TestMajorMinor(t *testing.T) {
	tests := map[string]string{"3.13.0 (main, May 9 2026)": "3.13", "3.14.1": "3.14", "3.13": "3.13"}
	for in, want := range tests {
		if got := majorMinor(in); got != want {
			t.Errorf("majorMinor(%q) = %q; want %q", in, got, want)
		}
	}
}

func makeVenv(t *testing.T, version string) string {
	t.Helper()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "bin"), 0o755)
	os.WriteFile(filepath.Join(dir, "bin", "python"), nil, 0o755)
	os.WriteFile(filepath.Join(dir, "pyvenv.cfg"), []byte("home = /x\nversion = "+version+"\n"), 0o644)
	return dir
}

func TestFindVenv(t *testing.T) {
	good, old := makeVenv(t, "3.13.0"), makeVenv(t, "3.11.7")
	appDir := t.TempDir()
	tests := []struct {
		name, explicit, env, wantErr string
		want                         string
	}{
		{"explicit", good, "", "", good},
		{"from VIRTUAL_ENV", "", good, "", good},
		{"wrong version", old, "", "made with Python 3.11.7", ""},
		{"not a venv", appDir, "", "not a virtual environment", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("VIRTUAL_ENV", tt.env)
			got, err := findVenv(tt.explicit, appDir, "3.13.0 (main)")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v; want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("findVenv = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestExtractPackage(t *testing.T) {
	src := fstest.MapFS{"gofastapi/__init__.py": {Data: []byte("x = 1\n")}, "gofastapi/_dispatch.py": {Data: []byte("")}}
	dir, err := extractPackage(src)
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	st, err := os.Stat(dir)
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("dir mode = %v, %v; want 0700", st.Mode(), err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "gofastapi", "__init__.py"))
	if err != nil || string(data) != "x = 1\n" {
		t.Errorf("extracted = %q, %v", data, err)
	}
}
