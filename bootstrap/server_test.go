package bootstrap_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gnetty/gnetty/bootstrap"
	"github.com/gnetty/gnetty/codec/frame"
	"github.com/gnetty/gnetty/internal/servertest"
	"github.com/gnetty/gnetty/pipeline"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// gnet starts a process-wide ants worker pool when its package is
		// initialised; its two housekeeping goroutines live as long as the
		// process and belong to no server.
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).purgeStaleWorkers"),
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).ticktock"),
	)
}

var quiet = slog.New(slog.DiscardHandler)

type echo struct{}

func (echo) HandleRead(ctx *pipeline.Context, msg any) { ctx.Write(msg) }
func (echo) HandleReadComplete(ctx *pipeline.Context)  { ctx.Flush() }

func lineEcho(ch *pipeline.Channel) {
	p := ch.Pipeline()
	_ = p.AddLast("lines", frame.NewLineDecoder(frame.LineConfig{}))
	_ = p.AddLast("string", frame.NewStringCodec(frame.StringConfig{Delimiter: "\n"}))
	_ = p.AddLast("echo", echo{})
}

// start runs a server on 127.0.0.1 with a free port and stops it at the
// end of the test.
func start(t testing.TB, cfg bootstrap.Config) *bootstrap.Server {
	t.Helper()
	if cfg.Addrs == nil {
		cfg.Addrs = []string{"tcp://127.0.0.1:0"}
	}
	if cfg.Workers == 0 {
		cfg.Workers = 2
	}
	if cfg.Logger == nil {
		cfg.Logger = quiet
	}
	s, err := bootstrap.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	servertest.Start(t, s)
	return s
}

func dial(t *testing.T, s *bootstrap.Server) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", s.Addrs()[0].String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	return c
}

func TestEchoManyClientsWithRandomSplits(t *testing.T) {
	s := start(t, bootstrap.Config{Initializer: lineEcho})
	const clients, lines = 200, 50
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.DialTimeout("tcp", s.Addrs()[0].String(), 5*time.Second)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(30 * time.Second))
			var payload []byte
			for j := range lines {
				payload = fmt.Appendf(payload, "client %d line %d %s\n", i, j, string(make([]byte, j%7)))
			}
			r := rand.New(rand.NewPCG(uint64(i), 7))
			go func() {
				rest := payload
				for len(rest) > 0 {
					n := 1 + r.IntN(min(len(rest), 97))
					if _, err := c.Write(rest[:n]); err != nil {
						return
					}
					rest = rest[n:]
				}
			}()
			got := make([]byte, len(payload))
			if _, err := io.ReadFull(c, got); err != nil {
				errs <- fmt.Errorf("client %d: %w", i, err)
				return
			}
			if string(got) != string(payload) {
				errs <- fmt.Errorf("client %d: echo differs", i)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if st := s.Stats(); st.Accepted != clients {
		t.Errorf("accepted %d, want %d", st.Accepted, clients)
	}
}

// capture records the channel of the latest connection.
type capture struct {
	chans chan *pipeline.Channel
}

func (c *capture) HandleActive(ctx *pipeline.Context) {
	c.chans <- ctx.Channel()
	ctx.FireActive()
}

func TestWritesFromOtherGoroutinesArriveInOrderBeforeClose(t *testing.T) {
	cp := &capture{chans: make(chan *pipeline.Channel, 1)}
	s := start(t, bootstrap.Config{Initializer: func(ch *pipeline.Channel) {
		_ = ch.Pipeline().AddLast("capture", cp)
	}})
	c := dial(t, s)
	ch := <-cp.chans
	const n = 5000
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range n {
			if i%3 == 0 {
				ch.WriteAndFlush(strconv.Itoa(i) + "\n")
			} else {
				ch.Write([]byte(strconv.Itoa(i) + "\n"))
			}
		}
		ch.Close() // everything written before must still arrive
	}()
	sc := bufio.NewScanner(c)
	i := 0
	for sc.Scan() {
		if sc.Text() != strconv.Itoa(i) {
			t.Fatalf("line %d is %q", i, sc.Text())
		}
		i++
	}
	wg.Wait()
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if i != n {
		t.Fatalf("got %d lines before EOF, want %d", i, n)
	}
}

type writability struct{ events chan bool }

func (w *writability) HandleWritabilityChanged(ctx *pipeline.Context, writable bool) {
	w.events <- writable
}

func TestWaterMarksFireForASlowReader(t *testing.T) {
	w := &writability{events: make(chan bool, 16)}
	cp := &capture{chans: make(chan *pipeline.Channel, 1)}
	s := start(t, bootstrap.Config{
		ChannelOptions: bootstrap.ChannelOptions{LowWaterMark: 64 << 10, HighWaterMark: 256 << 10, SocketSendBuffer: 16 << 10},
		Initializer: func(ch *pipeline.Channel) {
			_ = ch.Pipeline().AddLast("w", w)
			_ = ch.Pipeline().AddLast("capture", cp)
		}})
	c := dial(t, s)
	_ = c.(*net.TCPConn).SetReadBuffer(16 << 10)
	ch := <-cp.chans
	chunk := make([]byte, 32<<10)
	total := 0
	for total < 4<<20 && ch.IsWritable() {
		ch.WriteAndFlush(chunk)
		total += len(chunk)
		time.Sleep(time.Millisecond) // let the loop flush; the client reads nothing
	}
	select {
	case v := <-w.events:
		if v {
			t.Fatal("first event says writable")
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no unwritable event after %d bytes", total)
	}
	if ch.IsWritable() {
		t.Fatal("IsWritable still true")
	}
	if _, err := io.ReadFull(c, make([]byte, total)); err != nil {
		t.Fatal(err)
	}
	select {
	case v := <-w.events:
		if !v {
			t.Fatal("second event says unwritable")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no writable event after the client read everything")
	}
	if !ch.IsWritable() {
		t.Fatal("IsWritable still false")
	}
}

func TestMaxConnections(t *testing.T) {
	s := start(t, bootstrap.Config{MaxConnections: 2, Initializer: lineEcho})
	a, b := dial(t, s), dial(t, s)
	for _, c := range []net.Conn{a, b} {
		if _, err := c.Write([]byte("hi\n")); err != nil {
			t.Fatal(err)
		}
		if line, err := bufio.NewReader(c).ReadString('\n'); err != nil || line != "hi\n" {
			t.Fatalf("echo %q %v", line, err)
		}
	}
	over := dial(t, s)
	if n, err := over.Read(make([]byte, 1)); err == nil {
		t.Fatalf("connection over the limit read %d bytes", n)
	}
	if st := s.Stats(); st.Rejected != 1 || st.Active != 2 {
		t.Fatalf("stats %+v", st)
	}
	a.Close()
	deadline := time.Now().Add(5 * time.Second)
	for s.Stats().Active != 1 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	c := dial(t, s)
	if _, err := c.Write([]byte("again\n")); err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(c).ReadString('\n'); err != nil || line != "again\n" {
		t.Fatalf("after a slot freed: %q %v", line, err)
	}
}

type goodbye struct{}

func (goodbye) HandleUserEvent(ctx *pipeline.Context, ev any) {
	if _, ok := ev.(pipeline.ShutdownEvent); ok {
		ctx.WriteAndFlush("bye")
		ctx.Close()
		return
	}
	ctx.FireUserEvent(ev)
}

func TestShutdownClosesChannelsThatIgnoreTheEvent(t *testing.T) {
	s, err := bootstrap.New(bootstrap.Config{Addrs: []string{"127.0.0.1:0"}, Logger: quiet, Initializer: lineEcho})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	c := dial(t, s)
	if _, err := c.Write([]byte("x\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := bufio.NewReader(c).ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if rest, err := io.ReadAll(c); err != nil || len(rest) != 0 {
		t.Fatalf("read %q, %v after shutdown", rest, err)
	}
}

// A connection that arrives while the server drains is closed at once,
// without an initializer run for it; the draining one goes on.
func TestConnectionArrivingWhileDrainingIsRefused(t *testing.T) {
	var inits atomic.Int32
	draining := make(chan struct{}, 4)
	s, err := bootstrap.New(bootstrap.Config{Addrs: []string{"127.0.0.1:0"}, Logger: quiet, Workers: 1, Initializer: func(ch *pipeline.Channel) {
		inits.Add(1)
		lineEcho(ch)
		_ = ch.Pipeline().AddFirst("shutdown", pipeline.UserEventFunc(func(ctx *pipeline.Context, ev any) {
			if _, ok := ev.(pipeline.ShutdownEvent); ok {
				draining <- struct{}{} // the server drains from now on; this channel stays open
				return
			}
			ctx.FireUserEvent(ev)
		}))
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	a := dial(t, s)
	if _, err := a.Write([]byte("a\n")); err != nil {
		t.Fatal(err)
	}
	ra := bufio.NewReader(a)
	if _, err := ra.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(context.Background()) }()
	<-draining
	b := dial(t, s)
	if rest, err := io.ReadAll(b); err != nil || len(rest) != 0 {
		t.Fatalf("a connection while draining read %q, %v; want it closed", rest, err)
	}
	if n := inits.Load(); n != 1 {
		t.Fatalf("%d channels initialized, want 1", n)
	}
	if _, err := a.Write([]byte("still\n")); err != nil {
		t.Fatal(err)
	}
	if l, err := ra.ReadString('\n'); err != nil || l != "still\n" {
		t.Fatalf("the draining connection: %q %v", l, err)
	}
	a.Close()
	if err := <-shut; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
}

func TestGracefulShutdownSaysGoodbye(t *testing.T) {
	s, err := bootstrap.New(bootstrap.Config{
		Addrs:  []string{"tcp://127.0.0.1:0"},
		Logger: quiet,
		Initializer: func(ch *pipeline.Channel) {
			lineEcho(ch)
			_ = ch.Pipeline().AddLast("bye", goodbye{})
		}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	for range 20 {
		c := dial(t, s)
		if _, err := c.Write([]byte("x\n")); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	for _, c := range conns {
		if l, err := bufio.NewReader(c).ReadString('\n'); err != nil || l != "x\n" {
			t.Fatalf("%q %v", l, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	for _, c := range conns {
		rest, err := io.ReadAll(c)
		if err != nil || string(rest) != "bye\n" {
			t.Fatalf("after shutdown read %q, %v", rest, err)
		}
	}
	if _, err := net.DialTimeout("tcp", s.Addrs()[0].String(), time.Second); err == nil {
		t.Fatal("still accepting after shutdown")
	}
}

func TestShutdownClosesStragglersWhenContextEnds(t *testing.T) {
	// This protocol takes the shutdown event and never closes.
	stubborn := pipeline.UserEventFunc(func(ctx *pipeline.Context, ev any) {})
	s, err := bootstrap.New(bootstrap.Config{Addrs: []string{"127.0.0.1:0"}, Logger: quiet,
		Initializer: func(ch *pipeline.Channel) {
			lineEcho(ch)
			_ = ch.Pipeline().AddLast("stubborn", stubborn)
		}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	c := dial(t, s)
	if _, err := c.Write([]byte("x\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := bufio.NewReader(c).ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("shutdown = %v, want deadline exceeded", err)
	}
	if _, err := io.ReadAll(c); err != nil {
		t.Fatalf("connection not closed cleanly: %v", err)
	}
}

func TestGracefulCloseDeliversLargePendingOutput(t *testing.T) {
	const size = 8 << 20
	closed := make(chan struct{})
	s := start(t, bootstrap.Config{ChannelOptions: bootstrap.ChannelOptions{SocketSendBuffer: 32 << 10}, Initializer: func(ch *pipeline.Channel) {
		_ = ch.Pipeline().AddLast("blast", pipeline.ActiveFunc(func(ctx *pipeline.Context) {
			ctx.WriteAndFlush(make([]byte, size))
			ctx.Close()
			close(closed)
		}))
	}})
	c := dial(t, s)
	_ = c.(*net.TCPConn).SetReadBuffer(32 << 10)
	<-closed // the close is asked for before the client reads a byte of the 8 MiB
	n, err := io.Copy(io.Discard, c)
	if err != nil || n != size {
		t.Fatalf("read %d bytes (%v), want %d", n, err, size)
	}
}

func TestPanicClosesOnlyThatConnection(t *testing.T) {
	var panics atomic.Int32
	s := start(t, bootstrap.Config{Initializer: func(ch *pipeline.Channel) {
		_ = ch.Pipeline().AddLast("err", pipeline.ErrorFunc(func(ctx *pipeline.Context, err error) {
			var pe *pipeline.PanicError
			if errors.As(err, &pe) {
				panics.Add(1)
			}
		}))
		lineEcho(ch)
		_ = ch.Pipeline().AddBefore("echo", "bomb", pipeline.ReadFunc(func(ctx *pipeline.Context, msg any) {
			if msg == "boom" {
				panic("boom")
			}
			ctx.FireRead(msg)
		}))
	}})
	good, bad := dial(t, s), dial(t, s)
	if _, err := bad.Write([]byte("boom\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(bad); err != nil {
		t.Fatalf("bad connection: %v", err)
	}
	if _, err := good.Write([]byte("fine\n")); err != nil {
		t.Fatal(err)
	}
	if l, err := bufio.NewReader(good).ReadString('\n'); err != nil || l != "fine\n" {
		t.Fatalf("good connection: %q %v", l, err)
	}
	if panics.Load() != 1 {
		t.Fatalf("%d panics reported", panics.Load())
	}
}

func TestTCPAndUnixTogether(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "echo.sock")
	s := start(t, bootstrap.Config{Addrs: []string{"tcp://127.0.0.1:0", "unix://" + sock}, Initializer: lineEcho})
	addrs := s.Addrs()
	if len(addrs) != 2 || addrs[1].Network() != "unix" {
		t.Fatalf("addrs %v", addrs)
	}
	for _, a := range addrs {
		c, err := net.DialTimeout(a.Network(), a.String(), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Write([]byte(a.Network() + "\n")); err != nil {
			t.Fatal(err)
		}
		if l, err := bufio.NewReader(c).ReadString('\n'); err != nil || l != a.Network()+"\n" {
			t.Fatalf("%s: %q %v", a, l, err)
		}
		c.Close()
	}
}

// closedPort returns a loopback port that refuses connections and that
// no other process can take while the test runs: a socket bound to it
// that never listens, closed at the end of the test.
func closedPort(t *testing.T) int {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return sa.(*syscall.SockaddrInet4).Port
}

// startOnFreePort starts a server made by mk on a loopback port of the
// kernel's choosing that every loop binds itself (SO_REUSEPORT needs one
// port number for all): when another process takes the port between the
// choice and the bind, it chooses again.
func startOnFreePort(t *testing.T, mk func(addr string) (*bootstrap.Server, error)) *bootstrap.Server {
	t.Helper()
	for try := 0; ; try++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		s, err := mk(fmt.Sprintf("tcp://127.0.0.1:%d", port))
		if err != nil {
			t.Fatal(err)
		}
		err = s.Start()
		if err == nil {
			return s
		}
		if !errors.Is(err, syscall.EADDRINUSE) && !strings.Contains(err.Error(), "address already in use") || try == 20 {
			t.Fatal(err)
		}
	}
}

func TestReusePortAndPolicies(t *testing.T) {
	cases := []struct {
		name      string
		reusePort bool
		lb        bootstrap.LoadBalancing
	}{
		{name: "reuseport", reusePort: true},
		{name: "least-connections", lb: bootstrap.LeastConnections},
		{name: "source-hash", lb: bootstrap.SourceAddrHash},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := startOnFreePort(t, func(addr string) (*bootstrap.Server, error) {
				return bootstrap.New(bootstrap.Config{
					Addrs:  []string{addr},
					Logger: quiet, Workers: 2, Initializer: lineEcho,
					ReusePort: tc.reusePort, LoadBalancing: tc.lb,
				})
			})
			defer func() {
				ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
				defer cancel()
				_ = s.Shutdown(ctx) // the clients are still connected: closed by force
			}()
			for i := range 8 {
				c := dial(t, s)
				msg := fmt.Sprintf("conn %d\n", i)
				if _, err := c.Write([]byte(msg)); err != nil {
					t.Fatal(err)
				}
				if l, err := bufio.NewReader(c).ReadString('\n'); err != nil || l != msg {
					t.Fatalf("%q %v", l, err)
				}
			}
		})
	}
}

func TestConfigValidation(t *testing.T) {
	local := []string{"127.0.0.1:0"}
	cases := []struct {
		name string
		cfg  bootstrap.Config
		want string // the error names the guard
	}{
		{name: "no address", cfg: bootstrap.Config{Initializer: lineEcho}, want: "no listen address"},
		{name: "no initializer", cfg: bootstrap.Config{Addrs: local}, want: "no channel initializer"},
		{name: "bad network", cfg: bootstrap.Config{Initializer: lineEcho, Addrs: []string{"udp://127.0.0.1:1"}}, want: "not supported"},
		{name: "bad address", cfg: bootstrap.Config{Initializer: lineEcho, Addrs: []string{"nonsense"}}, want: "nonsense"},
		{name: "empty unix socket path", cfg: bootstrap.Config{Initializer: lineEcho, Addrs: []string{"unix://"}}, want: "empty socket path"},
		{name: "reuseport port 0", cfg: bootstrap.Config{Initializer: lineEcho, Addrs: local, ReusePort: true}, want: "port 0 with ReusePort"},
		{name: "unknown load balancing", cfg: bootstrap.Config{Initializer: lineEcho, Addrs: local, LoadBalancing: bootstrap.LoadBalancing(99)}, want: "unknown load balancing 99"},
		{name: "marks inverted", cfg: bootstrap.Config{Initializer: lineEcho, Addrs: local, ChannelOptions: bootstrap.ChannelOptions{LowWaterMark: 10, HighWaterMark: 5}}, want: "water marks"},
		{name: "negative close timeout", cfg: bootstrap.Config{Initializer: lineEcho, Addrs: local, ChannelOptions: bootstrap.ChannelOptions{CloseTimeout: -time.Second}}, want: "negative CloseTimeout"},
		{name: "negative workers", cfg: bootstrap.Config{Initializer: lineEcho, Addrs: local, Workers: -1}, want: "negative setting"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := bootstrap.New(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
	// A port in use is reported by Start.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	s, err := bootstrap.New(bootstrap.Config{Initializer: lineEcho, Logger: quiet, Addrs: []string{l.Addr().String()}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err == nil {
		_ = s.Shutdown(context.Background())
		t.Fatal("listening on a taken port succeeded")
	}
}

// oneLinePerRead consumes a single line per read and re-arms with Wake
// when more is buffered: a decoder that yields early for fairness.
type oneLinePerRead struct{}

func (oneLinePerRead) HandleRead(ctx *pipeline.Context, msg any) {
	b := msg.(*pipeline.Bytes)
	data := b.Bytes()
	i := bytes.IndexByte(data, '\n')
	if i < 0 {
		return
	}
	ctx.WriteAndFlush(string(data[:i+1]))
	b.Skip(i + 1)
	if b.Len() > 0 {
		ctx.Channel().Wake()
	}
}

func TestWakeRedeliversUnconsumedBytes(t *testing.T) {
	s := start(t, bootstrap.Config{Initializer: func(ch *pipeline.Channel) {
		_ = ch.Pipeline().AddLast("one", oneLinePerRead{})
	}})
	c := dial(t, s)
	const payload = "1\n22\n333\n4444\n55555\n"
	if _, err := c.Write([]byte(payload)); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(payload))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != payload {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestTooMuchUnreadClosesTheChannel(t *testing.T) {
	errs := make(chan error, 1)
	s := start(t, bootstrap.Config{ChannelOptions: bootstrap.ChannelOptions{MaxUnreadBytes: 1024}, Initializer: func(ch *pipeline.Channel) {
		_ = ch.Pipeline().AddLast("hoard", pipeline.ReadFunc(func(ctx *pipeline.Context, msg any) {})) // consumes nothing
		_ = ch.Pipeline().AddLast("err", pipeline.ErrorFunc(func(ctx *pipeline.Context, err error) { errs <- err }))
	}})
	c := dial(t, s)
	if _, err := c.Write(make([]byte, 4096)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(c); err != nil {
		t.Fatalf("not closed cleanly: %v", err)
	}
	if err := <-errs; !errors.Is(err, bootstrap.ErrTooMuchUnread) {
		t.Fatalf("error %v", err)
	}
}

func TestShutdownBeforeStartWins(t *testing.T) {
	s, err := bootstrap.New(bootstrap.Config{Addrs: []string{"127.0.0.1:0"}, Logger: quiet, Initializer: lineEcho})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // a lost Shutdown would serve until then
	defer cancel()
	if err := s.Serve(ctx); !errors.Is(err, bootstrap.ErrServerClosed) {
		t.Fatalf("Serve after Shutdown = %v, want ErrServerClosed", err)
	}
	if err := s.Start(); !errors.Is(err, bootstrap.ErrServerClosed) {
		t.Fatalf("Start after Shutdown = %v, want ErrServerClosed", err)
	}
	if s.Addrs() != nil {
		t.Fatalf("a closed server listens on %v", s.Addrs())
	}
}

// TestServeAndShutdownRace runs Serve and Shutdown from several goroutines
// at once (under -race in CI): every call returns, and afterwards nothing
// listens and no channel is left open, whichever call came first.
func TestServeAndShutdownRace(t *testing.T) {
	for round := range 10 {
		s, err := bootstrap.New(bootstrap.Config{Addrs: []string{"127.0.0.1:0"}, Workers: 1, Logger: quiet, Initializer: lineEcho})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if i%2 == 0 {
					err := s.Serve(ctx)
					if err != nil && !errors.Is(err, bootstrap.ErrServerClosed) {
						errs <- fmt.Errorf("Serve: %w", err)
					}
					return
				}
				if err := s.Shutdown(context.Background()); err != nil {
					errs <- fmt.Errorf("Shutdown: %w", err)
				}
			}()
		}
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cancel()
			t.Fatalf("round %d: Serve/Shutdown did not return", round)
		}
		cancel()
		close(errs)
		for err := range errs {
			t.Fatalf("round %d: %v", round, err)
		}
		for _, a := range s.Addrs() {
			if c, err := net.DialTimeout("tcp", a.String(), time.Second); err == nil {
				c.Close()
				t.Fatalf("round %d: %v still accepts after Shutdown", round, a)
			}
		}
		if st := s.Stats(); st.Active != 0 {
			t.Fatalf("round %d: %d channels open", round, st.Active)
		}
	}
}

// The loop's clock is read once per callback: every message of one read
// sees the same time, and a later read a later one.
func TestLoopClockIsReadOncePerCallback(t *testing.T) {
	type stamp struct{ a, b time.Time }
	stamps := make(chan stamp, 4)
	s := start(t, bootstrap.Config{Initializer: func(ch *pipeline.Channel) {
		_ = ch.Pipeline().AddLast("clock", pipeline.ReadFunc(func(ctx *pipeline.Context, msg any) {
			a := ctx.EventLoop().Now()
			busy := time.Now()
			for time.Since(busy) < time.Millisecond { // the wall clock moves on
			}
			stamps <- stamp{a, ctx.EventLoop().Now()}
			msg.(*pipeline.Bytes).Skip(msg.(*pipeline.Bytes).Len())
		}))
	}})
	c := dial(t, s)
	_, _ = c.Write([]byte("x"))
	first := <-stamps
	if !first.a.Equal(first.b) {
		t.Fatalf("two reads of the clock in one callback differ: %v, %v", first.a, first.b)
	}
	_, _ = c.Write([]byte("y"))
	if second := <-stamps; !second.a.After(first.a) {
		t.Fatalf("the next callback's clock %v is not after %v", second.a, first.a)
	}
}

// TestGCSettingsApplyAtStart: GCPercent and MemoryLimit reach the runtime
// when the server starts (and are restored here for the other tests).
func TestGCSettingsApplyAtStart(t *testing.T) {
	oldPercent := debug.SetGCPercent(100)
	debug.SetGCPercent(oldPercent)
	oldLimit := debug.SetMemoryLimit(-1)
	t.Cleanup(func() {
		debug.SetGCPercent(oldPercent)
		debug.SetMemoryLimit(oldLimit)
	})
	s, err := bootstrap.New(bootstrap.Config{
		Addrs: []string{"127.0.0.1:0"}, Workers: 1, Logger: slog.New(slog.DiscardHandler),
		GCPercent: 321, MemoryLimit: 3 << 30,
		Initializer: func(*pipeline.Channel) {},
	})
	if err != nil {
		t.Fatal(err)
	}
	servertest.Start(t, s)
	if p := debug.SetGCPercent(oldPercent); p != 321 {
		t.Fatalf("GC percent %d", p)
	}
	if l := debug.SetMemoryLimit(-1); l != 3<<30 {
		t.Fatalf("memory limit %d", l)
	}
}
