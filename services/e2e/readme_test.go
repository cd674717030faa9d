package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// repoRoot is the repository's root, two levels above this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// The README's "first ten minutes" are docs/first-ten-minutes.sh, shown
// whole, and the script works against a fresh server: run as a newcomer
// would, from the repository's root with bin/avenir built.
func TestTheFirstTenMinutesOfTheReadmeWork(t *testing.T) {
	root := repoRoot(t)
	script, err := os.ReadFile(filepath.Join(root, "docs", "first-ten-minutes.sh"))
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, body, _ := strings.Cut(string(script), "\n") // the README leaves the shebang out
	if !strings.Contains(string(readme), "## The first ten minutes") || !strings.Contains(string(readme), "```sh\n"+body+"```\n") {
		t.Fatal("README.md does not show docs/first-ten-minutes.sh as it is: copy the script into its \"first ten minutes\" section")
	}

	// A stand-in for the repository's root: the script's bin/avenir and
	// docs/examples, the server's data dir (as make run's ./data).
	dir := t.TempDir()
	for _, d := range []string{"bin", "docs"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(binary, filepath.Join(dir, "bin", "avenir")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(root, "docs", "examples"), filepath.Join(dir, "docs", "examples")); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, filepath.Join(dir, "data"))
	cmd := exec.Command("bash", filepath.Join(root, "docs", "first-ten-minutes.sh"))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "AVENIR_ADDR="+srv.GRPC, "AVENIR_TOKEN=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the first ten minutes failed: %v\n%s\nserver:\n%s", err, out, srv.out)
	}
	for _, want := range []string{"Anne Leroy", "needs-analysed", "Needs analysis completed", "TOTAL          193,75 €"} {
		if !strings.Contains(string(out), want) {
			t.Fatalf("no %q in what the first ten minutes print:\n%s", want, out)
		}
	}
}
