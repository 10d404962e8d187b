// Package servertest starts a gnetty server for a test and stops it when
// the test ends: the one copy of "Start, fail the test on error, Shutdown
// in Cleanup" that the tests of bootstrap, the presets and the examples
// share.
//
// # Concurrency
//
// Call Start on the test's goroutine; the Shutdown it registers runs in
// the test's Cleanup.
package servertest

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server is what every gnetty server offers: bootstrap.Server,
// websocket.Server and chat.Server.
type Server interface {
	Start() error
	Shutdown(ctx context.Context) error
	Addrs() []net.Addr
}

// ShutdownTimeout bounds the graceful shutdown run at the end of a test;
// connections still open then are closed by force.
const ShutdownTimeout = 10 * time.Second

// Start starts s, fails the test if it cannot listen, registers its
// shutdown (bounded by ShutdownTimeout; the test fails if it does not
// succeed) in t.Cleanup, and returns the first address it listens on
// ("127.0.0.1:port", or a socket path).
func Start(t testing.TB, s Server) string {
	t.Helper()
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
		defer cancel()
		// A graceful shutdown that fails (or runs out of time) is a
		// regression, not a cleanup detail.
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("servertest: shutdown: %v", err)
		}
	})
	addrs := s.Addrs()
	if len(addrs) == 0 {
		t.Fatal("servertest: the server started but reports no address")
	}
	return addrs[0].String()
}

// BuildBinary builds the main package in the test's directory (go build)
// into a temporary folder and returns the program's path, as a test of a
// command runs it the way the README does.
func BuildBinary(t testing.TB, name string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), name)
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// PipelinedThenBad sends a GET request for each path and then a malformed
// request, all in one write, and checks what RFC 9112 asks of a server
// that reads them: every GET gets its own answer, in order, with the
// status in want (one status per path), then the malformed one gets 400,
// then the server closes the connection.
func PipelinedThenBad(t testing.TB, addr string, paths []string, want []int) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	var batch strings.Builder
	for _, p := range paths {
		batch.WriteString("GET " + p + " HTTP/1.1\r\nHost: " + addr + "\r\n\r\n")
	}
	batch.WriteString("NOT A REQUEST\r\n\r\n")
	if _, err := io.WriteString(c, batch.String()); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	for i, p := range paths {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("answer %d (GET %s) before the 400: %v", i+1, p, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want[i] {
			t.Fatalf("answer %d (GET %s): status %d, want %d", i+1, p, resp.StatusCode, want[i])
		}
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no 400 after the %d good answers: %v", len(paths), err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("the malformed request got %d, want 400", resp.StatusCode)
	}
	if rest, err := io.ReadAll(br); err != nil || len(rest) > 0 {
		t.Fatalf("after the 400: %q, %v; want the connection closed", rest, err)
	}
}

// Log is a buffer that goroutines may write to while a test reads it (a
// server's log sink, a command's output).
type Log struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *Log) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns what was written so far.
func (l *Log) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// WaitFor polls cond every 5 ms until it holds, and fails the test after
// 30 s (a generous bound: a busy 2-core machine is slow, never this slow)
// naming what it waited for. Tests wait for conditions, never for fixed
// sleeps.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
