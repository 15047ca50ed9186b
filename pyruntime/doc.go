// Package pyruntime is the only part of GoFastAPI that talks to CPython.
//
// It embeds CPython 3.13+ through cgo and runs the app in a Pool of own-GIL
// sub-interpreters. Each interpreter is owned by one goroutine locked to its
// OS thread for the interpreter's whole life; other goroutines hand it work
// through the pool's bounded queue. No Python object crosses interpreters:
// requests and responses cross as plain bytes (docs/protocol.md).
//
// The C boundary is bridge.h/bridge.c; cgo.go is the only Go file that calls
// C. Everything else (pool, queue, start-up) is plain Go.
package pyruntime
