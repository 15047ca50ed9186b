package server

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Overrides replace the app's own settings (GoFastAPI(...) keywords) with
// values from the config file, the environment or flags. A nil field keeps
// the app's value.
type Overrides struct {
	CORSOrigins     []string
	CORSMethods     []string
	CORSHeaders     []string
	CORSCredentials *bool
	CORSMaxAge      *int
	SecurityHeaders json.RawMessage // true, false or a JSON object
	MaxRequestSize  *int64
	RateLimit       *string
	Timeout         *time.Duration
}

// with returns s with o applied.
func (s Settings) with(o Overrides) Settings {
	if o.CORSOrigins != nil {
		s.CORSOrigins = o.CORSOrigins
	}
	if o.CORSMethods != nil {
		s.CORSMethods = o.CORSMethods
	}
	if o.CORSHeaders != nil {
		s.CORSHeaders = o.CORSHeaders
	}
	if o.CORSCredentials != nil {
		s.CORSCredentials = *o.CORSCredentials
	}
	if o.CORSMaxAge != nil {
		s.CORSMaxAge = *o.CORSMaxAge
	}
	if o.SecurityHeaders != nil {
		s.SecurityHeaders = o.SecurityHeaders
	}
	if o.MaxRequestSize != nil {
		s.MaxRequestSize = o.MaxRequestSize
	}
	if o.RateLimit != nil {
		s.RateLimit = o.RateLimit
	}
	if o.Timeout != nil {
		secs := o.Timeout.Seconds()
		s.Timeout = &secs
	}
	return s
}

// ParseSize parses a byte size: "1048576", "512KB", "10MB", "1GB" (KB, MB
// and GB are powers of 1024, as in nginx; KiB, MiB and GiB are accepted too).
func ParseSize(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KIB", 1 << 10}, {"MIB", 1 << 20}, {"GIB", 1 << 30}, {"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1}} {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is not a size: expected a positive number of bytes, optionally with KB, MB or GB (e.g. 10MB)", s)
	}
	return n * mult, nil
}
