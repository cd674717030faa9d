// Command docgen writes the documentation that is generated from the code:
//
//   - docs/configuration.md, from the flags of `avenir server`;
//   - docs/api.md, from the comments of the .proto files under proto/avenir;
//   - the "first ten minutes" of README.md, from docs/first-ten-minutes.sh
//     (the README shows the script whole, without its shebang line).
//
// `make docs` runs it from the repository's root. Its test fails when a
// committed file differs from what it generates, so the documents follow
// the flags, the proto comments and the script.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Generated files, relative to the repository's root.
const (
	configurationFile = "docs/configuration.md"
	apiFile           = "docs/api.md"
	readmeFile        = "README.md"
	scriptFile        = "docs/first-ten-minutes.sh"
)

func main() {
	root := flag.String("root", ".", "the repository's root")
	flag.Parse()
	if err := run(*root); err != nil {
		fmt.Fprintln(os.Stderr, "docgen:", err)
		os.Exit(1)
	}
}

// run writes every generated file of the repository at root that changed.
func run(root string) error {
	files, err := Generate(root)
	if err != nil {
		return err
	}
	changed := 0
	for _, name := range sortedNames(files) {
		path := filepath.Join(root, filepath.FromSlash(name))
		old, err := os.ReadFile(path)
		if err == nil && bytes.Equal(old, files[name]) {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, files[name], 0o644); err != nil {
			return err
		}
		fmt.Println("docgen: wrote", name)
		changed++
	}
	if changed == 0 {
		fmt.Println("docgen: every generated document is up to date")
	}
	docs, err := markdownFiles(root)
	if err != nil {
		return err
	}
	problems, err := brokenLinks(root, docs)
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		return fmt.Errorf("broken links:\n  %s", strings.Join(problems, "\n  "))
	}
	return nil
}

// Generate returns the generated files of the repository at root, by path
// relative to it (slash-separated).
func Generate(root string) (map[string][]byte, error) {
	configuration, err := configurationDoc()
	if err != nil {
		return nil, err
	}
	api, err := apiDoc(filepath.Join(root, "proto"))
	if err != nil {
		return nil, err
	}
	readme, err := os.ReadFile(filepath.Join(root, readmeFile))
	if err != nil {
		return nil, err
	}
	script, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(scriptFile)))
	if err != nil {
		return nil, err
	}
	readme, err = withFirstTenMinutes(readme, script)
	if err != nil {
		return nil, err
	}
	return map[string][]byte{
		configurationFile: configuration,
		apiFile:           api,
		readmeFile:        readme,
	}, nil
}

func sortedNames(files map[string][]byte) []string {
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// firstTenMinutesHeading opens the README section that shows the script.
const firstTenMinutesHeading = "## The first ten minutes\n"

// withFirstTenMinutes returns readme with the first ```sh block of its
// "first ten minutes" section replaced by script without its first line
// (the shebang), as services/e2e checks.
func withFirstTenMinutes(readme, script []byte) ([]byte, error) {
	_, body, _ := bytes.Cut(script, []byte("\n"))
	section := bytes.Index(readme, []byte(firstTenMinutesHeading))
	if section < 0 {
		return nil, fmt.Errorf("%s has no %q section", readmeFile, firstTenMinutesHeading[:len(firstTenMinutesHeading)-1])
	}
	open := bytes.Index(readme[section:], []byte("\n```sh\n"))
	if open < 0 {
		return nil, fmt.Errorf("%s: no ```sh block in its first ten minutes", readmeFile)
	}
	start := section + open + len("\n```sh\n")
	end := -1
	for i := start; i < len(readme); {
		line, _, _ := bytes.Cut(readme[i:], []byte("\n"))
		if string(line) == "```" {
			end = i
			break
		}
		i += len(line) + 1
	}
	if end < 0 {
		return nil, fmt.Errorf("%s: the first ten minutes' ```sh block is not closed", readmeFile)
	}
	if len(body) > 0 && body[len(body)-1] != '\n' {
		body = append(body, '\n')
	}
	out := make([]byte, 0, len(readme)-(end-start)+len(body))
	out = append(out, readme[:start]...)
	out = append(out, body...)
	out = append(out, readme[end:]...)
	return out, nil
}
