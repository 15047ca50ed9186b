package pyruntime

/*
#cgo pkg-config: python3-embed
#cgo CFLAGS: -O2 -Wall
#include <stdlib.h>
#include "bridge.h"
*/
import "C"

import (
	"errors"
	"unsafe"

	"github.com/gofastapi/gofastapi/server"
)

// PythonError is a Python exception that crossed into Go.
type PythonError struct {
	Type      string // exception class name, e.g. "ModuleNotFoundError"
	Message   string // str(exception)
	Traceback string // formatted traceback, may be empty
}

func (e *PythonError) Error() string {
	if e.Message == "" {
		return e.Type
	}
	return e.Type + ": " + e.Message
}

// takeError converts and frees a C error.
func takeError(cerr *C.gfa_error) *PythonError {
	e := &PythonError{
		Type:      C.GoString(cerr._type),
		Message:   C.GoString(cerr.message),
		Traceback: C.GoString(cerr.traceback),
	}
	C.gfa_error_free(cerr)
	if e.Type == "" {
		e.Type = "Error"
	}
	return e
}

// takeString converts and frees a malloc'd C string.
func takeString(s *C.char) string {
	defer C.gfa_free(unsafe.Pointer(s))
	return C.GoString(s)
}

// PythonVersion is the version string of the linked libpython. It may be
// called before Python is initialised.
func PythonVersion() string { return C.GoString(C.gfa_python_version()) }

// initMain initialises CPython. Main owner thread only.
func initMain(executable, pkgDir string) error {
	cexe, cpkg := cstr(executable), cstr(pkgDir)
	defer C.free(unsafe.Pointer(cexe))
	defer C.free(unsafe.Pointer(cpkg))
	var cerr C.gfa_error
	if C.gfa_init(cexe, cpkg, &cerr) != 0 {
		return takeError(&cerr)
	}
	return nil
}

// loadMain imports the app in the main interpreter and returns its
// description. Main owner thread only.
func loadMain(spec, appDir, preload string) ([]byte, error) {
	cspec, cdir, cpre := cstr(spec), cstr(appDir), cstr(preload)
	defer C.free(unsafe.Pointer(cspec))
	defer C.free(unsafe.Pointer(cdir))
	defer C.free(unsafe.Pointer(cpre))
	var cerr C.gfa_error
	desc := C.gfa_load_main(cspec, cdir, cpre, &cerr)
	if desc == nil {
		return nil, takeError(&cerr)
	}
	return []byte(takeString(desc)), nil
}

// finalizeMain finalises CPython. Main owner thread only.
func finalizeMain() int { return int(C.gfa_finalize()) }

func cstr(s string) *C.char { return C.CString(s) }

// interp is one interpreter worker: an own-GIL sub-interpreter, or a share
// of the main interpreter. Any goroutine may call its methods, but only one
// at a time (the pool's free list guarantees it); the C side keeps a thread
// state per OS thread that has run it.
type interp struct {
	c    *C.gfa_worker
	req  C.gfa_request // reused for every call; holds no pointers
	strs []byte        // reused buffer for the request's strings
}

// newMainThread makes a worker sharing the main interpreter; startup runs
// the app's start-up hooks (first main worker only).
func newMainThread(spec, appDir string, startup bool) (*interp, []byte, error) {
	cspec, cdir := cstr(spec), cstr(appDir)
	defer C.free(unsafe.Pointer(cspec))
	defer C.free(unsafe.Pointer(cdir))
	var cerr C.gfa_error
	var desc *C.char
	cstart := C.int(0)
	if startup {
		cstart = 1
	}
	w := C.gfa_main_worker(cspec, cdir, cstart, &desc, &cerr)
	if w == nil {
		return nil, nil, takeError(&cerr)
	}
	return &interp{c: w}, []byte(takeString(desc)), nil
}

// newSubinterp creates a sub-interpreter and loads the app into it. It
// returns the app description the interpreter exported.
func newSubinterp(pkgDir, spec, appDir string) (*interp, []byte, error) {
	cpkg, cspec, cdir := cstr(pkgDir), cstr(spec), cstr(appDir)
	defer C.free(unsafe.Pointer(cpkg))
	defer C.free(unsafe.Pointer(cspec))
	defer C.free(unsafe.Pointer(cdir))
	var cerr C.gfa_error
	var desc *C.char
	w := C.gfa_worker_new(cpkg, cspec, cdir, &desc, &cerr)
	if w == nil {
		return nil, nil, takeError(&cerr)
	}
	return &interp{c: w}, []byte(takeString(desc)), nil
}

// errTooManyParams guards the fixed-size array in gfa_request.
var errTooManyParams = errors.New("too many path parameters")

// dispatch runs one request in the interpreter.
func (it *interp) dispatch(r *server.Request) (*server.Response, error) {
	if len(r.PathValues) > C.GFA_MAX_PARAMS {
		return nil, errTooManyParams
	}
	fields := [C.GFA_NFIELDS]string{
		C.GFA_METHOD: r.Method, C.GFA_PATH: r.Path, C.GFA_QUERY: r.RawQuery,
		C.GFA_CLIENT: r.ClientHost, C.GFA_SCHEME: r.Scheme, C.GFA_REQUEST_ID: r.RequestID,
	}
	b := it.strs[:0]
	for i, f := range fields {
		if i == C.GFA_HEADERS {
			b = append(b, r.Header...)
			it.req.lens[i] = C.uint32_t(len(r.Header))
			continue
		}
		b = append(b, f...)
		it.req.lens[i] = C.uint32_t(len(f))
	}
	for i, v := range r.PathValues {
		b = append(b, v...)
		it.req.param_lens[i] = C.uint32_t(len(v))
	}
	b = append(b, 0) // never empty, so &b[0] is valid
	it.strs = b
	it.req.route_id = C.int64_t(r.RouteID)
	it.req.client_port = C.int64_t(r.ClientPort)
	it.req.n_params = C.uint32_t(len(r.PathValues))

	var body *C.char
	if len(r.Body) > 0 {
		body = (*C.char)(unsafe.Pointer(&r.Body[0]))
	}
	var cresp C.gfa_response
	var cerr C.gfa_error
	if C.gfa_worker_dispatch(it.c, &it.req, (*C.char)(unsafe.Pointer(&b[0])), body,
		C.size_t(len(r.Body)), &cresp, &cerr) != 0 {
		return nil, takeError(&cerr)
	}
	hl, bl := int(cresp.headers_len), int(cresp.body_len)
	data := C.GoBytes(unsafe.Pointer(cresp.data), C.int(hl+bl))
	C.gfa_response_free(&cresp)
	return &server.Response{Status: int(cresp.status), Header: data[:hl:hl], Body: data[hl:]}, nil
}

// interrupt raises TimeoutError in the running request (see
// gfa_worker_interrupt). Safe to call from any goroutine while another runs
// dispatch.
func (it *interp) interrupt(escalate bool) {
	e := C.int(0)
	if escalate {
		e = 1
	}
	C.gfa_worker_interrupt(it.c, e)
}

// guard applies the audit-hook policy to the interpreter (see
// gfa_worker_guard).
func (it *interp) guard(allowSubprocess, allowFFI bool) {
	var allow C.int
	if allowSubprocess {
		allow |= C.GFA_ALLOW_SUBPROCESS
	}
	if allowFFI {
		allow |= C.GFA_ALLOW_FFI
	}
	C.gfa_worker_guard(it.c, allow)
}

// trackMemory installs the accounting allocator; call before initMain.
func trackMemory() { C.gfa_track_memory() }

// setLimit caps the bytes its requests may hold (0: no cap).
func (it *interp) setLimit(bytes int64) { C.gfa_worker_set_limit(it.c, C.int64_t(bytes)) }

// memory is the bytes its requests hold now (with trackMemory only).
func (it *interp) memory() int64 { return int64(C.gfa_worker_memory(it.c)) }

// refused is the number of operations the guard refused in it.
func (it *interp) refused() uint64 { return uint64(C.gfa_worker_refused(it.c)) }

// kill is not possible for an interpreter: a handler stuck in C code can
// only be abandoned.
func (it *interp) kill() bool { return false }

// serveFrames runs the worker-process request loop in C until the server
// closes in (see gfa_serve_frames).
func (it *interp) serveFrames(in, out int) error {
	if C.gfa_serve_frames(it.c, C.int(in), C.int(out)) != 0 {
		return errors.New("the frame stream from the server broke")
	}
	return nil
}

// close ends the sub-interpreter after running the app's shutdown hooks.
func (it *interp) close() {
	C.gfa_worker_free(it.c)
	it.c = nil
}
