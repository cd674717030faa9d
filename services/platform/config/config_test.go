package config_test

import (
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/avenir-normandie/avenir/services/platform/config"
)

// env returns a lookup function over a fixed environment.
func env(vars map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

func TestEnvName(t *testing.T) {
	tests := []struct{ flag, want string }{
		{"grpc-addr", "AVENIR_GRPC_ADDR"},
		{"workers", "AVENIR_WORKERS"},
		{"otel.endpoint", "AVENIR_OTEL_ENDPOINT"},
		{"Redis-URL", "AVENIR_REDIS_URL"},
	}
	for _, tt := range tests {
		if got := config.EnvName(tt.flag); got != tt.want {
			t.Errorf("EnvName(%q) = %q, want %q", tt.flag, got, tt.want)
		}
	}
}

type settings struct {
	addr    string
	workers int
	debug   bool
	timeout time.Duration
	subject []string
}

func newFlagSet(s *settings) *pflag.FlagSet {
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&s.addr, "grpc-addr", ":9090", "gRPC listen address")
	fs.IntVar(&s.workers, "workers", 4, "number of workers")
	fs.BoolVar(&s.debug, "debug", false, "enable debug logging")
	fs.DurationVar(&s.timeout, "timeout", time.Second, "request timeout")
	fs.StringSliceVar(&s.subject, "subjects", []string{"a"}, "subjects to consume")
	return fs
}

func TestApplyEnvPrecedence(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"default", nil, nil, ":9090"},
		{"environment over default", nil, map[string]string{"AVENIR_GRPC_ADDR": ":7000"}, ":7000"},
		{"flag over environment", []string{"--grpc-addr=:8000"}, map[string]string{"AVENIR_GRPC_ADDR": ":7000"}, ":8000"},
		{"flag given as its default over environment", []string{"--grpc-addr=:9090"}, map[string]string{"AVENIR_GRPC_ADDR": ":7000"}, ":9090"},
		{"empty variable counts as set", nil, map[string]string{"AVENIR_GRPC_ADDR": ""}, ""},
		{"unrelated variable ignored", nil, map[string]string{"GRPC_ADDR": ":7000"}, ":9090"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s settings
			fs := newFlagSet(&s)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			if err := config.ApplyEnv(fs, env(tt.env)); err != nil {
				t.Fatalf("ApplyEnv: %v", err)
			}
			if s.addr != tt.want {
				t.Errorf("grpc-addr = %q, want %q", s.addr, tt.want)
			}
		})
	}
}

func TestApplyEnvTypes(t *testing.T) {
	var s settings
	fs := newFlagSet(&s)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	err := config.ApplyEnv(fs, env(map[string]string{
		"AVENIR_WORKERS":  "12",
		"AVENIR_DEBUG":    "true",
		"AVENIR_TIMEOUT":  "1m30s",
		"AVENIR_SUBJECTS": "intake.>,pathway.>",
	}))
	if err != nil {
		t.Fatalf("ApplyEnv: %v", err)
	}
	if s.workers != 12 {
		t.Errorf("workers = %d, want 12", s.workers)
	}
	if !s.debug {
		t.Error("debug = false, want true")
	}
	if s.timeout != 90*time.Second {
		t.Errorf("timeout = %v, want 1m30s", s.timeout)
	}
	if want := []string{"intake.>", "pathway.>"}; !slices.Equal(s.subject, want) {
		t.Errorf("subjects = %v, want %v (the default replaced, not appended to)", s.subject, want)
	}
	if !fs.Changed("workers") {
		t.Error("a flag set from the environment is not marked as changed")
	}
}

func TestApplyEnvReportsAllProblems(t *testing.T) {
	var s settings
	fs := newFlagSet(&s)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	err := config.ApplyEnv(fs, env(map[string]string{
		"AVENIR_WORKERS":   "many",
		"AVENIR_DEBUG":     "perhaps",
		"AVENIR_TIMEOUT":   "soon",
		"AVENIR_GRPC_ADDR": ":7000",
	}))
	if err == nil {
		t.Fatal("ApplyEnv succeeded with unparsable values")
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "invalid configuration:\n") {
		t.Errorf("error %q does not start with the summary line", msg)
	}
	for _, want := range []string{
		`AVENIR_WORKERS: invalid value "many" for --workers`,
		`AVENIR_DEBUG: invalid value "perhaps" for --debug`,
		`AVENIR_TIMEOUT: invalid value "soon" for --timeout`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if got := strings.Count(msg, "\n  - "); got != 3 {
		t.Errorf("error lists %d problems, want 3:\n%s", got, msg)
	}
	if s.addr != ":7000" {
		t.Errorf("valid variables must still apply: grpc-addr = %q", s.addr)
	}
}

func TestNoEnv(t *testing.T) {
	var s settings
	fs := newFlagSet(&s)
	if err := fs.SetAnnotation("debug", config.NoEnv, nil); err != nil {
		t.Fatal(err)
	}
	fs.Bool("help", false, "show help")
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	err := config.ApplyEnv(fs, env(map[string]string{"AVENIR_DEBUG": "true", "AVENIR_HELP": "true"}))
	if err != nil {
		t.Fatal(err)
	}
	if s.debug || fs.Changed("help") {
		t.Error("flags excluded from the environment were set from it")
	}

	config.Document(fs)
	for _, name := range []string{"debug", "help"} {
		if usage := fs.Lookup(name).Usage; strings.Contains(usage, "(env") {
			t.Errorf("usage of excluded flag --%s mentions a variable: %q", name, usage)
		}
	}
}

func TestDocumentIsIdempotent(t *testing.T) {
	var s settings
	fs := newFlagSet(&s)
	config.Document(fs)
	config.Document(fs)

	if got, want := fs.Lookup("grpc-addr").Usage, "gRPC listen address (env AVENIR_GRPC_ADDR)"; got != want {
		t.Errorf("usage = %q, want %q", got, want)
	}
	if got := strings.Count(fs.FlagUsages(), "(env "); got != 5 {
		t.Errorf("usages mention %d variables, want 5:\n%s", got, fs.FlagUsages())
	}
}

func TestProblems(t *testing.T) {
	var p config.Problems
	if err := p.Err(); err != nil {
		t.Fatalf("Err() with no problem = %v, want nil", err)
	}
	p.Add("workers", "must be at least %d, got %d", 1, 0)
	p.Add("redis-url", "is required")

	want := "invalid configuration:\n  - workers: must be at least 1, got 0\n  - redis-url: is required"
	if err := p.Err(); err == nil || err.Error() != want {
		t.Errorf("Err() = %v, want %q", err, want)
	}
}

func TestWithCobra(t *testing.T) {
	var addr string
	var ran bool
	cmd := &cobra.Command{
		Use: "serve",
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return config.ApplyEnv(cmd.Flags(), env(map[string]string{
				"AVENIR_GRPC_ADDR": ":7000",
				"AVENIR_REDIS_URL": "redis://localhost",
			}))
		},
		RunE: func(*cobra.Command, []string) error {
			ran = true
			return nil
		},
	}
	cmd.Flags().StringVar(&addr, "grpc-addr", ":9090", "gRPC listen address")
	cmd.Flags().String("redis-url", "", "Redis URL")
	if err := cmd.MarkFlagRequired("redis-url"); err != nil {
		t.Fatal(err)
	}
	cmd.SetArgs(nil)
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)

	if err := cmd.Execute(); err != nil {
		t.Fatalf("Execute: %v (a required flag set from the environment must satisfy cobra)", err)
	}
	if !ran || addr != ":7000" {
		t.Errorf("ran = %v, grpc-addr = %q; want the command run with :7000", ran, addr)
	}
}
