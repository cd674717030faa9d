package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/avenir-normandie/avenir/services/platform/config"
)

// repoRoot is the repository's root, three levels above this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// The committed generated documents are what the generator makes from the
// flags, the .proto files and the first-ten-minutes script of today.
func TestGeneratedDocsAreCurrent(t *testing.T) {
	root := repoRoot(t)
	files, err := Generate(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range sortedNames(files) {
		committed, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(name)))
		if err != nil {
			t.Errorf("%s: %v: run `make docs` and commit the result", name, err)
			continue
		}
		if !bytes.Equal(committed, files[name]) {
			t.Errorf("%s is stale (%s): run `make docs` and commit the result", name, firstDifference(committed, files[name]))
		}
	}
}

// firstDifference describes the first line where got and want differ.
func firstDifference(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := range max(len(g), len(w)) {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl || i >= len(g) || i >= len(w) {
			return fmt.Sprintf("line %d is %q, the generator writes %q", i+1, gl, wl)
		}
	}
	return "same lines"
}

// Every relative link of README.md and docs/**/*.md points to a file of the
// repository, and to an anchor of it when it names one.
func TestDocsLinksResolve(t *testing.T) {
	root := repoRoot(t)
	docs, err := markdownFiles(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) < 10 {
		t.Fatalf("only %d Markdown documents found: %v", len(docs), docs)
	}
	problems, err := brokenLinks(root, docs)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
}

// The link check reports missing files, missing anchors and links leaving
// the repository, and leaves code, absolute URLs and good links alone.
func TestLinkCheckFindsBrokenLinks(t *testing.T) {
	root := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		path := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("docs/guide/a.md", "# A guide\n\n## Who may do what\n\n## Who may do what\n\n<a id=\"x.y.Z\"></a>\n")
	write("docs/script.sh", "")
	write("README.md", strings.Join([]string{
		"# Front door",
		"[guide](docs/guide/a.md) [section](docs/guide/a.md#who-may-do-what) [again](docs/guide/a.md#who-may-do-what-1)",
		"[html](docs/guide/a.md#x.y.Z) [script](docs/script.sh) [dir](docs/guide/) [self](#front-door) [web](https://example.org/x)",
		"[`code` text](docs/guide/a.md) and `[not](a-link.md)`",
		"```sh",
		"[not a link either](nowhere.md)",
		"```",
		"[missing](docs/guide/b.md) [no anchor](docs/guide/a.md#who-may-not) [outside](../elsewhere.md)",
		"[label]: docs/missing.md",
		"[self missing](#back-door)",
	}, "\n"))
	problems, err := brokenLinks(root, []string{"README.md", "docs/guide/a.md"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`README.md:8: docs/guide/b.md: no such file`,
		`README.md:8: docs/guide/a.md#who-may-not: no heading or anchor "who-may-not" in a.md`,
		`README.md:8: ../elsewhere.md points outside the repository`,
		`README.md:9: docs/missing.md: no such file`,
		`README.md:10: #back-door: no heading or anchor "back-door" in README.md`,
	}
	if !slices.Equal(problems, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(problems, "\n"), strings.Join(want, "\n"))
	}
}

// README.md is the front door: at most 15 KB, leading to every part of
// docs/.
func TestReadmeIsTheFrontDoor(t *testing.T) {
	root := repoRoot(t)
	readme, err := os.ReadFile(filepath.Join(root, readmeFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(readme) > 15*1024 {
		t.Errorf("README.md is %d bytes, more than 15 KB (15,360): move the detail to docs/", len(readme))
	}
	for _, link := range []string{
		"docs/guide/referent.md", "docs/guide/operator.md", "docs/guide/funder.md", "docs/guide/administrator.md",
		"docs/operations/README.md", "docs/operations/faults-and-readiness.md", "docs/adr/README.md",
		"docs/api.md", "docs/configuration.md", "docs/performance.md",
	} {
		if !bytes.Contains(readme, []byte("]("+link+")")) {
			t.Errorf("README.md does not link to %s", link)
		}
	}
}

// make docs copies docs/first-ten-minutes.sh, less its shebang, into the
// README's first ten minutes, whatever was there before, and says so when
// the README has no place for it.
func TestReadmeShowsTheFirstTenMinutesScript(t *testing.T) {
	script := []byte("#!/usr/bin/env bash\nset -eu\n./bin/avenir learners get x\n")
	readme := []byte("# avenir\n\n## The first ten minutes\n\nPaste this:\n\n```sh\nold commands\n```\n\n## Layout\n\n```sh\nkept\n```\n")
	got, err := withFirstTenMinutes(readme, script)
	if err != nil {
		t.Fatal(err)
	}
	want := "# avenir\n\n## The first ten minutes\n\nPaste this:\n\n```sh\nset -eu\n./bin/avenir learners get x\n```\n\n## Layout\n\n```sh\nkept\n```\n"
	if string(got) != want {
		t.Errorf("README after make docs:\n%s\nwant:\n%s", got, want)
	}
	if again, _ := withFirstTenMinutes(got, script); !bytes.Equal(again, got) {
		t.Errorf("a second run changed the README:\n%s", again)
	}
	if _, err := withFirstTenMinutes([]byte("# avenir\n\n## Layout\n"), script); err == nil {
		t.Error("a README without its first ten minutes was accepted")
	}
	if _, err := withFirstTenMinutes([]byte("## The first ten minutes\n\n```sh\nunclosed\n"), script); err == nil {
		t.Error("an unclosed block was accepted")
	}
}

// The configuration reference lists every flag of `avenir server` with its
// environment variable, type, default and usage.
func TestConfigurationDocsEveryServerFlag(t *testing.T) {
	fs, err := serverFlags()
	if err != nil {
		t.Fatal(err)
	}
	doc := string(renderConfiguration(fs))
	n := 0
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Name == "help" {
			return
		}
		n++
		row := "| `--" + f.Name + "` | `" + config.EnvName(f.Name) + "` | "
		if !strings.Contains(doc, row) {
			t.Errorf("no row %q in the configuration reference", row)
		}
	})
	if n < 20 {
		t.Errorf("only %d server flags found", n)
	}
	if strings.Contains(doc, "(env AVENIR_") {
		t.Error("the usage strings keep the --help mention of their variable")
	}
}

// A flag of no group is still documented, a flag the environment does not
// set says so, and sizes in bytes are also given in binary units.
func TestConfigurationDocsNewFlags(t *testing.T) {
	fs := pflag.NewFlagSet("server", pflag.ContinueOnError)
	fs.Int64("stream-max-bytes", 8<<30, "size bound of each stream")
	fs.String("smtp-relay", "", "SMTP relay of the notifications")
	fs.Bool("dry-run", false, "decide, store nothing")
	if err := fs.SetAnnotation("dry-run", config.NoEnv, nil); err != nil {
		t.Fatal(err)
	}
	doc := string(renderConfiguration(fs))
	for _, want := range []string{
		"## NATS JetStream",
		"| `--stream-max-bytes` | `AVENIR_STREAM_MAX_BYTES` | integer | `8589934592` (8 GiB) | size bound of each stream. |",
		"## Other settings",
		"| `--smtp-relay` | `AVENIR_SMTP_RELAY` | string | — | SMTP relay of the notifications. |",
		"| `--dry-run` | — | boolean | `false` | decide, store nothing. |",
		"[Other settings](#other-settings)",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("no %q in:\n%s", want, doc)
		}
	}
	if strings.Contains(doc, "## Listening") {
		t.Error("a group without flags has a section")
	}
}

// The API reference has every service, RPC, message, field and enum value
// of proto/avenir, each with its comment.
func TestAPIDocsEveryElementWithItsComment(t *testing.T) {
	files, err := compileProtos(filepath.Join(repoRoot(t), "proto"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(renderAPI(files))
	counts := map[string]int{}
	var check func(d protoreflect.Descriptor)
	hasComment := func(d protoreflect.Descriptor, block bool) {
		c := comment(d)
		if c == "" {
			return
		}
		want := cell(c)
		if block {
			want = commentMarkdown(c)
		}
		if !strings.Contains(doc, want) {
			t.Errorf("%s: its comment is missing: %q", d.FullName(), want)
		}
	}
	check = func(d protoreflect.Descriptor) {
		switch d := d.(type) {
		case protoreflect.ServiceDescriptor:
			counts["services"]++
			if !strings.Contains(doc, anchor(d)+"\n\n#### "+string(d.Name())+"\n") {
				t.Errorf("no section for service %s", d.FullName())
			}
			hasComment(d, true)
			for i := range d.Methods().Len() {
				m := d.Methods().Get(i)
				counts["rpcs"]++
				if !strings.Contains(doc, "| "+anchor(m)+code(string(m.Name()))+" | ") {
					t.Errorf("no row for RPC %s", m.FullName())
				}
				hasComment(m, false)
			}
		case protoreflect.MessageDescriptor:
			if d.IsMapEntry() {
				return
			}
			counts["messages"]++
			if !strings.Contains(doc, anchor(d)+"\n\n#### "+shortName(d)+"\n") {
				t.Errorf("no section for message %s", d.FullName())
			}
			hasComment(d, true)
			for i := range d.Fields().Len() {
				f := d.Fields().Get(i)
				counts["fields"]++
				if !strings.Contains(doc, fmt.Sprintf("| %s | %d | ", code(string(f.Name())), f.Number())) {
					t.Errorf("no row for field %s", f.FullName())
				}
				hasComment(f, false)
			}
			for i := range d.Enums().Len() {
				check(d.Enums().Get(i))
			}
			for i := range d.Messages().Len() {
				check(d.Messages().Get(i))
			}
		case protoreflect.EnumDescriptor:
			counts["enums"]++
			if !strings.Contains(doc, anchor(d)+"\n\n#### "+shortName(d)+" (enum)\n") {
				t.Errorf("no section for enum %s", d.FullName())
			}
			hasComment(d, true)
			for i := range d.Values().Len() {
				v := d.Values().Get(i)
				counts["values"]++
				if !strings.Contains(doc, fmt.Sprintf("| %s | %d | ", code(string(v.Name())), v.Number())) {
					t.Errorf("no row for enum value %s", v.FullName())
				}
				hasComment(v, false)
			}
		}
	}
	for _, f := range files {
		for i := range f.Services().Len() {
			check(f.Services().Get(i))
		}
		for i := range f.Messages().Len() {
			check(f.Messages().Get(i))
		}
		for i := range f.Enums().Len() {
			check(f.Enums().Get(i))
		}
	}
	if counts["services"] < 6 || counts["rpcs"] < 50 || counts["messages"] < 100 {
		t.Errorf("too little found in proto/avenir: %v", counts)
	}
	// Types link to their sections, which exist.
	problems := 0
	for _, m := range inlineLink.FindAllStringSubmatch(doc, -1) {
		if id, ok := strings.CutPrefix(m[1], "#"); ok && !strings.Contains(doc, `<a id="`+id+`"></a>`) && problems < 10 {
			t.Errorf("link to #%s, which has no anchor", id)
			problems++
		}
	}
}

// Every decision record is docs/adr/NNNN-kebab-title.md, one number each,
// titled with its number, with its context, decision and consequences, and
// listed in docs/adr/README.md.
func TestDocsADRsAreRecordsAndIndexed(t *testing.T) {
	dir := filepath.Join(repoRoot(t), "docs", "adr")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	index, err := os.ReadFile(filepath.Join(dir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	name := regexp.MustCompile(`^(\d{4})-[a-z0-9]+(-[a-z0-9]+)*\.md$`)
	numbers := map[string]string{}
	records := 0
	for _, e := range entries {
		if e.IsDir() || e.Name() == "README.md" {
			continue
		}
		m := name.FindStringSubmatch(e.Name())
		if m == nil {
			t.Errorf("docs/adr/%s: not NNNN-kebab-title.md", e.Name())
			continue
		}
		records++
		if other, ok := numbers[m[1]]; ok {
			t.Errorf("docs/adr/%s and %s share number %s", e.Name(), other, m[1])
		}
		numbers[m[1]] = e.Name()
		text, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		n, _ := strconv.Atoi(m[1])
		if title := fmt.Sprintf("# %d. ", n); !bytes.HasPrefix(text, []byte(title)) {
			t.Errorf("docs/adr/%s: the title does not start with %q", e.Name(), title)
		}
		for _, section := range []string{"\n## Context\n", "\n## Decision\n", "\n## Consequences\n"} {
			if !bytes.Contains(text, []byte(section)) {
				t.Errorf("docs/adr/%s: no %q section", e.Name(), strings.TrimSpace(section))
			}
		}
		if !bytes.Contains(index, []byte("]("+e.Name()+")")) {
			t.Errorf("docs/adr/README.md does not list %s", e.Name())
		}
	}
	if records < 40 {
		t.Errorf("only %d decision records", records)
	}
}
