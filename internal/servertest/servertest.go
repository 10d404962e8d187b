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
	"context"
	"net"
	"os/exec"
	"path/filepath"
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
// shutdown (bounded by ShutdownTimeout) in t.Cleanup, and returns the
// first address it listens on ("127.0.0.1:port", or a socket path).
func Start(t testing.TB, s Server) string {
	t.Helper()
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
		defer cancel()
		_ = s.Shutdown(ctx)
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

// FreeAddr returns a loopback address no one listens on right now, for a
// program started with -addr.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
