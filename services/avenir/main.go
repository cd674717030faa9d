// Command avenir runs the #Avenir services and talks to them.
package main

import (
	"context"
	"os"

	"github.com/avenir-normandie/avenir/services/avenir/cli"
)

func main() {
	os.Exit(cli.Main(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}
