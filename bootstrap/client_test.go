package bootstrap_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gnetty/gnetty/bootstrap"
	"github.com/gnetty/gnetty/codec/frame"
	"github.com/gnetty/gnetty/pipeline"
)

// collector gathers the strings a client channel receives.
type collector struct {
	mu    sync.Mutex
	lines []string
	got   chan struct{}
	want  int
}

func (c *collector) HandleRead(ctx *pipeline.Context, msg any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lines = append(c.lines, msg.(string))
	if len(c.lines) == c.want {
		close(c.got)
	}
}

func TestClientEchoAndTimers(t *testing.T) {
	s := start(t, bootstrap.Config{Initializer: lineEcho})
	cli, err := bootstrap.NewClient(bootstrap.ClientConfig{Workers: 2, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()

	const conns, lines = 20, 100
	cols := make([]*collector, conns)
	chans := make([]*pipeline.Channel, conns)
	for i := range conns {
		cols[i] = &collector{got: make(chan struct{}), want: lines}
		ch, err := cli.Dial(context.Background(), "tcp", s.Addrs()[0].String(), func(ch *pipeline.Channel) {
			_ = ch.Pipeline().AddLast("lines", frame.NewLineDecoder(frame.LineConfig{}))
			_ = ch.Pipeline().AddLast("strings", frame.NewStringCodec(frame.StringConfig{Delimiter: "\n"}))
			_ = ch.Pipeline().AddLast("collect", cols[i])
		})
		if err != nil {
			t.Fatal(err)
		}
		if !ch.IsActive() {
			t.Fatal("dialled channel not active")
		}
		chans[i] = ch
	}
	if st := cli.Stats(); st.Active != conns {
		t.Fatalf("client stats %+v, want %d active", st, conns)
	}
	for i, ch := range chans {
		for j := range lines {
			ch.Write(fmt.Sprintf("c%d-%d", i, j))
		}
		ch.Flush()
	}
	for i, col := range cols {
		select {
		case <-col.got:
		case <-time.After(10 * time.Second):
			t.Fatalf("client %d got %d lines", i, len(col.lines))
		}
		for j, l := range col.lines {
			if l != fmt.Sprintf("c%d-%d", i, j) {
				t.Fatalf("client %d line %d = %q", i, j, l)
			}
		}
	}

	// A timer on a client loop runs on that loop, after its delay.
	fired := make(chan bool, 1)
	start := time.Now()
	ch := chans[0]
	ch.Schedule(30*time.Millisecond, func() { fired <- ch.EventLoop().InLoop() })
	select {
	case inLoop := <-fired:
		if !inLoop {
			t.Fatal("timer ran off the loop")
		}
		if el := time.Since(start); el < 30*time.Millisecond {
			t.Fatalf("timer fired after %v", el)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("timer never fired")
	}
	stopped := ch.Schedule(20*time.Millisecond, func() { t.Error("stopped timer fired") })
	if !stopped.Stop() {
		t.Fatal("Stop returned false")
	}
	// Timers run in deadline order: once a later one has run, the
	// stopped one would have run before it.
	later := make(chan struct{})
	ch.Schedule(40*time.Millisecond, func() { close(later) })
	select {
	case <-later:
	case <-time.After(5 * time.Second):
		t.Fatal("the later timer never fired")
	}

	before := cli.Stats().Active
	ch.Close()
	select {
	case <-ch.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not complete")
	}
	for deadline := time.Now().Add(10 * time.Second); cli.Stats().Active != before-1; {
		if time.Now().After(deadline) {
			t.Fatalf("client stats %+v after a close, want %d active", cli.Stats(), before-1)
		}
		time.Sleep(time.Millisecond) // polling the counter, bounded
	}
}

func TestClientDialErrors(t *testing.T) {
	cli, err := bootstrap.NewClient(bootstrap.ClientConfig{Workers: 1, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	port := closedPort(t)
	if _, err := cli.Dial(context.Background(), "tcp", fmt.Sprintf("127.0.0.1:%d", port), nil); err == nil ||
		!strings.Contains(err.Error(), "refused") {
		t.Fatalf("dial to a closed port: %v", err)
	}
	_ = cli.Close()
	if _, err := cli.Dial(context.Background(), "tcp", "127.0.0.1:1", nil); err != bootstrap.ErrClientClosed {
		t.Fatalf("dial after close: %v", err)
	}
}

// The initializer a connection was dialled with (and all it captured) is
// garbage once the connection is open: it must not live as long as the
// connection.
func TestClientDoesNotKeepTheInitializer(t *testing.T) {
	s := start(t, bootstrap.Config{Initializer: lineEcho})
	cli, err := bootstrap.NewClient(bootstrap.ClientConfig{Workers: 1, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	var freed atomic.Bool
	ch, err := cli.Dial(context.Background(), "tcp", s.Addrs()[0].String(), initHolding(&freed))
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); !freed.Load(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the initializer's captures outlive the dial")
		}
		runtime.GC()
	}
	if !ch.IsActive() {
		t.Fatal("the connection closed")
	}
}

// initHolding returns an initializer that holds an object whose
// finalizer sets freed. (Not inlined: the closure must hold the object
// itself, not a variable of the caller's.)
//
//go:noinline
func initHolding(freed *atomic.Bool) func(*pipeline.Channel) {
	captured := new([64]byte)
	runtime.SetFinalizer(captured, func(*[64]byte) { freed.Store(true) })
	return func(ch *pipeline.Channel) {
		captured[0]++
		_ = ch.Pipeline().AddLast("lines", frame.NewLineDecoder(frame.LineConfig{}))
	}
}
