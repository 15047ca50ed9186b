// Package pyruntime is the only part of GoFastAPI that talks to CPython.
//
// It embeds CPython 3.13+ through cgo and runs the app in a Pool of workers:
// own-GIL sub-interpreters, worker processes, or shares of the main
// interpreter. A worker is used by one goroutine at a time, taken from the
// pool's free list; that goroutine (the one serving the HTTP request) calls
// into the interpreter on its own OS thread, so no request is handed from
// thread to thread. No Python object crosses interpreters: requests and
// responses cross as plain bytes (docs/protocol.md).
//
// The C boundary is bridge.h/bridge.c; cgo.go is the only Go file that calls
// C. Everything else (pool, queue, start-up) is plain Go.
package pyruntime
