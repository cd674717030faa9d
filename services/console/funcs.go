package console

import (
	"html/template"
	"strings"
	"time"

	"google.golang.org/protobuf/reflect/protoreflect"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	"github.com/avenir-normandie/avenir/services/console/fr"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
)

// funcs are the functions templates format with: every date, amount,
// duration and code is shown the French way.
func funcs() template.FuncMap {
	return template.FuncMap{
		"date":    dateOf,
		"fieldOf": fieldOf,
		"count":   countText,
		// territory is bound to the console's territories (newRenderer).
		"territory": func(code string) string { return code },
		"datetime":  func(t time.Time) string { return fr.DateTime(t) },
		"money":     fr.Money,
		"minutes":   fr.Minutes[int32],
		"int":       fr.Int[int],
		"label":     func(e protoreflect.Enum) string { return fr.Label(e) },
		"rome": func(code string) string {
			if l, ok := fr.ROMELabel(code); ok {
				return l
			}
			return code
		},
		"join": strings.Join,
	}
}

// dateOf formats a date of the API or a civil date as DD/MM/YYYY.
func dateOf(v any) string {
	switch d := v.(type) {
	case *commonv1.Date:
		return fr.Date(d)
	case civil.Date:
		if !d.Valid() {
			return ""
		}
		return fr.Date(civilpb.FromDate(d))
	}
	return ""
}

// formField is what the text-field and date-field templates show.
type formField struct {
	Name, Label, Value, Error, Hint, Autocomplete string
	Required                                      bool
}

// fieldOf describes a form field, with its problem if any.
func fieldOf(name, label, value string, p problems, required bool, hint, autocomplete string) formField {
	return formField{Name: name, Label: label, Value: value, Error: p.Fields[name], Required: required, Hint: hint, Autocomplete: autocomplete}
}
