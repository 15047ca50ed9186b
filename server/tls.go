package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// TLSConfig names the certificate files and the TLS policy.
type TLSConfig struct {
	CertFile     string // PEM certificate chain
	KeyFile      string // PEM private key
	ClientCAFile string // PEM CAs; when set, clients must present a certificate they signed
	MinVersion   string // "1.2" (default) or "1.3"
}

// Enabled reports whether TLS is configured.
func (c TLSConfig) Enabled() bool { return c.CertFile != "" || c.KeyFile != "" }

// intermediateSuites are the TLS 1.2 suites of Mozilla's "intermediate"
// profile: ECDHE key exchange (forward secrecy) with AEAD ciphers only. Go's
// default list still has CBC suites; TLS 1.3 suites are not configurable
// and are all AEAD.
var intermediateSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// groups are the key exchange groups, hybrid post-quantum first; Go's
// default also offers P-521, which the intermediate profile leaves out.
var groups = []tls.CurveID{tls.X25519MLKEM768, tls.X25519, tls.CurveP256, tls.CurveP384}

// certStore holds the serving certificate and swaps it on Reload, so a
// renewed certificate is picked up without dropping connections.
type certStore struct {
	certFile, keyFile string
	cert              atomic.Pointer[tls.Certificate]
}

// Reload reads the key pair again. On error the old certificate stays.
func (s *certStore) Reload() error {
	cert, err := tls.LoadX509KeyPair(s.certFile, s.keyFile)
	if err != nil {
		return fmt.Errorf("loading TLS key pair (--tls-cert %s, --tls-key %s): %w", s.certFile, s.keyFile, err)
	}
	s.cert.Store(&cert)
	return nil
}

// newTLS validates c and builds the tls.Config. A missing, unreadable or
// mismatched key pair is an error naming the files.
func newTLS(c TLSConfig) (*tls.Config, *certStore, error) {
	if c.CertFile == "" || c.KeyFile == "" {
		return nil, nil, errors.New("TLS needs both --tls-cert and --tls-key")
	}
	store := &certStore{certFile: c.CertFile, keyFile: c.KeyFile}
	if err := store.Reload(); err != nil {
		return nil, nil, err
	}
	cfg := &tls.Config{
		MinVersion:       tls.VersionTLS12,
		CipherSuites:     intermediateSuites,
		CurvePreferences: groups,
		NextProtos:       []string{"h2", "http/1.1"},
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return store.cert.Load(), nil
		},
	}
	switch c.MinVersion {
	case "", "1.2":
	case "1.3":
		cfg.MinVersion = tls.VersionTLS13
	default:
		return nil, nil, fmt.Errorf("--tls-min-version %q: expected 1.2 or 1.3", c.MinVersion)
	}
	if c.ClientCAFile != "" {
		pem, err := os.ReadFile(c.ClientCAFile)
		if err != nil {
			return nil, nil, fmt.Errorf("reading --tls-client-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, nil, fmt.Errorf("--tls-client-ca %s holds no PEM certificate", c.ClientCAFile)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, store, nil
}

// tlsListener terminates TLS itself, so that HTTP/1 connections can be
// wrapped in a guardConn after decryption (net/http only parses HTTP/1 over
// TLS when it owns the *tls.Conn, which leaves no place for the guard).
// Handshakes run concurrently with a deadline; "h2" connections go to
// serveH2, the rest are returned by Accept.
type tlsListener struct {
	net.Listener
	cfg       *tls.Config
	timeout   time.Duration // handshake deadline
	serveH2   func(*tls.Conn)
	log       *slog.Logger
	ready     chan net.Conn
	done      chan struct{}
	closeOnce sync.Once
}

func newTLSListener(ln net.Listener, cfg *tls.Config, timeout time.Duration, serveH2 func(*tls.Conn), log *slog.Logger) *tlsListener {
	l := &tlsListener{Listener: ln, cfg: cfg, timeout: timeout, serveH2: serveH2, log: log,
		ready: make(chan net.Conn), done: make(chan struct{})}
	go l.acceptLoop()
	return l
}

func (l *tlsListener) acceptLoop() {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(5 * time.Millisecond)
				continue
			}
			l.Close()
			return
		}
		go l.handshake(c)
	}
}

func (l *tlsListener) handshake(c net.Conn) {
	tc := tls.Server(c, l.cfg)
	ctx, cancel := context.WithTimeout(context.Background(), l.timeout)
	err := tc.HandshakeContext(ctx)
	cancel()
	if err != nil {
		l.log.Warn("TLS handshake failed", "event", "tls_handshake_failed", "client", c.RemoteAddr().String(), "err", err.Error())
		c.Close()
		return
	}
	state := tc.ConnectionState()
	if state.NegotiatedProtocol == "h2" {
		l.serveH2(tc)
		return
	}
	select {
	case l.ready <- newGuardConn(tc, &state):
	case <-l.done:
		tc.Close()
	}
}

func (l *tlsListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ready:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *tlsListener) Close() error {
	err := net.ErrClosed
	l.closeOnce.Do(func() {
		close(l.done)
		err = l.Listener.Close()
	})
	return err
}
