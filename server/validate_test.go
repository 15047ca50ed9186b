package server

import (
	"encoding/json"
	"net/http/httptest"
	"testing"
)

func scalar(kind string, checks ...Check) ScalarPlan {
	return ScalarPlan{Kind: kind, Checks: checks, ParseError: [2]string{kind + "_parsing", "p"},
		TypeError: [2]string{kind + "_type", "t"}, FractionError: [2]string{"int_from_float", "f"}}
}

func TestScalarFromString(t *testing.T) {
	ge1 := Check{Op: "ge", Limit: 1, Type: "greater_than_equal", Msg: "ge"}
	max3 := Check{Op: "max_length", Limit: 3, Type: "string_too_long", Msg: "long"}
	tests := []struct {
		plan     ScalarPlan
		in       string
		wantType string // "" valid, "undecided" for Python to judge
	}{
		{scalar("int"), "42", ""},
		{scalar("int"), " +7. ", ""},
		{scalar("int"), "5.5", "int_parsing"},
		{scalar("int"), "abc", "int_parsing"},
		{scalar("int"), "", "int_parsing"},
		{scalar("int", ge1), "0", "greater_than_equal"},
		{scalar("int"), "99999999999999999999", "undecided"},
		{scalar("int"), "٣", "undecided"}, // non-ASCII digit: Python's rules, not ours
		{scalar("float"), "1e3", ""},
		{scalar("float"), "-Infinity", ""},
		{scalar("float", ge1), "nan", "greater_than_equal"},
		{scalar("float"), "1e", "float_parsing"},
		{scalar("bool"), "YES", ""},
		{scalar("bool"), "2", "bool_parsing"},
		{scalar("str", max3), "abcd", "string_too_long"},
		{scalar("str", max3), "abc", ""},
	}
	for _, tt := range tests {
		t.Run(tt.plan.Kind+"/"+tt.in, func(t *testing.T) {
			got := func() (typ string) {
				defer func() {
					if recover() != nil {
						typ = "undecided"
					}
				}()
				if e := tt.plan.fromString(tt.in); e != nil {
					return e.Type
				}
				return ""
			}()
			if got != tt.wantType {
				t.Errorf("fromString(%q) = %q; want %q", tt.in, got, tt.wantType)
			}
		})
	}
}

func TestBodyPlan(t *testing.T) {
	plan := &ValidationPlan{Body: &BodyPlan{Required: true, TypeError: [2]string{"dataclass_type", "d"}, Fields: []FieldPlan{
		{Name: "name", Required: true, ScalarPlan: scalar("str")},
		{Name: "count", Required: false, ScalarPlan: scalar("int")},
	}}}
	tests := []struct {
		body    string
		want    []string // error types in order
		decided bool
	}{
		{`{"name": "a", "count": 2}`, nil, true},
		{`{"name": "a", "count": 2.0}`, nil, true},
		{`{"name": "a", "count": true}`, nil, true}, // bool is an int in Python
		{`{"count": 2.5}`, []string{"missing", "int_from_float"}, true},
		{`{"name": 5, "count": null}`, []string{"str_type", "int_type"}, true},
		{`[]`, []string{"dataclass_type"}, true},
		{``, []string{"missing"}, true},
		{`{"name": "a", "count": 123456789012345678901}`, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			errs, decided := plan.check(httptest.NewRequest("POST", "/", nil), nil, []byte(tt.body))
			var got []string
			for _, e := range errs {
				got = append(got, e.Type)
			}
			gj, _ := json.Marshal(got)
			wj, _ := json.Marshal(tt.want)
			if decided != tt.decided || string(gj) != string(wj) {
				t.Errorf("check = %s, decided %v; want %s, %v", gj, decided, wj, tt.decided)
			}
		})
	}
}
