package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
)

// DefaultSecurityHeaders are sent on every response when security_headers
// is true. Strict-Transport-Security is added on TLS connections only.
var DefaultSecurityHeaders = map[string]string{
	"X-Content-Type-Options":       "nosniff",
	"X-Frame-Options":              "DENY",
	"Referrer-Policy":              "strict-origin-when-cross-origin",
	"Content-Security-Policy":      "default-src 'self'; frame-ancestors 'none'",
	"Cross-Origin-Opener-Policy":   "same-origin",
	"Cross-Origin-Resource-Policy": "same-origin",
	"Permissions-Policy":           "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}

// defaultHSTS is the Strict-Transport-Security value (one year).
const defaultHSTS = "max-age=31536000; includeSubDomains"

// securityHeaders is the parsed security_headers setting.
type securityHeaders struct {
	plain [][2]string // sent on every response, canonical names
	hsts  string      // sent on TLS responses only; "" for none
}

// parseSecurityHeaders reads security_headers: true (defaults), false (none)
// or an object. An object extends the defaults: its entries replace the
// default with the same name, a null value removes one, and the key
// "inherit_defaults": false starts from nothing instead. Strict-Transport-
// Security in the object sets the HSTS value (still TLS only).
func parseSecurityHeaders(raw json.RawMessage) (*securityHeaders, error) {
	set := map[string]string{}
	hsts := defaultHSTS
	var on bool
	if len(raw) == 0 || json.Unmarshal(raw, &on) == nil {
		if len(raw) > 0 && !on {
			return &securityHeaders{}, nil
		}
		for k, v := range DefaultSecurityHeaders {
			set[k] = v
		}
	} else {
		var obj map[string]*json.RawMessage
		if err := json.Unmarshal(raw, &obj); err != nil {
			return nil, fmt.Errorf("security_headers: expected true, false or an object of header name to value, got %s", raw)
		}
		inherit := true
		if v, ok := obj["inherit_defaults"]; ok {
			if v == nil || json.Unmarshal(*v, &inherit) != nil {
				return nil, fmt.Errorf("security_headers: inherit_defaults must be true or false")
			}
			delete(obj, "inherit_defaults")
		}
		if inherit {
			for k, v := range DefaultSecurityHeaders {
				set[k] = v
			}
		} else {
			hsts = ""
		}
		for name, v := range obj {
			key := http.CanonicalHeaderKey(name)
			if !validName([]byte(name)) {
				return nil, fmt.Errorf("security_headers: %q is not a valid header name", name)
			}
			if v == nil {
				delete(set, key)
				if key == "Strict-Transport-Security" {
					hsts = ""
				}
				continue
			}
			var s string
			if err := json.Unmarshal(*v, &s); err != nil || !validValue([]byte(s)) {
				return nil, fmt.Errorf("security_headers: the value of %q must be a string without control characters", name)
			}
			if key == "Strict-Transport-Security" {
				hsts = s
				continue
			}
			set[key] = s
		}
	}
	sh := &securityHeaders{hsts: hsts}
	for k, v := range set {
		sh.plain = append(sh.plain, [2]string{k, v})
	}
	sort.Slice(sh.plain, func(i, j int) bool { return sh.plain[i][0] < sh.plain[j][0] })
	return sh, nil
}

// withSecurityHeaders sets the configured headers before next runs, so
// error pages carry them too. A handler that sets the same header replaces
// the configured value (see writeResponse).
func withSecurityHeaders(sh *securityHeaders, next http.Handler) http.Handler {
	if len(sh.plain) == 0 && sh.hsts == "" {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		for _, kv := range sh.plain {
			h[kv[0]] = []string{kv[1]}
		}
		if sh.hsts != "" && isTLS(r) {
			h["Strict-Transport-Security"] = []string{sh.hsts}
		}
		next.ServeHTTP(w, r)
	})
}
