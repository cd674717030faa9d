package main

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/avenir-normandie/avenir/services/avenir/cli"
	"github.com/avenir-normandie/avenir/services/platform/config"
)

// flagGroup gathers the server's flags of one concern. A flag belongs to
// the first group naming it, or else to the first group with a prefix it
// starts with; flags of no group are listed under "Other settings", so a
// new flag is documented even before it is given a group.
type flagGroup struct {
	title    string
	intro    string
	names    []string
	prefixes []string
}

var flagGroups = []flagGroup{
	{
		title: "Mode and services",
		intro: "What this process runs, and where the embedded server keeps its data.",
		names: []string{"dev", "services", "data-dir", "demo-clock"},
	},
	{
		title: "Listening",
		intro: "The gRPC API and the admin HTTP endpoints (`/metrics`, `/healthz`, `/readyz`).",
		names: []string{"grpc-addr", "admin-addr"},
	},
	{
		title:    "NATS JetStream",
		intro:    "The system of record: the embedded server with `--dev`, or an external server or cluster.",
		names:    []string{"nats-url", "nats-listen", "nats-creds", "nats-nkey", "nats-ca", "nats-cert", "nats-key", "replicas", "stream-max-bytes"},
		prefixes: []string{"nats-", "stream-"},
	},
	{
		title:    "Read models and readiness",
		intro:    "Where the read models live (rebuilt from the streams), and how far behind them `/readyz` tolerates.",
		names:    []string{"redis-url", "redis-prefix", "ready-max-lag"},
		prefixes: []string{"redis-", "ready-"},
	},
	{
		title:    "Authentication",
		intro:    "Who may call: OpenID Connect tokens in production, the dev key in `--data-dir` with `--dev`.",
		names:    []string{"oidc-issuer", "audience", "insecure-no-auth"},
		prefixes: []string{"oidc-"},
	},
	{
		title: "Personal data",
		intro: "The master key that wraps every learner's data key (docs/adr/0064-personal-data-sealed-with-per-learner-keys.md; `AVENIR_MASTER_KEY` holds it in the environment instead), and how long personal data is kept (docs/adr/0065-erasure-retention-and-access.md).",
		names: []string{"master-key-file", "retention-months"},
	},
	{
		title: "Business rules",
		intro: "Reference data and the settings of the scheme's rules.",
		names: []string{"territories-file", "max-entry-backdate-days", "handover-grace-days", "qualif-weight-percent"},
	},
	{
		title:    "Logs and shutdown",
		intro:    "Logs go to stderr with the trace and span ids of the request they belong to.",
		names:    []string{"log-level", "log-format", "shutdown-timeout"},
		prefixes: []string{"log-"},
	},
}

// serverFlags returns the flags of `avenir server`, as the command line
// builds them (with the environment variables documented in their usage).
func serverFlags() (*pflag.FlagSet, error) {
	root := cli.NewRoot(io.Discard, io.Discard)
	cmd, _, err := root.Find([]string{"server"})
	if err != nil || cmd == root {
		return nil, fmt.Errorf("the command line has no server command: %v", err)
	}
	return cmd.Flags(), nil
}

// configurationDoc renders docs/configuration.md.
func configurationDoc() ([]byte, error) {
	fs, err := serverFlags()
	if err != nil {
		return nil, err
	}
	return renderConfiguration(fs), nil
}

// renderConfiguration renders the flags of fs as the configuration
// reference.
func renderConfiguration(fs *pflag.FlagSet) []byte {
	var flags []*pflag.Flag
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Name == "help" || f.Hidden || f.Deprecated != "" {
			return
		}
		flags = append(flags, f)
	})
	grouped := make([][]*pflag.Flag, len(flagGroups)+1)
	for _, f := range flags {
		i := groupOf(f.Name)
		grouped[i] = append(grouped[i], f)
	}
	for i := range flagGroups {
		order := flagGroups[i].names
		slices.SortStableFunc(grouped[i], func(a, b *pflag.Flag) int {
			return rank(order, a.Name) - rank(order, b.Name)
		})
	}

	var b bytes.Buffer
	b.WriteString(generatedNotice("the flags of `avenir server` (services/avenir/cli/server_cmd.go)"))
	b.WriteString(`# Configuration reference

Every setting of ` + "`avenir server`" + `, generated from its flags by ` + "`make docs`" + ` (the generator is
` + "`services/avenir/docgen`" + `; its test fails when this page is stale). ` + "`avenir server --help`" + ` prints
the same. For what the settings are for and how they combine (one machine, a cluster, Kubernetes),
read [the configuration overview](operations/configuration.md).

Each flag can also be set by the environment variable next to it: the flag name upper-cased, dashes
turned into underscores, after ` + "`" + config.EnvPrefix + "`" + ` (` + "`--grpc-addr`" + ` is ` + "`AVENIR_GRPC_ADDR`" + `). The command line
wins over the environment, which wins over the default; a variable set to the empty string counts as
set. Values from the environment are read as on the command line: lists comma-separated, durations
such as ` + "`20s` or `1m30s`" + `, booleans ` + "`true` or `false`" + `. Every problem is reported at once, and the
server does not start.

`)
	b.WriteString("Groups:")
	for i, g := range flagGroups {
		if len(grouped[i]) == 0 {
			continue
		}
		fmt.Fprintf(&b, " [%s](#%s)", g.title, slug(g.title))
		if i < len(flagGroups)-1 || len(grouped[len(flagGroups)]) > 0 {
			b.WriteString(" ·")
		}
	}
	if len(grouped[len(flagGroups)]) > 0 {
		b.WriteString(" [Other settings](#other-settings)")
	}
	b.WriteString(".\n")
	for i, g := range flagGroups {
		if len(grouped[i]) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n## %s\n\n%s\n\n", g.title, g.intro)
		flagTable(&b, grouped[i])
	}
	if rest := grouped[len(flagGroups)]; len(rest) > 0 {
		b.WriteString("\n## Other settings\n\nFlags of no group above yet.\n\n")
		flagTable(&b, rest)
	}
	b.WriteString(`
## Not flags

OpenTelemetry reads the standard variables: traces and metrics are exported over OTLP when
` + "`OTEL_EXPORTER_OTLP_ENDPOINT`" + ` is set; ` + "`OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES`" + ` apply. See
[observability](operations/observability.md).
`)
	return b.Bytes()
}

// groupOf returns the index of the group of a flag, len(flagGroups) for
// none.
func groupOf(name string) int {
	for i, g := range flagGroups {
		if slices.Contains(g.names, name) {
			return i
		}
	}
	for i, g := range flagGroups {
		for _, p := range g.prefixes {
			if strings.HasPrefix(name, p) {
				return i
			}
		}
	}
	return len(flagGroups)
}

// rank orders the flags a group names first, in that order, then the
// others (by name, as VisitAll gives them).
func rank(order []string, name string) int {
	if i := slices.Index(order, name); i >= 0 {
		return i
	}
	return len(order)
}

func flagTable(b *bytes.Buffer, flags []*pflag.Flag) {
	b.WriteString("| Flag | Environment | Type | Default | Meaning |\n|---|---|---|---|---|\n")
	for _, f := range flags {
		env := "—"
		if _, skip := f.Annotations[config.NoEnv]; !skip {
			env = code(config.EnvName(f.Name))
		}
		usage := strings.TrimSuffix(f.Usage, " (env "+config.EnvName(f.Name)+")")
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n",
			code("--"+f.Name), env, flagType(f), flagDefault(f), cell(sentence(usage)))
	}
}

// flagType names a flag's type for people.
func flagType(f *pflag.Flag) string {
	switch t := f.Value.Type(); t {
	case "bool":
		return "boolean"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "integer"
	case "stringSlice", "stringArray":
		return "list of strings"
	default:
		return t
	}
}

// flagDefault renders a flag's default: empty is "—", a size in bytes also
// in its binary unit.
func flagDefault(f *pflag.Flag) string {
	v := f.DefValue
	if v == "" || v == "[]" {
		return "—"
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && strings.Contains(f.Name, "bytes") {
		if unit := binarySize(n); unit != "" {
			return code(v) + " (" + unit + ")"
		}
	}
	return code(v)
}

// binarySize renders n bytes as a whole number of KiB, MiB, GiB or TiB, or
// "" when it is none of those.
func binarySize(n int64) string {
	units := []string{"TiB", "GiB", "MiB", "KiB"}
	for i, u := range units {
		size := int64(1) << (10 * (len(units) - i))
		if n >= size && n%size == 0 {
			return strconv.FormatInt(n/size, 10) + " " + u
		}
	}
	return ""
}

// sentence ends a usage string with a full stop.
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return s
	}
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

// generatedNotice is the first line of a generated Markdown file.
func generatedNotice(from string) string {
	return "<!-- Generated by `make docs` (services/avenir/docgen) from " + from + ". Do not edit: change the source and run `make docs`. -->\n\n"
}
