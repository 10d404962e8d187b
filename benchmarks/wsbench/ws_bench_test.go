package wsbench

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gnetty/gnetty/benchmarks/internal/peer"
)

var (
	duration = flag.Duration("ws.duration", 3*time.Second, "length of each load run")
	conns    = flag.Int("ws.conns", 1000, "connections per load run")
	idleN    = flag.Int("ws.idle", 10000, "connections for BenchmarkIdle")
)

var impls = []string{"rawgnet", "gnetty", "gorilla", "gobwas", "nbio"}

// TestMain doubles as the server and the load process.
func TestMain(m *testing.M) {
	a := func(k string) int { n, _ := strconv.Atoi(os.Getenv(k)); return n }
	d, _ := time.ParseDuration(os.Getenv("WSB_DURATION"))
	peer.Main(m, "WSB_CPUPROFILE",
		peer.Mode{Env: "WSB_SERVER", Run: func(impl string) error {
			if path := os.Getenv("WSB_HEAPPROFILE"); path != "" {
				writeHeapProfileOnSIGUSR1(path)
			}
			return serve(impl, os.Getenv("WSB_ADDR"))
		}},
		peer.Mode{Env: "WSB_LOAD", Run: func(load string) error {
			return runLoad(load, os.Getenv("WSB_ADDR"), a("WSB_CONNS"), a("WSB_INFLIGHT"), a("WSB_SIZE"), d)
		}},
		peer.Mode{Env: "WSB_HANDSHAKES", Run: func(kind string) error {
			return runHandshakes(os.Getenv("WSB_ADDR"), d, kind == "resumed")
		}},
		peer.Mode{Env: "WSB_HB", Run: func(n string) error {
			conns, _ := strconv.Atoi(n)
			var steps []int
			for _, f := range strings.Split(os.Getenv("WSB_HB_STEPS"), ",") {
				if k, e := strconv.Atoi(f); e == nil {
					steps = append(steps, k)
				}
			}
			return runHeartbeat(os.Getenv("WSB_ADDR"), conns, steps, d)
		}},
		peer.Mode{Env: "WSB_IDLE", Run: func(n string) error {
			conns, _ := strconv.Atoi(n)
			return runIdle(os.Getenv("WSB_ADDR"), conns)
		}})
}

// The server and load modes return from TestMain normally so that deferred
// work (the CPU profile) completes.

type server struct {
	cmd  *exec.Cmd
	addr string
	pid  int
}

func startServer(b *testing.B, impl string) *server { return startServerEnv(b, impl, nil) }

// startServerEnv starts impl's server process with env added.
func startServerEnv(b *testing.B, impl string, env []string) *server {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := peer.Self(0, append([]string{"WSB_SERVER=" + impl, "WSB_ADDR=" + addr}, env...))
	peer.Serve(b, cmd, addr)
	s := &server{cmd: cmd, addr: addr}
	s.pid = serverPID(cmd)
	return s
}

// serverPID finds the server process under taskset (taskset execs it, so
// the PID is the same).
func serverPID(cmd *exec.Cmd) int { return cmd.Process.Pid }

// rssKiB reads the process's resident memory.
func rssKiB(pid int) float64 { return peer.RSSKiB(pid) }

// BenchmarkEcho runs each server against the same load: one op is one run
// of -ws.duration (use -benchtime 1x).
func BenchmarkEcho(b *testing.B) {
	for _, size := range []int{64, 1024} {
		for _, inflight := range []int{1, 8} {
			for _, impl := range impls {
				b.Run(fmt.Sprintf("size=%d/inflight=%d/%s", size, inflight, impl), func(b *testing.B) {
					s := startServer(b, impl)
					res, cpu := echoLoad(b, s, impl, inflight, size, nil)
					report(b, res, cpu, s.pid)
				})
			}
		}
	}
}

// runLoadProcess runs a load process with env b.N times against s and
// returns its last result and the server CPU seconds of that run (of its
// measured window, for a load that marks one: the echo loads do).
func runLoadProcess(b *testing.B, s *server, env []string) (loadResult, float64) {
	var res loadResult
	var cpu float64
	for range b.N {
		cmd := peer.Self(1, env)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			b.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		c0 := peer.CPUSeconds(s.pid)
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		// A load that marks its measured window (windowStart and
		// windowStop lines) has the server's CPU counted within it;
		// otherwise over the whole process.
		var out []byte
		c1 := -1.0
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			switch line := sc.Text(); line {
			case windowStart:
				c0 = peer.CPUSeconds(s.pid)
			case windowStop:
				c1 = peer.CPUSeconds(s.pid)
			default:
				out = append(out, line...)
			}
		}
		if err := cmd.Wait(); err != nil {
			b.Fatalf("load: %v\n%s%s", err, out, stderr.String())
		}
		if c1 < 0 {
			c1 = peer.CPUSeconds(s.pid)
		}
		if err := json.Unmarshal(out, &res); err != nil {
			b.Fatalf("load output %q: %v", out, err)
		}
		cpu = c1 - c0
		if res.Errors > 0 {
			b.Fatalf("%d connection errors", res.Errors)
		}
	}
	return res, cpu
}

// echoLoad runs the echo load (-ws.conns connections, inflight messages
// of size bytes in flight each) against s; extra is added to its
// environment (TLS).
func echoLoad(b *testing.B, s *server, impl string, inflight, size int, extra []string) (loadResult, float64) {
	return runLoadProcess(b, s, append([]string{
		"WSB_LOAD=" + impl, "WSB_ADDR=" + s.addr, "WSB_CONNS=" + strconv.Itoa(*conns),
		"WSB_INFLIGHT=" + strconv.Itoa(inflight), "WSB_SIZE=" + strconv.Itoa(size),
		"WSB_DURATION=" + duration.String(),
	}, extra...))
}

// The lines a load prints around the window it measures.
const (
	windowStart = "window-start"
	windowStop  = "window-stop"
)

// report records one load run's figures.
func report(b *testing.B, res loadResult, cpu float64, pid int) {
	b.ReportMetric(float64(res.Messages)/res.Seconds, "msg/s")
	b.ReportMetric(100*cpu/res.Seconds, "server-cpu-%")
	if cpu > 0 {
		b.ReportMetric(float64(res.Messages)/cpu, "msg/cpu-s")
	}
	b.ReportMetric(res.P50us, "p50-us")
	b.ReportMetric(res.P99us, "p99-us")
	b.ReportMetric(rssKiB(pid)/1024, "server-rss-MiB")
}

// BenchmarkIdle measures resident memory per idle upgraded connection.
func BenchmarkIdle(b *testing.B) {
	for _, impl := range impls[1:] {
		b.Run(impl, func(b *testing.B) {
			s := startServer(b, impl)
			for range b.N {
				b.ReportMetric(idleBytes(b, s, nil), "B/conn")
			}
		})
	}
}

// idleBytes opens -ws.idle upgraded connections to s from a load process
// and returns the server's resident memory growth per connection.
func idleBytes(b *testing.B, s *server, env []string) float64 {
	time.Sleep(200 * time.Millisecond)
	before := rssKiB(s.pid)
	cmd := peer.Self(1, append([]string{"WSB_IDLE=" + strconv.Itoa(*idleN), "WSB_ADDR=" + s.addr}, env...))
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "ready" {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		b.Fatalf("idle client: %q %v", line, err)
	}
	time.Sleep(500 * time.Millisecond)
	after := rssKiB(s.pid)
	stdin.Close()
	_ = cmd.Wait()
	return (after - before) * 1024 / float64(*idleN)
}

// writeHeapProfileOnSIGUSR1 makes the server write a heap profile to path
// each time it gets SIGUSR1 (after a GC, so the profile shows what is
// live) and its memory statistics to stderr: to see where an idle connection's bytes go, send it while the
// idle load holds its connections.
func writeHeapProfileOnSIGUSR1(path string) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGUSR1)
	go func() {
		for range sig {
			runtime.GC()
			if f, err := os.Create(path); err == nil {
				_ = pprof.Lookup("heap").WriteTo(f, 0)
				_ = f.Close()
			}
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			fmt.Fprintf(os.Stderr, "heap-alloc %d heap-inuse %d heap-idle %d heap-released %d stack-inuse %d sys %d next-gc %d\n",
				m.HeapAlloc, m.HeapInuse, m.HeapIdle, m.HeapReleased, m.StackInuse, m.Sys, m.NextGC)
		}
	}()
}
