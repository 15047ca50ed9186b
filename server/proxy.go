package server

import (
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
)

// trustedProxies is the set of peers whose forwarding header is believed.
// Only one header is read (X-Forwarded-For, or Forwarded when forwarded is
// set): a proxy that writes one but passes the other through would
// otherwise let clients choose their own address.
type trustedProxies struct {
	nets      []netip.Prefix
	forwarded bool
}

// ParseTrustedProxies parses comma-separated CIDRs or addresses
// ("10.0.0.0/8, 127.0.0.1").
func ParseTrustedProxies(s string) (trustedProxies, error) {
	var out trustedProxies
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			ip, err := netip.ParseAddr(f)
			if err != nil {
				return out, fmt.Errorf("trusted proxies: %q is not an IP address or CIDR (e.g. 10.0.0.0/8)", f)
			}
			out.nets = append(out.nets, netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return out, fmt.Errorf("trusted proxies: %q is not a CIDR (e.g. 10.0.0.0/8)", f)
		}
		out.nets = append(out.nets, p.Masked())
	}
	return out, nil
}

func (t trustedProxies) trusts(ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, p := range t.nets {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// clientAddr returns the client's address for r: the socket peer, unless the
// peer is a trusted proxy, in which case the right-most address of the
// forwarding chain that is not itself a trusted proxy. Forwarded (RFC 7239)
// is read instead of X-Forwarded-For when so configured. A spoofed header
// from an untrusted peer is ignored, so it cannot change the client's
// rate-limit bucket; entries a client prepends are never reached.
func (t trustedProxies) clientAddr(r *http.Request) string {
	host, _ := splitHostPort(r.RemoteAddr)
	peer, err := netip.ParseAddr(host)
	if len(t.nets) == 0 || err != nil || !t.trusts(peer) {
		return r.RemoteAddr
	}
	var chain []string
	if t.forwarded {
		chain = forwardedFor(r.Header.Values("Forwarded"))
	} else {
		for _, v := range r.Header.Values("X-Forwarded-For") {
			for _, f := range strings.Split(v, ",") {
				chain = append(chain, strings.TrimSpace(f))
			}
		}
	}
	for i := len(chain) - 1; i >= 0; i-- {
		ip, err := netip.ParseAddr(strings.Trim(stripPort(chain[i]), "[]"))
		if err != nil {
			break // garbage in the chain: stop at what we can prove
		}
		if !t.trusts(ip) {
			return netip.AddrPortFrom(ip.Unmap(), 0).String()
		}
	}
	return r.RemoteAddr
}

// forwardedFor extracts the for= values of Forwarded headers, in order.
func forwardedFor(values []string) []string {
	var out []string
	for _, v := range values {
		for _, elem := range strings.Split(v, ",") {
			for _, pair := range strings.Split(elem, ";") {
				k, val, ok := strings.Cut(strings.TrimSpace(pair), "=")
				if ok && strings.EqualFold(k, "for") {
					out = append(out, strings.Trim(val, `"`))
				}
			}
		}
	}
	return out
}

// stripPort removes a port from "1.2.3.4:80" or "[::1]:80".
func stripPort(s string) string {
	if strings.HasPrefix(s, "[") {
		if i := strings.Index(s, "]"); i > 0 {
			return s[1:i]
		}
	}
	if strings.Count(s, ":") == 1 {
		h, p, _ := strings.Cut(s, ":")
		if _, err := strconv.Atoi(p); err == nil {
			return h
		}
	}
	return s
}

// withClientAddr replaces r.RemoteAddr with the resolved client address when
// the peer is a trusted proxy, so logs, rate limits and Python all see the
// real client. The socket peer stays available as the "peer" log field.
func withClientAddr(t trustedProxies, next http.Handler) http.Handler {
	if len(t.nets) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.RemoteAddr = t.clientAddr(r)
		next.ServeHTTP(w, r)
	})
}
