package server

import (
	"context"
	"errors"
	"time"
)

// A Request is one HTTP request that matched a route, in the plain form the
// Python side receives (docs/protocol.md §2). A Dispatcher must not retain it
// after Dispatch returns.
type Request struct {
	RouteID    int
	Method     string
	Path       string // decoded path
	RawQuery   string // without '?', still percent-encoded
	Header     []byte // "name: value\r\n" lines, lower-case names
	Body       []byte
	ClientHost string
	ClientPort int
	Scheme     string // "http" or "https"
	RequestID  string
	PathValues []string      // values of Route.PathParams, in order
	Timeout    time.Duration // the handler's deadline; 0 means none
	// Abandon, if set, is called (from another goroutine) when the handler
	// is stuck past its deadline and grace period and Dispatch will not
	// return soon: it must answer the client itself.
	Abandon func()
}

// A Response is what the Python handler produced.
type Response struct {
	Status int
	Header []byte // "Name: value\r\n" lines, already validated by Python
	Body   []byte
}

// A Dispatcher runs one request through a Python handler.
// Implementations must be safe for concurrent use. After Close, Dispatch
// returns ErrClosed.
type Dispatcher interface {
	Dispatch(ctx context.Context, req *Request) (*Response, error)
	Close() error
}

var (
	// ErrOverloaded is returned by Dispatch when the queue of requests
	// waiting for an interpreter is full; the edge answers 503.
	ErrOverloaded = errors.New("dispatch queue is full")
	// ErrClosed is returned by Dispatch after Close.
	ErrClosed = errors.New("dispatcher is closed")
	// ErrWorkerLost is returned when the worker serving the request died
	// (a crashed worker process); the edge answers 502.
	ErrWorkerLost = errors.New("worker died while serving the request")
)
