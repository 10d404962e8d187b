package main

import (
	"bufio"
	"context"
	"log/slog"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gnetty/gnetty/bootstrap"
	"github.com/gnetty/gnetty/preset/websocket"
)

// startWsecho runs examples/wsecho in its own process on a free port and
// returns its address.
func startWsecho(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "wsecho")
	if out, err := exec.Command("go", "build", "-o", bin, "../wsecho").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		if _, url, ok := strings.Cut(sc.Text(), "url="); ok {
			go func() { // keep draining: a full pipe would stall the server
				for sc.Scan() {
				}
			}()
			return strings.TrimSuffix(strings.TrimPrefix(url, "ws://"), "/")
		}
	}
	t.Fatal("wsecho exited before it listened")
	return ""
}

// 10,000 outbound connections from this process to a server in another,
// each echoing once: while they idle, the process runs a handful of
// goroutines, not one per connection.
func TestTenThousandConnections(t *testing.T) {
	const n = 10_000
	addr := startWsecho(t)
	loops, err := bootstrap.NewClient(bootstrap.ClientConfig{Workers: 2, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer loops.Close()
	var echoed atomic.Int32
	allEchoed := make(chan struct{})
	h := websocket.Funcs{Message: func(c *websocket.Conn, _ websocket.MessageType, data []byte) {
		if string(data) == "ping" && echoed.Add(1) == n {
			close(allEchoed)
		}
	}}
	conns := make([]*websocket.Conn, n)
	var next atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for range 32 { // 32 dials at a time
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				c, _, err := websocket.Dial(context.Background(), "ws://"+addr+"/", websocket.DialConfig{Handler: h, Client: loops, HandshakeTimeout: time.Minute})
				if err != nil {
					errs <- err
					return
				}
				conns[i] = c
				_ = c.WriteText("ping")
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	select {
	case <-allEchoed:
	case <-time.After(5 * time.Minute):
		t.Fatalf("%d of %d echoes", echoed.Load(), n)
	}
	if got := loops.Stats().Active; got != n {
		t.Fatalf("%d connections open, want %d", got, n)
	}
	idle := runtime.NumGoroutine()
	t.Logf("%d connections idle, %d goroutines in the process", n, idle)
	if idle > 64 {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines for %d idle connections:\n%s", idle, n, buf[:runtime.Stack(buf, true)])
	}
	for _, c := range conns {
		c.Close(websocket.StatusNormalClosure, "")
	}
	deadline := time.Now().Add(2 * time.Minute)
	for loops.Stats().Active > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections still open after the close handshakes", loops.Stats().Active)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
