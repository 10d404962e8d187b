// Package redistest starts a real redis-server on a free loopback port for
// tests (no persistence), and can stop and restart it on the same port to
// test failure handling. Tests fail, never skip, when redis-server is
// missing: .ci/run installs Debian's redis-server.
package redistest

import (
	"fmt"
	"net"
	"os/exec"
	"testing"
	"time"
)

// Server is a running redis-server.
type Server struct {
	t    testing.TB
	Addr string
	port int
	cmd  *exec.Cmd
	dir  string // with StartDurable: the append-only file's folder
}

// Start runs redis-server on 127.0.0.1 and stops it when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	return start(t, "")
}

// StartDurable is Start with an append-only file fsynced on every write,
// in a folder of the test's: a Restart after Stop (kill -9) finds every
// acknowledged write again, as a production Redis with AOF would.
func StartDurable(t testing.TB) *Server {
	t.Helper()
	return start(t, t.TempDir())
}

func start(t testing.TB, dir string) *Server {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	s := &Server{t: t, port: port, Addr: fmt.Sprintf("127.0.0.1:%d", port), dir: dir}
	s.Restart()
	t.Cleanup(s.Stop)
	return s
}

// Restart starts the server again (after Stop) on the same port.
func (s *Server) Restart() {
	s.t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		s.t.Fatal("redis-server is required (Debian package redis-server; .ci/run installs it)")
	}
	args := []string{"--port", fmt.Sprint(s.port), "--bind", "127.0.0.1", "--save", ""}
	if s.dir != "" {
		args = append(args, "--appendonly", "yes", "--appendfsync", "always", "--dir", s.dir)
	} else {
		args = append(args, "--appendonly", "no")
	}
	s.cmd = exec.Command(bin, args...)
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err := net.Dial("tcp", s.Addr)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("redis-server did not start: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop kills the server (as a crash would).
func (s *Server) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
		s.cmd = nil
	}
}
