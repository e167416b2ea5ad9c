//go:build linux

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPTY returns the controller and the terminal side of a new
// pseudo-terminal (Linux /dev/ptmx), with the controller's output drained.
func openPTY(t *testing.T) (ptmx, tty *os.File) {
	ptmx, tty = openRawPTY(t)
	go io.Copy(io.Discard, ptmx) // drain the prompt
	return ptmx, tty
}

// openRawPTY is openPTY without the draining: the test reads the controller.
func openRawPTY(t *testing.T) (ptmx, tty *os.File) {
	t.Helper()
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { ptmx.Close() })
	if err := unix.IoctlSetPointerInt(int(ptmx.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Skipf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetInt(int(ptmx.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Skipf("ptsname: %v", err)
	}
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("open pts: %v", err)
	}
	t.Cleanup(func() { tty.Close() })
	return ptmx, tty
}

// TestPasswordPromptInterrupted: Ctrl-C (the command's context ending) at the
// password prompt stops the prompt at once with "interrupted" and gives the
// terminal its echo back, instead of waiting for Enter.
func TestPasswordPromptInterrupted(t *testing.T) {
	t.Setenv("VOUCH_PASSWORD", "") // restored after the test
	os.Unsetenv("VOUCH_PASSWORD")
	_, tty := openPTY(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := passwordSource(stdio{in: tty, out: io.Discard, err: io.Discard}, "Password: ")(ctx)
		done <- err
	}()
	time.Sleep(200 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "interrupted") {
			t.Fatalf("err = %v, want interrupted", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the prompt ignored the interrupt")
	}
	tio, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if tio.Lflag&unix.ECHO == 0 {
		t.Fatal("terminal echo left off after the interrupt")
	}
}

// TestProgressBarOnTerminal: on a terminal, progress is one line redrawn in
// place (carriage return, clear to end of line, a bar of #), finished with a
// newline; the plain "[n/N]" lines are for pipes (TestProgressPlainLines).
func TestProgressBarOnTerminal(t *testing.T) {
	ptmx, tty := openRawPTY(t)
	p, end := progressTo(tty)
	p(1, 4, "one")
	p(2, 4, "two")
	end()
	tty.Close()
	got, _ := io.ReadAll(ptmx) // ends with EIO once the terminal side is closed
	out := string(got)
	for _, want := range []string{"\r\x1b[K[#####...............] 1/4 one", "\r\x1b[K[##########..........] 2/4 two"} {
		if !strings.Contains(out, want) {
			t.Errorf("terminal output %q lacks %q", out, want)
		}
	}
	if strings.Contains(out, "[1/4]") || !strings.HasSuffix(strings.ReplaceAll(out, "\r\n", "\n"), "two\n") {
		t.Errorf("terminal output %q: want a bar finished by a newline", out)
	}
}

// TestPasswordPromptNoEcho: a password typed at the prompt is read, and the
// terminal does not echo it.
func TestPasswordPromptNoEcho(t *testing.T) {
	t.Setenv("VOUCH_PASSWORD", "") // restored after the test
	os.Unsetenv("VOUCH_PASSWORD")
	ptmx, tty := openRawPTY(t)
	echoed := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(ptmx)
		echoed <- string(b)
	}()
	got := make(chan string, 1)
	go func() {
		pw, err := passwordSource(stdio{in: tty, out: io.Discard, err: tty}, "Password: ")(context.Background())
		if err != nil {
			pw = "error: " + err.Error()
		}
		got <- pw
	}()
	time.Sleep(200 * time.Millisecond) // let the prompt turn echo off
	if _, err := ptmx.Write([]byte("hunter2\n")); err != nil {
		t.Fatal(err)
	}
	select {
	case pw := <-got:
		if pw != "hunter2" {
			t.Fatalf("password = %q", pw)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("no password read")
	}
	tty.Close()
	out := <-echoed
	if !strings.Contains(out, "Password: ") || strings.Contains(out, "hunter2") {
		t.Fatalf("terminal showed %q", out)
	}
}
