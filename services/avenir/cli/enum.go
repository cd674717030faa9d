package cli

import (
	"fmt"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// enumFlag spells the values of a protobuf enum on the command line: the
// value name without its prefix, lower case, dashes for underscores
// (EXIT_REASON_FIXED_TERM_LONG is fixed-term-long).
type enumFlag struct {
	desc   protoreflect.EnumDescriptor
	prefix string
}

// name is the command-line spelling of n ("" for the unspecified value).
func (e enumFlag) name(n protoreflect.EnumNumber) string {
	v := e.desc.Values().ByNumber(n)
	if n == 0 || v == nil {
		return ""
	}
	return strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(string(v.Name()), e.prefix)), "_", "-")
}

// names lists the accepted spellings.
func (e enumFlag) names() string {
	var out []string
	for i := range e.desc.Values().Len() {
		if n := e.name(e.desc.Values().Get(i).Number()); n != "" {
			out = append(out, n)
		}
	}
	return strings.Join(out, ", ")
}

// parse reads the value of flag; an unknown spelling is a usage error.
func (e enumFlag) parse(flag, value string) (protoreflect.EnumNumber, error) {
	for i := range e.desc.Values().Len() {
		n := e.desc.Values().Get(i).Number()
		if name := e.name(n); name != "" && name == strings.ToLower(strings.TrimSpace(value)) {
			return n, nil
		}
	}
	return 0, usageError{fmt.Errorf("--%s: %q is not one of %s", flag, value, e.names())}
}

// optional reads the value of a flag that may be left empty (0).
func (e enumFlag) optional(flag, value string) (protoreflect.EnumNumber, error) {
	if strings.TrimSpace(value) == "" {
		return 0, nil
	}
	return e.parse(flag, value)
}
