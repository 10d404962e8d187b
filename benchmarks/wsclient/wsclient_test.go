// Package wsclient compares WebSocket clients end to end over loopback:
// gnetty's (websocket.Dial, on event loops), gorilla/websocket's (a
// goroutine per connection) and lesismal/nbio's (an event loop), each
// against one and the same server, gnetty's preset/websocket echo.
//
// The server runs in its own process pinned to CPU 0 with GOMAXPROCS=1;
// each client is another process pinned to CPU 1 with GOMAXPROCS=1. Every
// client connection keeps n messages in flight: it sends n, and sends
// each echo it receives back again. The figure is messages received per
// client CPU-second (the client's user and system time over the measured
// window, from /proc), beside messages per second. BenchmarkIdle measures
// resident memory per idle client connection at -wc.idle connections,
// and, in the same run, the server's per connection for the same
// connections.
//
//	cd benchmarks && go test -run '^$' -bench . -benchtime 1x ./wsclient
package wsclient

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	gorilla "github.com/gorilla/websocket"
	"github.com/lesismal/nbio/logging"
	"github.com/lesismal/nbio/nbhttp"
	nbws "github.com/lesismal/nbio/nbhttp/websocket"

	"github.com/gnetty/gnetty/benchmarks/internal/peer"
	"github.com/gnetty/gnetty/bootstrap"
	gws "github.com/gnetty/gnetty/preset/websocket"
)

var (
	duration = flag.Duration("wc.duration", 3*time.Second, "length of each load run")
	conns    = flag.Int("wc.conns", 1000, "connections per load run")
	idleN    = flag.Int("wc.idle", 10000, "connections for BenchmarkIdle")
)

var clients = []string{"gnetty", "gorilla", "nbio"}

func TestMain(m *testing.M) {
	a := func(k string) int { n, _ := strconv.Atoi(os.Getenv(k)); return n }
	d, _ := time.ParseDuration(os.Getenv("WC_DURATION"))
	peer.Main(m, "WC_CPUPROFILE",
		peer.Mode{Env: "WC_SERVER", Run: func(addr string) error { return serve(addr) }},
		peer.Mode{Env: "WC_LOAD", Run: func(impl string) error {
			return runLoad(impl, os.Getenv("WC_ADDR"), a("WC_CONNS"), a("WC_INFLIGHT"), a("WC_SIZE"), d)
		}},
		peer.Mode{Env: "WC_IDLE", Run: func(impl string) error { return runIdle(impl, os.Getenv("WC_ADDR"), a("WC_CONNS")) }})
}

// serve runs the one server every client talks to: gnetty's echo.
func serve(addr string) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	echo := gws.Funcs{Message: func(c *gws.Conn, typ gws.MessageType, data []byte) { _ = c.WriteMessage(typ, data) }}
	s, err := gws.New(gws.Config{
		Addrs:  []string{addr},
		Routes: map[string]gws.Handler{"/": echo},
		Server: bootstrap.Config{Workers: 1, Logger: slog.New(slog.DiscardHandler)},
	})
	if err != nil {
		return err
	}
	return s.Serve(ctx)
}

type server struct {
	addr string
	pid  int
}

func startServer(b *testing.B) *server {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := peer.Self(0, []string{"WC_SERVER=" + addr})
	peer.Serve(b, cmd, addr)
	return &server{addr: addr, pid: cmd.Process.Pid}
}

// loadResult is what a load process prints.
type loadResult struct {
	Messages int64   `json:"messages"`
	Seconds  float64 `json:"seconds"`
	Errors   int64   `json:"errors"`
}

// The lines a load prints around the window it measures.
const (
	windowStart = "window-start"
	windowStop  = "window-stop"
)

// BenchmarkClientEcho runs each client against the same server: one op
// is one run of -wc.duration (use -benchtime 1x).
func BenchmarkClientEcho(b *testing.B) {
	s := startServer(b)
	for _, size := range []int{64, 1024} {
		for _, inflight := range []int{1, 8} {
			for _, impl := range clients {
				b.Run(fmt.Sprintf("size=%d/inflight=%d/%s", size, inflight, impl), func(b *testing.B) {
					for range b.N {
						res, cpu := runLoadProcess(b, []string{"WC_LOAD=" + impl, "WC_ADDR=" + s.addr,
							"WC_CONNS=" + strconv.Itoa(*conns), "WC_INFLIGHT=" + strconv.Itoa(inflight),
							"WC_SIZE=" + strconv.Itoa(size), "WC_DURATION=" + duration.String()})
						b.ReportMetric(float64(res.Messages)/res.Seconds, "msg/s")
						b.ReportMetric(100*cpu/res.Seconds, "client-cpu-%")
						if cpu > 0 {
							b.ReportMetric(float64(res.Messages)/cpu, "msg/cpu-s")
						}
					}
				})
			}
		}
	}
}

// runLoadProcess runs one client process and returns its result and its
// own CPU seconds within the window it marks.
func runLoadProcess(b *testing.B, env []string) (loadResult, float64) {
	cmd := peer.Self(1, env)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	pid := cmd.Process.Pid
	var out []byte
	c0, c1 := -1.0, -1.0
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		switch line := sc.Text(); line {
		case windowStart:
			c0 = peer.CPUSeconds(pid)
		case windowStop:
			c1 = peer.CPUSeconds(pid)
		default:
			out = append(out, line...)
		}
	}
	if err := cmd.Wait(); err != nil {
		b.Fatalf("load: %v\n%s%s", err, out, stderr.String())
	}
	var res loadResult
	if err := json.Unmarshal(out, &res); err != nil {
		b.Fatalf("load output %q: %v", out, err)
	}
	if res.Errors > 0 {
		b.Fatalf("%d connection errors: %s", res.Errors, stderr.String())
	}
	if c0 < 0 || c1 < 0 {
		b.Fatal("the load marked no window")
	}
	return res, c1 - c0
}

// payload is size bytes of binary data.
func payload(size int) []byte {
	p := make([]byte, size)
	for i := range p {
		p[i] = byte('a' + i%26)
	}
	return p
}

// runLoad opens conns connections of impl, keeps inflight messages in
// flight on each, and prints the messages received within a window of d.
func runLoad(impl, addr string, conns, inflight, size int, d time.Duration) error {
	var received atomic.Int64
	cl, err := dialAll(impl, addr, conns, &received)
	if err != nil {
		return err
	}
	defer cl.close()
	msg := payload(size)
	for i := range conns {
		for range inflight {
			if err := cl.send(i, msg); err != nil {
				return err
			}
		}
	}
	time.Sleep(500 * time.Millisecond) // warm up
	fmt.Println(windowStart)
	n0, t0 := received.Load(), time.Now()
	time.Sleep(d)
	n1, el := received.Load(), time.Since(t0).Seconds()
	fmt.Println(windowStop)
	return json.NewEncoder(os.Stdout).Encode(loadResult{Messages: n1 - n0, Seconds: el, Errors: cl.errors.Load()})
}

// clientSet is conns connections of one client library that send every
// message they receive back.
type clientSet struct {
	send   func(i int, msg []byte) error
	close  func()
	errors atomic.Int64
}

func dialAll(impl, addr string, n int, received *atomic.Int64) (*clientSet, error) {
	url := "ws://" + addr + "/"
	cs := &clientSet{}
	switch impl {
	case "gnetty":
		loops, err := bootstrap.NewClient(bootstrap.ClientConfig{Workers: 1, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			return nil, err
		}
		h := gws.Funcs{
			Message: func(c *gws.Conn, typ gws.MessageType, data []byte) {
				received.Add(1)
				_ = c.WriteMessage(typ, data)
			},
		}
		cc := make([]*gws.Conn, n)
		for i := range n {
			c, _, err := gws.Dial(context.Background(), url, gws.DialConfig{Handler: h, Client: loops})
			if err != nil {
				return nil, err
			}
			cc[i] = c
		}
		cs.send = func(i int, msg []byte) error { return cc[i].WriteBinary(msg) }
		cs.close = func() { _ = loops.Close() }
	case "gorilla":
		cc := make([]*gorilla.Conn, n)
		mu := make([]sync.Mutex, n) // the first sends race the echo loop's writes
		for i := range n {
			c, _, err := gorilla.DefaultDialer.Dial(url, nil)
			if err != nil {
				return nil, err
			}
			cc[i] = c
			go func() {
				for {
					typ, data, err := c.ReadMessage()
					if err != nil {
						return
					}
					received.Add(1)
					mu[i].Lock()
					err = c.WriteMessage(typ, data)
					mu[i].Unlock()
					if err != nil {
						cs.errors.Add(1)
						return
					}
				}
			}()
		}
		cs.send = func(i int, msg []byte) error {
			mu[i].Lock()
			defer mu[i].Unlock()
			return cc[i].WriteMessage(gorilla.BinaryMessage, msg)
		}
		cs.close = func() {
			for _, c := range cc {
				c.Close()
			}
		}
	case "nbio":
		logging.SetLevel(logging.LevelNone) // its log goes to stdout, which carries the results
		engine := nbhttp.NewEngine(nbhttp.Config{NPoller: 1})
		if err := engine.Start(); err != nil {
			return nil, err
		}
		up := nbws.NewUpgrader()
		up.OnMessage(func(c *nbws.Conn, typ nbws.MessageType, data []byte) {
			received.Add(1)
			_ = c.WriteMessage(typ, data)
		})
		cc := make([]*nbws.Conn, n)
		for i := range n {
			d := &nbws.Dialer{Engine: engine, Upgrader: up, DialTimeout: 10 * time.Second}
			c, _, err := d.Dial(url, nil)
			if err != nil {
				return nil, err
			}
			cc[i] = c
		}
		cs.send = func(i int, msg []byte) error { return cc[i].WriteMessage(nbws.BinaryMessage, msg) }
		cs.close = func() { engine.Stop() }
	default:
		return nil, fmt.Errorf("unknown client %q", impl)
	}
	return cs, nil
}

// BenchmarkIdle opens -wc.idle idle connections from each client and
// reports the client's resident memory per connection, and the server's
// for the same connections.
func BenchmarkIdle(b *testing.B) {
	for _, impl := range clients {
		b.Run(impl, func(b *testing.B) {
			s := startServer(b)
			for range b.N {
				client, server := idleBytes(b, s, impl)
				b.ReportMetric(client, "client-B/conn")
				b.ReportMetric(server, "server-B/conn")
				b.ReportMetric(client/server, "client/server")
			}
		})
	}
}

// idleBytes runs an idle client process and returns the client's and the
// server's resident memory growth per connection.
func idleBytes(b *testing.B, s *server, impl string) (client, server float64) {
	cmd := peer.Self(1, []string{"WC_IDLE=" + impl, "WC_ADDR=" + s.addr, "WC_CONNS=" + strconv.Itoa(*idleN)})
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { stdin.Close(); _ = cmd.Wait() }()
	br := bufio.NewReader(stdout)
	expect := func(want string) {
		line, err := br.ReadString('\n')
		if err != nil || strings.TrimSpace(line) != want {
			_ = cmd.Process.Kill()
			b.Fatalf("idle client: %q %v, want %q", line, err, want)
		}
	}
	expect("baseline") // started, nothing dialled
	time.Sleep(200 * time.Millisecond)
	c0, s0 := peer.RSSKiB(cmd.Process.Pid), peer.RSSKiB(s.pid)
	_, _ = io.WriteString(stdin, "go\n")
	expect("ready")
	time.Sleep(500 * time.Millisecond)
	c1, s1 := peer.RSSKiB(cmd.Process.Pid), peer.RSSKiB(s.pid)
	n := float64(*idleN)
	return (c1 - c0) * 1024 / n, (s1 - s0) * 1024 / n
}

// runIdle starts impl's client, reports "baseline", dials n connections
// when told, reports "ready" and holds them until stdin ends.
func runIdle(impl, addr string, n int) error {
	var received atomic.Int64
	// The libraries' own start-up (engines, loops) belongs to the
	// baseline: start them with one connection, which the figure leaves
	// out of neither side (it is there before and after).
	warm, err := dialAll(impl, addr, 1, &received)
	if err != nil {
		return err
	}
	defer warm.close()
	fmt.Println("baseline")
	in := bufio.NewReader(os.Stdin)
	if _, err := in.ReadString('\n'); err != nil {
		return err
	}
	cl, err := dialAll(impl, addr, n, &received)
	if err != nil {
		return err
	}
	defer cl.close()
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, in)
	return nil
}
