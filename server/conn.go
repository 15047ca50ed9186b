package server

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"sync/atomic"
)

// connInfo is what the edge knows about one client connection. It lives in
// the connection's base context, so it costs one allocation per connection.
type connInfo struct {
	guard *guardConn           // HTTP/1 framing guard; nil on HTTP/2
	tls   *tls.ConnectionState // nil on plain connections
	sem   chan struct{}        // HTTP/2: slots for requests in flight toward Python; nil on HTTP/1
}

type connInfoKey struct{}

func infoOf(r *http.Request) *connInfo {
	ci, _ := r.Context().Value(connInfoKey{}).(*connInfo)
	return ci
}

// isTLS reports whether r arrived over TLS (r.TLS is nil for HTTP/1
// connections whose TLS this package terminated itself).
func isTLS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	ci := infoOf(r)
	return ci != nil && ci.tls != nil
}

// guardConn is an HTTP/1 connection whose reads are watched by a
// headScanner. Reads happen on the connection's serving goroutine only
// (net/http's background read included), so the scanner needs no lock; the
// verdict is read by handlers through an atomic.
type guardConn struct {
	net.Conn
	scan headScanner
	bad  atomic.Bool
	info *connInfo
}

func newGuardConn(c net.Conn, state *tls.ConnectionState) *guardConn {
	g := &guardConn{Conn: c}
	g.info = &connInfo{guard: g, tls: state}
	return g
}

func (g *guardConn) Read(b []byte) (int, error) {
	n, err := g.Conn.Read(b)
	if n > 0 && !g.bad.Load() {
		g.scan.feed(b[:n])
		if g.scan.bad {
			g.bad.Store(true)
		}
	}
	return n, err
}

// connContext is http.Server.ConnContext: it attaches the connInfo.
func connContext(ctx context.Context, c net.Conn) context.Context {
	if g, ok := c.(*guardConn); ok {
		return context.WithValue(ctx, connInfoKey{}, g.info)
	}
	return context.WithValue(ctx, connInfoKey{}, &connInfo{})
}

// guardListener wraps every accepted plain connection in a guardConn.
type guardListener struct{ net.Listener }

func (l guardListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return newGuardConn(c, nil), nil
}
