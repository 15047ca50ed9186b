// Package server is GoFastAPI's HTTP edge: listeners, the middleware chain,
// routing built from the app's route table, error pages and the access log.
//
// It never talks to Python itself. It consumes a Dispatcher, which package
// pyruntime implements, and its tests use a fake one.
package server
