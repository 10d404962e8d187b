package main

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
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
	bin := servertest.BuildBinary(t, "echo")

	cmd := exec.Command(bin, "-addr", "127.0.0.1:0") // a port of its own: it says which
	logs := &lockedLog{}
	cmd.Stderr = logs
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

	listening := regexp.MustCompile(`echo: listening" addr=(\S+)`)
	var addr string
	for deadline := time.Now().Add(10 * time.Second); addr == ""; {
		if m := listening.FindStringSubmatch(logs.String()); m != nil {
			addr = m[1]
			break
		}
		select {
		case <-exited:
			t.Fatalf("the server exited:\n%s", logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not come up:\n%s", logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
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

// lockedLog collects the process's stderr; safe to read while it writes.
type lockedLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
