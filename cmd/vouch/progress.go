package main

import (
	"fmt"
	"io"
	"strings"
)

// progressBar draws the progress of a long operation on w (stderr, so
// --json output stays clean): a redrawn bar when w is a terminal, plain
// "[done/total] what" lines otherwise. It serves both the account flows
// (bootstrap, identity reset) and key backup (restore, migrate).
type progressBar struct {
	w     io.Writer
	tty   bool
	width int
	// finish ends the bar's line as soon as done reaches total, for
	// operations whose last step is reported once.
	finish bool
	open   bool
}

// newProgressBar returns a bar width characters wide drawing on w.
func newProgressBar(w io.Writer, width int, finish bool) *progressBar {
	return &progressBar{w: w, tty: isTerminalWriter(w), width: width, finish: finish}
}

// draw shows done of total, described by what. A total of zero is drawn
// as a full bar: nothing is left to do.
func (p *progressBar) draw(done, total int, what string) {
	if !p.tty {
		fmt.Fprintf(p.w, "[%d/%d] %s\n", done, total, what)
		return
	}
	n := p.width * min(done, total) / max(total, 1)
	if total == 0 {
		n = p.width
	}
	fmt.Fprintf(p.w, "\r\033[K[%s%s] %d/%d %s", strings.Repeat("#", n), strings.Repeat(".", p.width-n), done, total, what)
	p.open = true
	if p.finish && done >= total {
		p.end()
	}
}

// end finishes a bar left mid-line, so that what follows (an error
// message) starts on its own line.
func (p *progressBar) end() {
	if p.open {
		fmt.Fprintln(p.w)
		p.open = false
	}
}
