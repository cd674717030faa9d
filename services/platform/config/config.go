// Package config reads typed configuration from command-line flags and
// AVENIR_* environment variables.
//
// Settings are declared as pflag flags (typically on cobra commands). After
// parsing the command line, ApplyEnv fills every flag that was not given
// from its environment variable, so that a value is taken, in order of
// precedence, from the command line, the environment, then the flag's
// default. Document mentions the variables in the flags' help.
//
// With cobra, both fit in a PersistentPreRunE hook:
//
//	PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
//		return config.ApplyEnv(cmd.Flags(), os.LookupEnv)
//	},
//
// Problems then gathers semantic validation errors so that all of them are
// reported at once.
package config

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/pflag"
)

// EnvPrefix starts the name of every environment variable read by ApplyEnv.
const EnvPrefix = "AVENIR_"

// NoEnv is a flag annotation key: ApplyEnv and Document skip flags carrying
// it, whatever its values.
//
//	_ = fs.SetAnnotation("dry-run", config.NoEnv, nil)
//
// The "help" flag is always skipped.
const NoEnv = "avenir_no_env"

// EnvName returns the environment variable read for a flag: the flag name
// upper-cased, with dashes and dots turned into underscores, after
// EnvPrefix. For example "grpc-addr" gives "AVENIR_GRPC_ADDR".
func EnvName(flag string) string {
	return EnvPrefix + strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(flag))
}

// ApplyEnv sets every flag of fs that was not given on the command line from
// its environment variable (see EnvName), if lookup finds it; os.LookupEnv
// is the usual lookup. A variable set to the empty string counts as set.
// Values are parsed as on the command line: a list flag takes
// comma-separated values, a duration flag "1m30s", a bool flag "true" or
// "false". Flags set from the environment are marked as changed, so cobra
// treats them as given.
//
// Every unparsable value is reported, in one error naming both the variable
// and the flag.
func ApplyEnv(fs *pflag.FlagSet, lookup func(string) (string, bool)) error {
	var problems Problems
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Changed || skipped(f) {
			return
		}
		name := EnvName(f.Name)
		value, ok := lookup(name)
		if !ok {
			return
		}
		if err := fs.Set(f.Name, value); err != nil {
			var invalid *pflag.InvalidValueError
			if errors.As(err, &invalid) {
				err = invalid.Unwrap()
			}
			problems.Add(name, "invalid value %q for --%s: %v", value, f.Name, err)
		}
	})
	return problems.Err()
}

// Document appends " (env AVENIR_X)" to the usage of every flag of fs that
// ApplyEnv reads, so that --help lists the variables. Calling it again does
// not repeat the mention.
func Document(fs *pflag.FlagSet) {
	fs.VisitAll(func(f *pflag.Flag) {
		if skipped(f) {
			return
		}
		suffix := " (env " + EnvName(f.Name) + ")"
		if !strings.HasSuffix(f.Usage, suffix) {
			f.Usage += suffix
		}
	})
}

// skipped reports whether f is excluded from the environment.
func skipped(f *pflag.Flag) bool {
	if f.Name == "help" {
		return true
	}
	_, ok := f.Annotations[NoEnv]
	return ok
}

// Problems collects configuration problems so that they are all reported at
// once. The zero value is ready to use.
//
//	var p config.Problems
//	if cfg.Workers < 1 {
//		p.Add("workers", "must be at least 1, got %d", cfg.Workers)
//	}
//	return p.Err()
type Problems struct {
	items []string
}

// Add records a problem with setting, typically a flag or variable name,
// formatting the description with fmt.Sprintf.
func (p *Problems) Add(setting, format string, args ...any) {
	p.items = append(p.items, setting+": "+fmt.Sprintf(format, args...))
}

// Err returns nil when no problem was recorded, and otherwise an error
// listing every problem, one per line, in the order they were added:
//
//	invalid configuration:
//	  - workers: must be at least 1, got 0
//	  - AVENIR_GRPC_ADDR: ...
func (p *Problems) Err() error {
	if len(p.items) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString("invalid configuration:")
	for _, item := range p.items {
		b.WriteString("\n  - ")
		b.WriteString(item)
	}
	return errors.New(b.String())
}
