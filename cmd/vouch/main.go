// Command vouch is the key server, client and debugging tool of the vouch
// project: the trust layer of Matrix end-to-end encryption.
//
// main only wires the process to run; every subcommand lives in its own file
// of this package and delegates its work to the library packages.
package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// stdio is the process's standard streams, passed down so that tests can run
// the command in-process with buffers.
type stdio struct {
	in  io.Reader
	out io.Writer
	err io.Writer
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], stdio{in: os.Stdin, out: os.Stdout, err: os.Stderr})
	stop()
	os.Exit(code)
}
