package platform_test

import (
	"strings"
	"testing"

	"github.com/avenir-normandie/avenir/services/platform"
)

func TestCheckRequestID(t *testing.T) {
	for id, ok := range map[string]bool{
		"01JD8Z6Q5Y":               true,
		"b3f0c2d4-0000-4000-8000-": true,
		"":                         false,
		"has space":                false,
		"tab\there":                false,
		strings.Repeat("x", 129):   false,
		strings.Repeat("x", 128):   true,
	} {
		if got := platform.CheckRequestID(id) == ""; got != ok {
			t.Errorf("CheckRequestID(%q) ok=%v, want %v", id, got, ok)
		}
	}
}

func TestCheckID(t *testing.T) {
	for id, ok := range map[string]bool{
		"0193a8c4-5b7e-7c2d-9a1f-3e4d5c6b7a89": true,
		"0193A8C4-5B7E-7C2D-9A1F-3E4D5C6B7A89": false,
		"":                                     false,
		"42":                                   false,
		"avenir.intake.>":                      false,
	} {
		if got := platform.CheckID(id) == ""; got != ok {
			t.Errorf("CheckID(%q) ok=%v, want %v", id, got, ok)
		}
	}
}
