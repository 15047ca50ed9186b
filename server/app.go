package server

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// ProtocolVersion is the version of docs/protocol.md this server speaks.
const ProtocolVersion = 2

// App is the description an app exports at load time (docs/protocol.md §1):
// its settings and its route table. It is immutable after ParseApp.
type App struct {
	Protocol    int      `json:"protocol"`
	Title       string   `json:"title"`
	Version     string   `json:"version"`
	Debug       bool     `json:"debug"`
	Settings    Settings `json:"settings"`
	Routes      []Route  `json:"routes"`
	Fingerprint string   `json:"fingerprint"`
}

// Settings are the edge settings declared on GoFastAPI(...), already
// normalised by Python.
type Settings struct {
	CORSOrigins     []string        `json:"cors_origins"`
	CORSMethods     []string        `json:"cors_methods"`
	CORSHeaders     []string        `json:"cors_headers"`
	CORSCredentials bool            `json:"cors_credentials"`
	CORSMaxAge      int             `json:"cors_max_age"`
	SecurityHeaders json.RawMessage `json:"security_headers"`
	MaxRequestSize  *int64          `json:"max_request_size"`
	RateLimit       *string         `json:"rate_limit"`
	Timeout         *float64        `json:"timeout"` // seconds
}

// Route is one entry of the app's route table.
type Route struct {
	ID         int      `json:"id"`
	Name       string   `json:"name"`
	Methods    []string `json:"methods"`
	Path       string   `json:"path"`
	GoPattern  string   `json:"go_pattern"`
	PathParams []string `json:"path_params"`
	StatusCode int      `json:"status_code"`
	// Edge settings of this route; nil or empty means the app's.
	MaxRequestSize *int64     `json:"max_request_size"`
	RateLimit      *string    `json:"rate_limit"` // "off" disables the app's limit
	MediaTypes     []string   `json:"media_types"`
	JWT            *JWTConfig `json:"jwt"`     // verified at the edge when set
	Timeout        *float64   `json:"timeout"` // seconds; nil: the app's
	// Validate, when set, is checked in Go before Python (protocol.md §2.2).
	Validate *ValidationPlan `json:"validate"`
}

// maxPathParams mirrors GFA_MAX_PARAMS in pyruntime/bridge.h.
const maxPathParams = 32

var (
	methodRE   = regexp.MustCompile(`^[A-Z]+$`)
	wildcardRE = regexp.MustCompile(`\{([^{}]*)\}`)
)

// ParseApp decodes and checks an app description.
func ParseApp(data []byte) (*App, error) {
	var app App
	if err := json.Unmarshal(data, &app); err != nil {
		return nil, fmt.Errorf("decoding app description: %w", err)
	}
	if app.Protocol != ProtocolVersion {
		return nil, fmt.Errorf("app description speaks protocol %d, this server speaks %d: the gofastapi Python package and the server come from different builds", app.Protocol, ProtocolVersion)
	}
	for i := range app.Routes {
		rt := &app.Routes[i]
		if rt.ID != i {
			return nil, fmt.Errorf("route %d has id %d", i, rt.ID)
		}
		if err := rt.check(); err != nil {
			return nil, fmt.Errorf("route %s %q: %w", strings.Join(rt.Methods, ","), rt.Path, err)
		}
	}
	return &app, nil
}

func (rt *Route) check() error {
	if len(rt.Methods) == 0 {
		return fmt.Errorf("no methods")
	}
	for _, m := range rt.Methods {
		if !methodRE.MatchString(m) {
			return fmt.Errorf("invalid method %q", m)
		}
	}
	if !strings.HasPrefix(rt.GoPattern, "/") {
		return fmt.Errorf("pattern %q does not start with /", rt.GoPattern)
	}
	var names []string
	for _, m := range wildcardRE.FindAllStringSubmatch(rt.GoPattern, -1) {
		name := strings.TrimSuffix(m[1], "...")
		if name != "$" {
			names = append(names, name)
		}
	}
	if len(names) != len(rt.PathParams) {
		return fmt.Errorf("pattern %q has %d wildcards, path_params lists %d", rt.GoPattern, len(names), len(rt.PathParams))
	}
	for i := range names {
		if names[i] != rt.PathParams[i] {
			return fmt.Errorf("path_params[%d] is %q, pattern says %q", i, rt.PathParams[i], names[i])
		}
	}
	if len(names) > maxPathParams {
		return fmt.Errorf("more than %d path parameters", maxPathParams)
	}
	if rt.Validate != nil {
		for i := range rt.Validate.Params {
			pp := &rt.Validate.Params[i]
			if pp.Source != "path" {
				continue
			}
			pp.index = slices.Index(rt.PathParams, pp.Name)
			if pp.index < 0 {
				return fmt.Errorf("validation plan names path parameter %q, which the pattern lacks", pp.Name)
			}
		}
	}
	return nil
}

// muxPattern returns the ServeMux pattern for method m. A pattern ending in
// "/" would match a whole subtree in ServeMux; FastAPI matches it exactly, so
// "{$}" is appended.
func (rt *Route) muxPattern(m string) string {
	p := rt.GoPattern
	if strings.HasSuffix(p, "/") {
		p += "{$}"
	}
	return m + " " + p
}
