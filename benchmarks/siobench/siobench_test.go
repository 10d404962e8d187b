package siobench

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/gnetty/gnetty/benchmarks/internal/peer"
)

var (
	duration = flag.Duration("sio.duration", 5*time.Second, "length of each load run")
	conns    = flag.Int("sio.conns", 100, "connections of the echo load")
	members  = flag.Int("sio.members", 1000, "room members of the broadcast load")
)

var impls = []string{"gnetty", "node", "zishang520"}

// TestMain doubles as the gnetty server and the load process.
func TestMain(m *testing.M) {
	a := func(k string) int { n, _ := strconv.Atoi(os.Getenv(k)); return n }
	d, _ := time.ParseDuration(os.Getenv("SIOB_DURATION"))
	peer.Main(m, "SIOB_CPUPROFILE",
		peer.Mode{Env: "SIOB_SERVER", Run: func(impl string) error {
			if impl == "zishang520" {
				return serveZishang(os.Getenv("SIOB_ADDR"))
			}
			return serveGnetty(os.Getenv("SIOB_ADDR"))
		}},
		peer.Mode{Env: "SIOB_LOAD", Run: func(load string) error {
			if load == "broadcast" {
				return runBroadcast(os.Getenv("SIOB_ADDR"), a("SIOB_MEMBERS"), a("SIOB_RATE"), d)
			}
			return runEcho(os.Getenv("SIOB_ADDR"), a("SIOB_CONNS"), a("SIOB_INFLIGHT"), a("SIOB_SIZE"), d)
		}})
}

type server struct {
	addr string
	pid  int
}

func startServer(b *testing.B, impl string) *server {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	var cmd *exec.Cmd
	switch impl {
	case "gnetty", "zishang520":
		cmd = peer.Self(0, []string{"SIOB_SERVER=" + impl, "SIOB_ADDR=" + addr})
	case "gnetty-wd10ms": // Config.WriteDelay 10 ms
		cmd = peer.Self(0, []string{"SIOB_SERVER=gnetty", "SIOB_WRITE_DELAY=10ms", "SIOB_ADDR=" + addr})
	case "node":
		dir, _ := filepath.Abs("../../tests/interop")
		_, port, _ := net.SplitHostPort(addr)
		cmd = peer.Pinned(0, []string{"PORT=" + port}, "node", filepath.Join(dir, "sio_bench_server.mjs"))
		cmd.Dir = dir
	}
	peer.Serve(b, cmd, addr)
	return &server{addr: addr, pid: cmd.Process.Pid}
}

func load(b *testing.B, s *server, env []string) {
	var res loadResult
	var cpu float64
	for range b.N {
		c0 := peer.CPUSeconds(s.pid)
		peer.Load(b, append(env, "SIOB_ADDR="+s.addr, "SIOB_PID="+strconv.Itoa(s.pid), "SIOB_DURATION="+duration.String()), &res)
		cpu = peer.CPUSeconds(s.pid) - c0
		if res.ServerCPU > 0 {
			cpu = res.ServerCPU // the measured window only, set-up excluded
		}
		if res.Errors > 0 {
			b.Fatalf("%d connection errors", res.Errors)
		}
	}
	b.ReportMetric(float64(res.Messages)/res.Seconds, "msg/s")
	if res.Offered > 0 {
		b.ReportMetric(float64(res.Offered)/res.Seconds, "offered/s")
	}
	b.ReportMetric(100*cpu/res.Seconds, "server-cpu-%")
	if cpu > 0 {
		b.ReportMetric(float64(res.Messages)/cpu, "msg/cpu-s")
	}
	b.ReportMetric(res.P50us, "p50-us")
	b.ReportMetric(res.P99us, "p99-us")
}

// BenchmarkEchoAck: -sio.conns connections, 8 acknowledged emits in
// flight each, 64 B payloads.
func BenchmarkEchoAck(b *testing.B) {
	for _, impl := range impls {
		b.Run(impl, func(b *testing.B) {
			s := startServer(b, impl)
			load(b, s, []string{"SIOB_LOAD=echo", "SIOB_CONNS=" + strconv.Itoa(*conns), "SIOB_INFLIGHT=8", "SIOB_SIZE=64"})
		})
	}
}

// BenchmarkBroadcast: a room of -sio.members, publishes at 50 and 200 a
// second (50k and 200k deliveries a second offered at 1,000 members).
func BenchmarkBroadcast(b *testing.B) {
	for _, rate := range []int{50, 200} {
		for _, impl := range append(impls, "gnetty-wd10ms") {
			b.Run(fmt.Sprintf("rate=%d/%s", rate, impl), func(b *testing.B) {
				s := startServer(b, impl)
				load(b, s, []string{"SIOB_LOAD=broadcast", "SIOB_MEMBERS=" + strconv.Itoa(*members), "SIOB_RATE=" + strconv.Itoa(rate)})
			})
		}
	}
}
