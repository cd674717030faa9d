package platform_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The architecture of DESIGN.md §2, enforced on every import of the
// repository's Go files (tests included, unless a rule says otherwise):
//
//   - a service's domain is pure: the standard library, its own packages and
//     the pure platform packages (apperr, civil, ident, text) — no NATS,
//     Redis, gRPC, protobuf or generated code;
//   - a service imports the platform, the contract (proto) and itself, never
//     another service;
//   - the platform holds no business knowledge: it imports no service and no
//     context's generated code (only avenir.common.v1's);
//   - a context's published contract (proto/contract) imports only generated
//     code.

const module = "github.com/avenir-normandie/avenir/"

var services = []string{"intake", "pathway", "needs", "referent", "immersion", "funding", "notify"}

// pureDomainImports are the repository packages a domain may import.
var pureDomainImports = []string{
	"services/platform/apperr", "services/platform/civil", "services/platform/ident", "services/platform/text",
}

type goFile struct {
	path    string // relative to the repository root, slash-separated
	test    bool
	imports []string
}

// repoFiles parses the imports of every Go file of the repository.
func repoFiles(t *testing.T) []goFile {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	var files []goFile
	fset := token.NewFileSet()
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "gen", "node_modules", "testdata", "bin", "data":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		gf := goFile{path: filepath.ToSlash(rel), test: strings.HasSuffix(path, "_test.go")}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			gf.imports = append(gf.imports, p)
		}
		files = append(files, gf)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 100 {
		t.Fatalf("found %d Go files under %s: is the test running from services/platform?", len(files), root)
	}
	return files
}

func TestArchitecture(t *testing.T) {
	checked := map[string]int{}
	for _, f := range repoFiles(t) {
		for _, imp := range f.imports {
			if problem := violation(f, imp); problem != "" {
				t.Errorf("%s imports %s: %s", f.path, imp, problem)
			}
		}
		for _, kind := range []string{"domain", "service", "platform", "contract"} {
			if belongs(f.path, kind) {
				checked[kind]++
			}
		}
	}
	for _, kind := range []string{"domain", "service", "platform", "contract"} {
		if checked[kind] == 0 {
			t.Errorf("no %s file checked: the rules no longer match the layout", kind)
		}
	}
}

// belongs reports whether the file at path is of the kind of code a rule
// is about.
func belongs(path, kind string) bool {
	switch kind {
	case "domain":
		return serviceOf(path) != "" && strings.Contains(path, "/domain/")
	case "service":
		return serviceOf(path) != ""
	case "platform":
		return strings.HasPrefix(path, "services/platform/")
	case "contract":
		return strings.HasPrefix(path, "proto/contract/")
	}
	return false
}

// serviceOf is the service a file belongs to, "" when none.
func serviceOf(path string) string {
	for _, s := range services {
		if strings.HasPrefix(path, "services/"+s+"/") {
			return s
		}
	}
	return ""
}

// violation says what rule the import imp of f breaks, "" when none.
func violation(f goFile, imp string) string {
	repo, inRepo := strings.CutPrefix(imp, module)
	svc := serviceOf(f.path)
	switch {
	case belongs(f.path, "domain"):
		if !inRepo {
			if external(imp) {
				return "a domain imports only the standard library (and golang.org/x/text), no infrastructure or generated code"
			}
			return ""
		}
		if strings.HasPrefix(repo, "services/"+svc+"/domain") || slices.Contains(pureDomainImports, repo) {
			return ""
		}
		return "a domain imports only itself and the pure platform packages " + strings.Join(pureDomainImports, ", ")
	case svc != "":
		if inRepo && !strings.HasPrefix(repo, "services/platform/") && repo != "services/platform" &&
			!strings.HasPrefix(repo, "proto/") && !strings.HasPrefix(repo, "services/"+svc+"/") {
			return "a service imports only the platform, the contracts (proto) and itself"
		}
	case belongs(f.path, "platform"):
		if !inRepo {
			return ""
		}
		if strings.HasPrefix(repo, "services/") && !strings.HasPrefix(repo, "services/platform") {
			return "the platform imports no service"
		}
		if strings.HasPrefix(repo, "proto/") && repo != "proto/gen/go/avenir/common/v1" && !(f.test && strings.HasPrefix(repo, "proto/gen/")) {
			return "the platform knows no context's contract (only avenir.common.v1)"
		}
	case belongs(f.path, "contract"):
		if inRepo && !strings.HasPrefix(repo, "proto/gen/") && !strings.HasPrefix(repo, "proto/contract/") {
			return "a published contract imports only generated code"
		}
	}
	return ""
}

// external reports whether imp is a module outside the standard library
// that a domain must not use; golang.org/x/text (Unicode normalisation) is
// pure and allowed.
func external(imp string) bool {
	first, _, _ := strings.Cut(imp, "/")
	return strings.Contains(first, ".") && !strings.HasPrefix(imp, "golang.org/x/text/")
}

// The rules catch what they are for.
func TestArchitectureRules(t *testing.T) {
	for _, tc := range []struct {
		file, imp string
		broken    bool
	}{
		{"services/intake/domain/learner.go", "github.com/nats-io/nats.go", true},
		{"services/intake/domain/learner.go", module + "proto/gen/go/avenir/intake/v1", true},
		{"services/intake/domain/learner.go", module + "services/platform/eventstore", true},
		{"services/intake/domain/learner.go", module + "services/pathway/domain", true},
		{"services/intake/domain/learner.go", module + "services/platform/civil", false},
		{"services/intake/domain/normalize.go", "golang.org/x/text/unicode/norm", false},
		{"services/intake/domain/learner.go", "strings", false},
		{"services/pathway/service/service.go", module + "services/intake/domain", true},
		{"services/pathway/service/service.go", module + "services/platform/eventstore", false},
		{"services/pathway/service/service.go", module + "proto/contract/referent", false},
		{"services/platform/caseload/caseload.go", module + "proto/gen/go/avenir/referent/v1", true},
		{"services/platform/caseload/caseload.go", module + "services/referent/service", true},
		{"services/platform/civilpb/civilpb.go", module + "proto/gen/go/avenir/common/v1", false},
		{"proto/contract/referent/follow.go", module + "services/platform/projection", true},
	} {
		f := goFile{path: tc.file, test: strings.HasSuffix(tc.file, "_test.go")}
		if got := violation(f, tc.imp) != ""; got != tc.broken {
			t.Errorf("%s importing %s: broken=%v, want %v", tc.file, tc.imp, got, tc.broken)
		}
	}
}
