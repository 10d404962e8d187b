package httpbench

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/gnetty/gnetty/benchmarks/internal/peer"
	"github.com/gnetty/gnetty/bootstrap"
	"github.com/gnetty/gnetty/codec/http1"
	"github.com/gnetty/gnetty/handler/http/router"
	"github.com/gnetty/gnetty/pipeline"
)

var (
	wrkDuration = flag.Duration("wrk.duration", 3*time.Second, "length of each wrk run")
	wrkConns    = flag.Int("wrk.connections", 64, "wrk keep-alive connections")
)

const hello = "Hello, World!"

// TestMain doubles as the server process: the benchmark re-runs this test
// binary with GNETTY_BENCH_SERVER set.
func TestMain(m *testing.M) {
	peer.Main(m, "GNETTY_BENCH_CPUPROFILE",
		peer.Mode{Env: "GNETTY_BENCH_SERVER", Run: func(impl string) error { return serve(impl, os.Getenv("GNETTY_BENCH_ADDR")) }})
}

func serve(impl, addr string) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	switch impl {
	case "gnetty":
		r := router.New()
		if err := r.Handle("GET", "/", func(ctx *pipeline.Context, req *http1.Request) {
			resp := http1.NewResponse(req)
			resp.Header.Add("Content-Type", "text/plain; charset=utf-8")
			resp.Body = append(resp.Body, hello...)
			req.Release()
			ctx.WriteAndFlush(resp)
		}); err != nil {
			return err
		}
		s, err := bootstrap.New(bootstrap.Config{
			Addrs:   []string{addr},
			Workers: 1,
			Logger:  slog.New(slog.DiscardHandler),
			Initializer: func(ch *pipeline.Channel) {
				p := ch.Pipeline()
				_ = p.AddLast("http", http1.NewServerCodec(http1.Config{}))
				_ = p.AddLast("aggregator", http1.NewAggregator(0))
				_ = p.AddLast("router", r)
			},
		})
		if err != nil {
			return err
		}
		return s.Serve(ctx)
	case "nethttp":
		srv := &http.Server{Addr: addr, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = w.Write([]byte(hello))
		})}
		go func() { <-ctx.Done(); _ = srv.Close() }()
		if err := srv.ListenAndServe(); err != http.ErrServerClosed {
			return err
		}
		return nil
	case "fasthttp":
		srv := &fasthttp.Server{Handler: func(c *fasthttp.RequestCtx) {
			c.SetContentType("text/plain; charset=utf-8")
			c.SetBodyString(hello)
		}}
		go func() { <-ctx.Done(); _ = srv.Shutdown() }()
		return srv.ListenAndServe(addr)
	}
	return fmt.Errorf("unknown server %q", impl)
}

var (
	reqsRE    = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	latencyRE = regexp.MustCompile(`Latency\s+([0-9.]+)(us|ms|s)`)
)

func freeAddr(b *testing.B) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// pin runs a command on one CPU when the machine has two or more.
func pin(cpu int, name string, args ...string) *exec.Cmd {
	if runtime.NumCPU() >= 2 {
		if ts, err := exec.LookPath("taskset"); err == nil {
			return exec.Command(ts, append([]string{"-c", strconv.Itoa(cpu), name}, args...)...)
		}
	}
	return exec.Command(name, args...)
}

func BenchmarkHelloWorld(b *testing.B) {
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		b.Fatal("wrk is required (Debian package wrk)")
	}
	self, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	for _, impl := range []string{"gnetty", "nethttp", "fasthttp"} {
		b.Run(impl, func(b *testing.B) {
			addr := freeAddr(b)
			srv := pin(0, self, "-test.run=^$")
			srv.Env = append(os.Environ(), "GNETTY_BENCH_SERVER="+impl, "GNETTY_BENCH_ADDR="+addr, "GOMAXPROCS=1")
			srv.Stderr = os.Stderr
			peer.Serve(b, srv, addr)
			b.ResetTimer()
			var total float64
			for range b.N {
				out, err := pin(1, wrk, "-t1", fmt.Sprintf("-c%d", *wrkConns), fmt.Sprintf("-d%s", *wrkDuration), "http://"+addr+"/").CombinedOutput()
				if err != nil {
					b.Fatalf("wrk: %v\n%s", err, out)
				}
				m := reqsRE.FindSubmatch(out)
				if m == nil {
					b.Fatalf("no Requests/sec in wrk output:\n%s", out)
				}
				rps, _ := strconv.ParseFloat(string(m[1]), 64)
				total += rps
				if l := latencyRE.FindSubmatch(out); l != nil {
					v, _ := strconv.ParseFloat(string(l[1]), 64)
					switch string(l[2]) {
					case "ms":
						v *= 1000
					case "s":
						v *= 1e6
					}
					b.ReportMetric(v, "latency-avg-us")
				}
			}
			b.ReportMetric(total/float64(b.N), "req/s")
		})
	}
}
