package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gofastapi/gofastapi/pyruntime"
	"github.com/gofastapi/gofastapi/server"
)

// reloadPoll is how often --reload looks at the app directory.
const reloadPoll = 500 * time.Millisecond

// checkReload refuses --reload where it would be dangerous: on a
// non-loopback address (it runs whatever lands in the app directory) unless
// --reload-any-host, and in the main runtime (it cannot reload).
func checkReload(o *options) error {
	if !o.reload {
		return nil
	}
	if o.runtime == "main" {
		return errors.New("--reload does not work with --runtime main: its interpreter keeps the old modules")
	}
	ip := net.ParseIP(strings.Trim(o.host, "[]"))
	if o.host != "localhost" && (ip == nil || !ip.IsLoopback()) && !o.reloadAnyHost {
		return fmt.Errorf("--reload with --host %s would let anyone who can write to the app directory run code on a public address: use a loopback host, or add --reload-any-host if you really mean it", o.host)
	}
	return nil
}

// watchReload reloads the app when a .py file under dir changes, until ctx
// ends. A version that does not load is logged and the old one keeps
// serving.
func watchReload(ctx context.Context, log *slog.Logger, dir string, pool *pyruntime.Pool, srv *server.Server) {
	last := snapshot(dir)
	t := time.NewTicker(reloadPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := snapshot(dir)
		if now == last {
			continue
		}
		last = now
		start := time.Now()
		desc, err := pool.Reload()
		var app *server.App
		if err == nil {
			app, err = server.ParseApp(desc)
		}
		if err == nil {
			err = srv.Reload(app)
		}
		if err != nil {
			args := []any{"err", err.Error()}
			var pe *pyruntime.PythonError
			if errors.As(err, &pe) {
				args = append(args, "traceback", pe.Traceback)
			}
			log.Error("reload failed: the previous version keeps serving", args...)
			continue
		}
		log.Info("reloaded", "routes", len(app.Routes), "ms", time.Since(start).Milliseconds())
	}
}

// snapshot fingerprints the .py files under dir: names, sizes and times.
// Symbolic links are not followed, so the watch cannot escape dir, and
// virtual environments, caches and hidden directories are skipped.
func snapshot(dir string) string {
	var b strings.Builder
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		name := d.Name()
		if d.IsDir() {
			if path != dir && (strings.HasPrefix(name, ".") || name == "__pycache__" || name == "venv" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 || !strings.HasSuffix(name, ".py") {
			return nil
		}
		if info, err := os.Lstat(path); err == nil {
			fmt.Fprintf(&b, "%s %d %d\n", path, info.Size(), info.ModTime().UnixNano())
		}
		return nil
	})
	return b.String()
}
