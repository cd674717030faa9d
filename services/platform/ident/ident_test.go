package ident_test

import (
	"strings"
	"testing"

	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/ident"
)

func TestCheckRequestID(t *testing.T) {
	for id, ok := range map[string]bool{
		"01JD8Z6Q5Y":               true,
		"b3f0c2d4-0000-4000-8000-": true,
		"":                         false,
		"has space":                false,
		"tab\there":                false,
		"nbsp\u00a0":               false,
		strings.Repeat("x", 129):   false,
		strings.Repeat("x", 128):   true,
	} {
		if got := ident.CheckRequestID(id) == ""; got != ok {
			t.Errorf("CheckRequestID(%q) ok=%v, want %v", id, got, ok)
		}
	}
}

func TestCheckID(t *testing.T) {
	for id, ok := range map[string]bool{
		"0193a8c4-5b7e-7c2d-9a1f-3e4d5c6b7a89":   true,
		"0193A8C4-5B7E-7C2D-9A1F-3E4D5C6B7A89":   false,
		"{0193a8c4-5b7e-7c2d-9a1f-3e4d5c6b7a89}": false,
		"":                                       false,
		"42":                                     false,
		"avenir.intake.>":                        false,
	} {
		if got := ident.CheckID(id) == ""; got != ok {
			t.Errorf("CheckID(%q) ok=%v, want %v", id, got, ok)
		}
	}
}

func TestCheckTerritory(t *testing.T) {
	for code, ok := range map[string]bool{
		"T01": true, "T18": true, "T99": true,
		"": false, "t05": false, "T5": false, "T005": false, "05": false, "T0\u0665": false, " T05": false, "T05.>": false,
	} {
		if got := ident.CheckTerritory(code) == ""; got != ok {
			t.Errorf("CheckTerritory(%q) ok=%v, want %v", code, got, ok)
		}
	}
}

func TestCheckCode(t *testing.T) {
	for code, ok := range map[string]bool{
		"OF-14_CAEN": true, "x": true, strings.Repeat("a", 64): true,
		"": false, strings.Repeat("a", 65): false, "a.b": false, "a b": false, "a*": false, "é": false,
	} {
		if got := ident.CheckCode(code) == ""; got != ok {
			t.Errorf("CheckCode(%q) ok=%v, want %v", code, got, ok)
		}
	}
}

func TestViolationsNameTheFields(t *testing.T) {
	var v apperr.Violations
	ident.RequestID(&v, "")
	ident.ID(&v, "learner_id", "nope")
	ident.OptionalID(&v, "referent_id", "")
	ident.Territory(&v, "territory_code", "T5")
	ident.OptionalTerritory(&v, "filter.territory", "")
	ident.Code(&v, "operator_id", "a b")
	ident.OptionalCode(&v, "session", "")
	e, _ := v.Err().(*apperr.Error)
	if e == nil {
		t.Fatal("no error")
	}
	var fields []string
	for _, f := range e.Fields {
		fields = append(fields, f.Field)
	}
	if got := strings.Join(fields, ","); got != "request_id,learner_id,territory_code,operator_id" {
		t.Fatalf("fields %s", got)
	}
}
