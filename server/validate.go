package server

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// A ValidationPlan is a route's input check that Go runs before Python
// (docs/protocol.md §2.2). Python exports one only when it can judge the
// whole input: path and query scalars and at most one dataclass body of
// scalar fields. The rules mirror gofastapi's _scalars and _constraints;
// every message comes from Python, Go adds only the input. When a value
// falls outside what these rules decide exactly (non-ASCII text, integers
// beyond 2^53, ...), Go leaves the whole request to Python.
type ValidationPlan struct {
	Params []ParamPlan `json:"params"`
	Body   *BodyPlan   `json:"body"`
}

// ParamPlan checks one path or query parameter.
type ParamPlan struct {
	Source   string `json:"source"` // "path" or "query"
	Name     string `json:"name"`
	Loc      []any  `json:"loc"`
	Required bool   `json:"required"`
	ScalarPlan
	index int // path parameters: position in Route.PathParams, set by ParseApp
}

// BodyPlan checks a JSON object body read into a dataclass.
type BodyPlan struct {
	Required  bool            `json:"required"`
	Fields    []FieldPlan     `json:"fields"`
	TypeError [2]string       `json:"type_error"`
	TypeCtx   json.RawMessage `json:"type_ctx"`
}

// FieldPlan checks one field of the body.
type FieldPlan struct {
	Name     string `json:"name"`
	Required bool   `json:"required"`
	ScalarPlan
}

// ScalarPlan is how one int, float, str or bool value is converted and
// constrained.
type ScalarPlan struct {
	Kind          string    `json:"kind"`
	Checks        []Check   `json:"checks"`
	ParseError    [2]string `json:"parse_error"`
	TypeError     [2]string `json:"type_error"`
	FractionError [2]string `json:"fraction_error"`
}

// Check is one constraint and the error it gives.
type Check struct {
	Op    string          `json:"op"` // gt, ge, lt, le, min_length, max_length
	Limit float64         `json:"limit"`
	Type  string          `json:"type"`
	Msg   string          `json:"msg"`
	Ctx   json.RawMessage `json:"ctx"`
}

// validationError is one entry of a 422's detail.
type validationError struct {
	Type  string          `json:"type"`
	Loc   []any           `json:"loc"`
	Msg   string          `json:"msg"`
	Input any             `json:"input"`
	Ctx   json.RawMessage `json:"ctx,omitempty"`
}

// errUndecided: Go cannot judge this input exactly; Python will.
type undecided struct{}

var (
	intRE    = regexp.MustCompile(`^ *([+-]?[0-9]+)(?:\.0*)? *$`)
	floatRE  = regexp.MustCompile(`(?i)^ *[+-]?(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf|infinity|nan) *$`)
	trueSet  = map[string]bool{"1": true, "on": true, "t": true, "true": true, "y": true, "yes": true}
	falseSet = map[string]bool{"0": true, "off": true, "f": true, "false": true, "n": true, "no": true}
)

// maxExact bounds integers that float64 holds exactly.
const maxExact = 1 << 53

// check runs the plan. It returns the errors (nil when the input is
// valid) and whether Go could decide; undecided requests go to Python.
func (p *ValidationPlan) check(r *http.Request, pathValues []string, body []byte) (errs []validationError, decided bool) {
	defer func() {
		if recover() != nil { // an undecided value
			errs, decided = nil, false
		}
	}()
	var query url.Values
	for _, pp := range p.Params {
		var raw string
		present := true
		if pp.Source == "path" {
			raw = pathValues[pp.index]
		} else {
			if query == nil {
				var err error
				if query, err = url.ParseQuery(r.URL.RawQuery); err != nil {
					return nil, false
				}
			}
			vs := query[pp.Name]
			present = len(vs) > 0
			if present {
				raw = vs[len(vs)-1] // Python's QueryParams keeps the last value
			}
		}
		if !present {
			if pp.Required {
				errs = append(errs, validationError{Type: "missing", Loc: pp.Loc, Msg: "Field required"})
			}
			continue
		}
		if e := pp.ScalarPlan.fromString(raw); e != nil {
			e.Loc = pp.Loc
			errs = append(errs, *e)
		}
	}
	if p.Body != nil {
		errs = append(errs, p.Body.check(body)...)
	}
	return errs, true
}

// fromString converts a path or query string as _scalars does.
func (s *ScalarPlan) fromString(raw string) *validationError {
	for i := 0; i < len(raw); i++ {
		if raw[i] < 0x20 || raw[i] > 0x7e {
			panic(undecided{}) // Python's \s and lower() reach beyond ASCII
		}
	}
	fail := func(te [2]string) *validationError {
		return &validationError{Type: te[0], Msg: te[1], Input: raw}
	}
	switch s.Kind {
	case "str":
		return s.constrain(float64(len(raw)), raw)
	case "bool":
		l := strings.ToLower(raw)
		if !trueSet[l] && !falseSet[l] {
			return fail(s.ParseError)
		}
		return nil
	case "int":
		m := intRE.FindStringSubmatch(raw)
		if m == nil {
			return fail(s.ParseError)
		}
		return s.constrain(exactInt(m[1]), raw)
	case "float":
		if !floatRE.MatchString(raw) {
			return fail(s.ParseError)
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(raw), 64)
		if err != nil && !math.IsInf(f, 0) && f != 0 {
			panic(undecided{})
		}
		return s.constrain(f, raw)
	}
	panic(undecided{})
}

// exactInt parses a decimal integer that float64 holds exactly.
func exactInt(s string) float64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n > maxExact || n < -maxExact {
		panic(undecided{})
	}
	return float64(n)
}

// fromJSON converts a decoded JSON value (json.Number for numbers) as
// _scalars does for a dataclass field.
func (s *ScalarPlan) fromJSON(v any) *validationError {
	fail := func(te [2]string) *validationError {
		return &validationError{Type: te[0], Msg: te[1], Input: v}
	}
	switch x := v.(type) {
	case string:
		if s.Kind == "str" {
			return s.constrain(float64(len([]rune(x))), v)
		}
		e := s.fromString(x)
		if e != nil {
			e.Input = v
		}
		return e
	case bool:
		switch s.Kind {
		case "str":
			return fail(s.TypeError)
		case "bool":
			return nil
		}
		n := 0.0 // bool is an int in Python: True is 1
		if x {
			n = 1
		}
		return s.constrain(n, v)
	case json.Number:
		isFloat := strings.ContainsAny(string(x), ".eE")
		var f float64
		if isFloat {
			var err error
			if f, err = strconv.ParseFloat(string(x), 64); err != nil {
				panic(undecided{}) // out of range: Python gets inf
			}
		} else {
			f = exactInt(string(x))
		}
		switch s.Kind {
		case "str":
			return fail(s.TypeError)
		case "bool":
			if f != 0 && f != 1 {
				return fail(s.ParseError)
			}
			return nil
		case "int":
			if isFloat && f != math.Trunc(f) {
				return fail(s.FractionError)
			}
			if isFloat && math.Abs(f) > maxExact {
				panic(undecided{})
			}
		}
		return s.constrain(f, v)
	default: // null, object, array
		return fail(s.TypeError)
	}
}

// constrain applies the checks in order; n is the number or the length.
func (s *ScalarPlan) constrain(n float64, input any) *validationError {
	for _, c := range s.Checks {
		bad := false
		switch c.Op {
		case "gt":
			bad = !(n > c.Limit)
		case "ge":
			bad = !(n >= c.Limit)
		case "lt":
			bad = !(n < c.Limit)
		case "le":
			bad = !(n <= c.Limit)
		case "min_length":
			bad = n < c.Limit
		case "max_length":
			bad = n > c.Limit
		default:
			panic(undecided{})
		}
		if bad {
			return &validationError{Type: c.Type, Msg: c.Msg, Input: input, Ctx: c.Ctx}
		}
	}
	return nil
}

// check validates a JSON body as the dataclass converter does.
func (b *BodyPlan) check(body []byte) []validationError {
	var v any
	if len(bytes.TrimSpace(body)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if dec.Decode(&v) != nil || dec.More() {
			panic(undecided{}) // malformed: checkJSON reports it
		}
		if _, err := dec.Token(); err != io.EOF {
			panic(undecided{}) // trailing data
		}
	}
	if v == nil {
		if b.Required {
			return []validationError{{Type: "missing", Loc: []any{"body"}, Msg: "Field required"}}
		}
		return nil
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return []validationError{{Type: b.TypeError[0], Loc: []any{"body"}, Msg: b.TypeError[1], Input: v, Ctx: b.TypeCtx}}
	}
	var errs []validationError
	for _, f := range b.Fields {
		raw, present := obj[f.Name]
		if !present {
			if f.Required {
				errs = append(errs, validationError{Type: "missing", Loc: []any{"body", f.Name}, Msg: "Field required", Input: obj})
			}
			continue
		}
		if e := f.ScalarPlan.fromJSON(raw); e != nil {
			e.Loc = []any{"body", f.Name}
			errs = append(errs, *e)
		}
	}
	return errs
}

// writeValidationErrors answers 422 with FastAPI's shape.
func writeValidationErrors(w http.ResponseWriter, errs []validationError) {
	writeDetail(w, http.StatusUnprocessableEntity, errs)
}
