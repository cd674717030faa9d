// Package e2e runs journeys across services through the real avenir server:
// in-process, and as the built binary, killed and restarted on its data dir.
package e2e

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// binary is the avenir binary built once for the whole package.
var binary string

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		// make test-fast: journeys through the real server are the slow
		// tier, run by make test.
		fmt.Println("e2e: skipped in -short mode")
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "avenir-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "avenir")
	build := exec.Command("go", "build", "-o", binary, "github.com/avenir-normandie/avenir/services/avenir")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build avenir:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
