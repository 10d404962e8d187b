package main

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gnetty/gnetty/internal/servertest"
)

// TestEchoBinary builds the example, runs it as the README does, talks to
// it over TCP and stops it with SIGTERM.
func TestEchoBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin, addr := servertest.BuildBinary(t, "echo"), servertest.FreeAddr(t)

	cmd := exec.Command(bin, "-addr", addr)
	var logs strings.Builder
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})

	var c net.Conn
	var err error
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err = net.Dial("tcp", addr)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not come up: %v\n%s", err, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte("hello\r\nwor")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write([]byte("ld\n")); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(c)
	for _, want := range []string{"hello\n", "world\n"} {
		if got, err := r.ReadString('\n'); err != nil || got != want {
			t.Fatalf("got %q, %v; want %q", got, err, want)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
		if waitErr != nil {
			t.Fatalf("exit: %v\n%s", waitErr, logs.String())
		}
	case <-time.After(40 * time.Second):
		t.Fatal("server did not stop on SIGTERM")
	}
	if !strings.Contains(logs.String(), "gnetty: stopped") {
		t.Fatalf("no graceful stop in the log:\n%s", logs.String())
	}
}

// TestREADMEShowsThisProgram keeps the README's 20-line server identical to
// this example: every line of its Go block must appear here, in order.
func TestREADMEShowsThisProgram(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	start := strings.Index(text, "```go\n// echo writes")
	if start < 0 {
		t.Fatal("README has no echo server block")
	}
	block := text[start+len("```go\n"):]
	block = block[:strings.Index(block, "```")]
	rest := string(src)
	for _, line := range strings.Split(block, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		i := strings.Index(rest, line)
		if i < 0 {
			t.Fatalf("README line %q is not in main.go (in order)", line)
		}
		rest = rest[i+len(line):]
	}
}
