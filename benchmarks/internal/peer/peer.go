// Package peer holds what the end-to-end benchmarks share: the raw gnet
// echo server that is their floor, and running a server in its own process.
package peer

import (
	"context"
	"net"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/panjf2000/gnet/v2"
)

// rawEcho writes back exactly the bytes it reads.
type rawEcho struct {
	gnet.BuiltinEventEngine
	booted chan gnet.Engine
}

func (r *rawEcho) OnBoot(e gnet.Engine) gnet.Action { r.booted <- e; return gnet.None }

func (r *rawEcho) OnTraffic(c gnet.Conn) gnet.Action {
	buf, _ := c.Next(-1)
	_, _ = c.Write(buf)
	return gnet.None
}

type silent struct{}

func (silent) Debugf(string, ...any) {}
func (silent) Infof(string, ...any)  {}
func (silent) Warnf(string, ...any)  {}
func (silent) Errorf(string, ...any) {}
func (silent) Fatalf(string, ...any) {}

// RawEcho runs a one-loop gnet server on addr that echoes the bytes it
// reads, with no framing: the floor the benchmarks compare against. ready
// (if not nil) is closed once it listens; RawEcho returns when ctx ends
// and the engine has stopped.
func RawEcho(ctx context.Context, addr string, ready chan<- struct{}) error {
	r := &rawEcho{booted: make(chan gnet.Engine, 1)}
	done := make(chan error, 1)
	go func() {
		done <- gnet.Run(r, "tcp://"+addr, gnet.WithNumEventLoop(1), gnet.WithReuseAddr(true),
			gnet.WithTCPNoDelay(gnet.TCPNoDelay), gnet.WithLogger(silent{}))
	}()
	var eng gnet.Engine
	select {
	case eng = <-r.booted:
	case err := <-done:
		return err
	}
	if ready != nil {
		close(ready)
	}
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = eng.Stop(sctx)
	return <-done
}

// Serve starts cmd (a server process listening on addr), stops it with
// SIGTERM (then SIGKILL) when the benchmark ends, and returns once addr
// accepts connections.
func Serve(tb testing.TB, cmd *exec.Cmd, addr string) {
	tb.Helper()
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("server %v did not start: %v", cmd.Args, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
