package pyruntime

import (
	"bufio"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// findVenv returns the virtual environment to use: explicit (the --venv
// setting) if given, else $VIRTUAL_ENV, else a ".venv" in appDir or the
// working directory, else "" (the base installation only). A venv made for
// another Python version is an error, since its packages would not load.
func findVenv(explicit, appDir, pyVersion string) (string, error) {
	candidates := []struct{ dir, from string }{
		{explicit, "the venv setting"},
		{os.Getenv("VIRTUAL_ENV"), "$VIRTUAL_ENV"},
	}
	for _, c := range candidates {
		if c.dir == "" {
			continue
		}
		if _, err := os.Stat(filepath.Join(c.dir, "pyvenv.cfg")); err != nil {
			return "", fmt.Errorf("%s is %q, which is not a virtual environment (no pyvenv.cfg): %w", c.from, c.dir, err)
		}
		return c.dir, checkVenv(c.dir, pyVersion)
	}
	for _, base := range []string{appDir, "."} {
		dir, err := filepath.Abs(filepath.Join(base, ".venv"))
		if err != nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, "pyvenv.cfg")); err == nil {
			return dir, checkVenv(dir, pyVersion)
		}
	}
	return "", nil
}

// checkVenv compares the venv's Python version with the linked one
// (pyVersion is Py_GetVersion(), e.g. "3.13.0 (main, ...)").
func checkVenv(dir, pyVersion string) error {
	f, err := os.Open(filepath.Join(dir, "pyvenv.cfg"))
	if err != nil {
		return fmt.Errorf("reading venv %q: %w", dir, err)
	}
	defer f.Close()
	want := majorMinor(pyVersion)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if (k == "version" || k == "version_info") && majorMinor(v) != want {
			return fmt.Errorf("venv %q was made with Python %s but the server embeds Python %s: recreate it with Python %s (python%s -m venv %s)", dir, v, want, want, want, dir)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "bin", "python")); err != nil {
		return fmt.Errorf("venv %q has no bin/python: %w", dir, err)
	}
	return nil
}

// majorMinor returns "3.13" for "3.13.0 (main, ...)".
func majorMinor(v string) string {
	parts := strings.SplitN(strings.Fields(v + " ")[0], ".", 3)
	if len(parts) < 2 {
		return v
	}
	return parts[0] + "." + parts[1]
}

// extractPackage writes the embedded Python package into a fresh private
// directory (0700, unique name) and returns that directory; the caller
// removes it. A fresh directory means no other local user can plant code
// for the server to import.
func extractPackage(src fs.FS) (string, error) {
	dir, err := os.MkdirTemp("", "gofastapi-py-")
	if err != nil {
		return "", fmt.Errorf("creating a directory for the gofastapi package (set TMPDIR to a writable directory): %w", err)
	}
	err = fs.WalkDir(src, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		target := filepath.Join(dir, filepath.FromSlash(path))
		if d.IsDir() {
			return os.MkdirAll(target, 0o700)
		}
		data, err := fs.ReadFile(src, path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o600)
	})
	if err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("writing the gofastapi package to %s: %w", dir, err)
	}
	return dir, nil
}

// ProcessRSS returns a process's resident set size from /proc, or 0.
func ProcessRSS(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/statm", pid))
	if err != nil {
		return 0
	}
	var size, resident int64
	if _, err := fmt.Sscan(string(data), &size, &resident); err != nil {
		return 0
	}
	return resident * int64(os.Getpagesize())
}
