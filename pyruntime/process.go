package pyruntime

import (
	"bufio"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gofastapi/gofastapi/server"
)

// Worker processes are this same binary started with GOFASTAPI_WORKER_CHILD
// set: cmd/gofastapi-server calls RunChild first thing when it is. A child
// embeds one interpreter (the main runtime with one thread), reads request
// frames on fd 3 and writes response frames on fd 4; its stdout and stderr
// are the server's, so handler prints and logs cannot corrupt the frames.
const (
	childEnv       = "GOFASTAPI_WORKER_CHILD"
	childAppEnv    = "GOFASTAPI_WORKER_APP"
	childAppDirEnv = "GOFASTAPI_WORKER_APP_DIR"
	childPkgEnv    = "GOFASTAPI_WORKER_PKG"
	childVenvEnv   = "GOFASTAPI_WORKER_VENV"
	childIDEnv     = "GOFASTAPI_WORKER_ID"
	childMemEnv    = "GOFASTAPI_WORKER_MAX_MEMORY"
)

// IsChild reports whether this process was started as a worker process.
func IsChild() bool { return os.Getenv(childEnv) == "1" }

// process is the server's side of one worker process. Used by one
// goroutine only.
type process struct {
	cmd  *exec.Cmd
	out  *os.File      // request frames to the child
	in   *bufio.Reader // response frames from the child
	inF  *os.File
	w    frameWriter
	rbuf []byte
	done chan struct{} // closed when the child has exited
	// refusals counted by the child's guard, as of its last answer
	refusedN atomic.Uint64
}

// startProcess starts worker process id and waits for its ready frame.
func startProcess(p *Pool, id int) (*process, []byte, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, nil, fmt.Errorf("finding the server binary to start worker processes: %w", err)
	}
	reqR, reqW, err := blockingPipe()
	if err != nil {
		return nil, nil, err
	}
	respR, respW, err := blockingPipe()
	if err != nil {
		reqR.Close()
		reqW.Close()
		return nil, nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), childEnv+"=1", childAppEnv+"="+p.opts.App, childAppDirEnv+"="+p.opts.AppDir,
		childPkgEnv+"="+p.pkgDir, childVenvEnv+"="+p.opts.Venv, childIDEnv+"="+strconv.Itoa(id),
		childMemEnv+"="+strconv.FormatInt(p.opts.MaxMemory, 10))
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.ExtraFiles = []*os.File{reqR, respW} // fds 3 and 4
	// The child dies with the server, and gets its own process group so a
	// terminal's ^C reaches only the server, which then stops it in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		reqR.Close()
		reqW.Close()
		respR.Close()
		respW.Close()
		return nil, nil, fmt.Errorf("starting worker process: %w", err)
	}
	reqR.Close()
	respW.Close()
	pr := &process{cmd: cmd, out: reqW, in: bufio.NewReaderSize(respR, 64<<10), inF: respR, done: make(chan struct{})}
	go func() { cmd.Wait(); close(pr.done) }()
	kind, payload, err := readFrame(pr.in, &pr.rbuf)
	switch {
	case err != nil:
		pr.close()
		return nil, nil, fmt.Errorf("worker process %d exited during start-up (%s)", id, pr.exitStatus())
	case kind == frameError:
		pr.close()
		err, _ := getError(payload)
		return nil, nil, err
	case kind != frameReady:
		pr.close()
		return nil, nil, fmt.Errorf("worker process %d sent frame %q before ready", id, kind)
	}
	return pr, append([]byte(nil), payload...), nil
}

// blockingPipe is os.Pipe with blocking file descriptors. The goroutine
// waiting for a worker's answer then sleeps in read(2) and the kernel wakes
// it directly, instead of through the runtime's poller: one request is a
// ping-pong of two small writes, where the poller's extra hop on both sides
// was most of the latency.
func blockingPipe() (r, w *os.File, err error) {
	var fds [2]int
	if err := syscall.Pipe2(fds[:], syscall.O_CLOEXEC); err != nil {
		return nil, nil, fmt.Errorf("creating a pipe for a worker process: %w", err)
	}
	return os.NewFile(uintptr(fds[0]), "worker-pipe-r"), os.NewFile(uintptr(fds[1]), "worker-pipe-w"), nil
}

// dispatch sends one request and reads its answer. A broken pipe or an
// exited child is server.ErrWorkerLost.
func (pr *process) dispatch(r *server.Request) (*server.Response, error) {
	pr.w.putRequest(r)
	if err := pr.w.send(pr.out); err != nil {
		return nil, server.ErrWorkerLost
	}
	kind, payload, err := readFrame(pr.in, &pr.rbuf)
	if err != nil {
		return nil, server.ErrWorkerLost
	}
	switch kind {
	case frameResponse:
		f := &frameReader{b: payload}
		status := int(f.u64())
		hdr, body := f.bytes(), f.bytes()
		refused := f.u64()
		if f.err != nil {
			return nil, server.ErrWorkerLost
		}
		pr.refusedN.Store(refused)
		data := make([]byte, len(hdr)+len(body))
		copy(data, hdr)
		copy(data[len(hdr):], body)
		return &server.Response{Status: status, Header: data[:len(hdr):len(hdr)], Body: data[len(hdr):]}, nil
	case frameError:
		err, refused := getError(payload)
		pr.refusedN.Store(refused)
		return nil, err
	}
	return nil, server.ErrWorkerLost
}

// refused is the child's refusal count as of its last answer.
func (pr *process) refused() uint64 { return pr.refusedN.Load() }

// close asks the child to stop (EOF on its request pipe), waits briefly for
// it to run its shutdown hooks, and kills it if it does not exit.
func (pr *process) close() {
	pr.out.Close()
	select {
	case <-pr.done:
	case <-time.After(5 * time.Second):
		pr.cmd.Process.Kill()
		<-pr.done
	}
	pr.inF.Close()
}

// interrupt asks the child to raise TimeoutError in its running request
// (SIGUSR1; SIGUSR2 escalates), see RunChild.
func (pr *process) interrupt(escalate bool) {
	sig := syscall.SIGUSR1
	if escalate {
		sig = syscall.SIGUSR2
	}
	pr.cmd.Process.Signal(sig)
}

// kill stops the child at once (a handler stuck in C code); its dispatch
// then fails with server.ErrWorkerLost and the pool replaces it.
func (pr *process) kill() bool {
	pr.cmd.Process.Kill()
	return true
}

func (pr *process) exitStatus() string {
	<-pr.done
	if pr.cmd.ProcessState == nil {
		return "not started"
	}
	return pr.cmd.ProcessState.String()
}

// RunChild is the whole life of a worker process: load the app, send the
// ready frame, serve request frames until the server closes the pipe.
// It returns the process exit code.
func RunChild(log *slog.Logger) int {
	in, out := os.NewFile(3, "requests"), os.NewFile(4, "responses")
	if in == nil || out == nil {
		fmt.Fprintln(os.Stderr, "gofastapi-server: worker mode needs fds 3 and 4; it is started by the server only")
		return 2
	}
	id := os.Getenv(childIDEnv)
	log = log.With("worker", id, "pid", os.Getpid())
	if limit, _ := strconv.ParseInt(os.Getenv(childMemEnv), 10, 64); limit > 0 {
		// An OS ceiling on the whole worker: past it allocations fail
		// (MemoryError in the handler) or, at worst, this worker dies and is
		// replaced; the server and the other workers are untouched.
		lim := &syscall.Rlimit{Cur: uint64(limit), Max: uint64(limit)}
		if err := syscall.Setrlimit(syscall.RLIMIT_DATA, lim); err != nil {
			log.Error("setting the memory limit", "err", err.Error())
		}
	}
	var w frameWriter
	var allowed []string
	if v, ok := os.LookupEnv("GOFASTAPI_ALLOWED_IMPORTS"); ok {
		allowed = strings.Split(v, ",")
	}
	pool, err := Start(Options{Runtime: RuntimeMain, App: os.Getenv(childAppEnv), AppDir: os.Getenv(childAppDirEnv),
		Workers: 1, QueueSize: 1, Venv: os.Getenv(childVenvEnv), Logger: log, pkgDir: os.Getenv(childPkgEnv),
		AllowedImports: allowed})
	if err != nil {
		var pe *PythonError
		if !errors.As(err, &pe) {
			err = &PythonError{Type: "StartupError", Message: err.Error()}
		}
		w.putError(err, 0)
		w.send(out)
		return 1
	}
	w.start(frameReady)
	w.buf = append(w.buf, pool.App()...)
	if err := w.send(out); err != nil {
		pool.Close()
		return 1
	}
	// The single worker's interpreter serves the frames itself, in C.
	it := pool.gen.Load().workers[0].b.(*interp)
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGUSR1, syscall.SIGUSR2)
	go func() {
		for sig := range sigs {
			it.interrupt(sig == syscall.SIGUSR2)
		}
	}()
	if err := it.serveFrames(int(in.Fd()), int(out.Fd())); err != nil {
		log.Error("serving requests", "err", err.Error())
	}
	signal.Stop(sigs)
	if err := pool.Close(); err != nil {
		log.Warn("stopping worker", "err", err.Error())
	}
	return 0
}
