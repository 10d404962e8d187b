// Package redistest starts a real redis-server on a free loopback port for
// tests (no persistence), and can stop and restart it on the same port to
// test failure handling. It takes another port when the one it picked is
// taken meanwhile, and checks that the server answering is the process it
// started (INFO's process_id), so parallel packages never share one. Tests fail, never skip, when redis-server is
// missing: .ci/run installs Debian's redis-server.
package redistest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Server is a running redis-server.
type Server struct {
	t      testing.TB
	Addr   string
	port   int
	cmd    *exec.Cmd
	exited chan struct{}
	dir    string   // with StartDurable: the append-only file's folder
	extra  []string // more arguments (StartWith)
	conf   string   // a config file to run with (sentinels rewrite theirs)
	// confText is the config file's text before the start, $PORT the port.
	confText string
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

// StartWith is Start with more redis-server arguments ("--replicaof",
// "127.0.0.1 6379"; "--cluster-enabled", "yes"), in a folder of the
// test's (where a cluster node writes its nodes.conf).
func StartWith(t testing.TB, extra ...string) *Server {
	t.Helper()
	return startServer(t, &Server{t: t, extra: append([]string{"--dir", t.TempDir()}, extra...)})
}

func start(t testing.TB, dir string) *Server {
	t.Helper()
	return startServer(t, &Server{t: t, dir: dir})
}

func startServer(t testing.TB, s *Server) *Server {
	t.Helper()
	t.Cleanup(s.Stop)
	// redis-server needs a port number, not port 0: take one the kernel
	// says is free, and take another when someone else binds it first
	// (packages run their tests in parallel).
	for try := 0; ; try++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		s.port = l.Addr().(*net.TCPAddr).Port
		l.Close()
		s.Addr = fmt.Sprintf("127.0.0.1:%d", s.port)
		err = s.run()
		if err == nil {
			return s
		}
		if !errors.Is(err, errPortTaken) || try == 20 {
			t.Fatal(err)
		}
	}
}

// Restart starts the server again (after Stop) on the same port; while
// another process holds the port, it tries again for up to 10 s.
func (s *Server) Restart() {
	s.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; {
		err := s.run()
		if err == nil {
			return
		}
		if !errors.Is(err, errPortTaken) || time.Now().After(deadline) {
			s.t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond) // the other process's pace, not ours
	}
}

// errPortTaken: the port was bound by another process.
var errPortTaken = errors.New("redistest: the port is taken")

// run starts redis-server on s.port and waits until it answers: it must
// be this process that answers (INFO's process_id), not another test's
// server that took the port.
func (s *Server) run() error {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return errors.New("redis-server is required (Debian package redis-server; .ci/run installs it)")
	}
	args := []string{"--port", fmt.Sprint(s.port), "--bind", "127.0.0.1", "--save", ""}
	if s.conf != "" {
		// A sentinel: its config file first, and it must be able to
		// rewrite it; it persists nothing else.
		if err := os.WriteFile(s.conf, []byte(strings.ReplaceAll(s.confText, "$PORT", fmt.Sprint(s.port))), 0o600); err != nil {
			return err
		}
		args = []string{s.conf, "--sentinel", "--port", fmt.Sprint(s.port), "--bind", "127.0.0.1"}
	} else if s.dir != "" {
		args = append(args, "--appendonly", "yes", "--appendfsync", "always", "--dir", s.dir)
	} else {
		args = append(args, "--appendonly", "no")
	}
	if s.conf == "" {
		args = append(args, s.extra...)
	}
	cmd := exec.Command(bin, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	for deadline := time.Now().Add(10 * time.Second); ; {
		select {
		case <-exited:
			if strings.Contains(out.String(), "already in use") {
				return errPortTaken
			}
			return fmt.Errorf("redis-server exited: %s", out.String())
		default:
		}
		switch pid, err := processID(s.Addr); {
		case err == nil && pid == cmd.Process.Pid:
			s.cmd, s.exited = cmd, exited
			return nil
		case err == nil:
			_ = cmd.Process.Kill()
			<-exited
			return errPortTaken // someone else's redis answers there
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-exited
			return fmt.Errorf("redis-server did not start: %s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// processID asks the Redis at addr for its process ID.
func processID(addr string) (int, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n")); err != nil {
		return 0, err
	}
	r := bufio.NewReader(c)
	head, err := r.ReadString('\n')
	if err != nil || !strings.HasPrefix(head, "$") {
		return 0, fmt.Errorf("redistest: INFO answered %q %v", head, err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(head[1:]))
	if err != nil {
		return 0, err
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(body), "\r\n") {
		if v, ok := strings.CutPrefix(line, "process_id:"); ok {
			return strconv.Atoi(v)
		}
	}
	return 0, errors.New("redistest: INFO has no process_id")
}

// Stop kills the server (as a crash would).
func (s *Server) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		<-s.exited
		s.cmd = nil
	}
}
