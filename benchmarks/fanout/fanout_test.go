package fanout

import (
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/gnetty/gnetty/benchmarks/internal/peer"
)

var (
	duration = flag.Duration("fan.duration", 5*time.Second, "length of each publishing run")
	rooms    = flag.Int("fan.rooms", 50, "rooms of 100 members")
	scale    = flag.Float64("fan.scale", 1, "factor on the offered rates (CI smoke runs use a small one)")
)

var impls = []string{"gnetty", "gorilla", "nbio"}

func TestMain(m *testing.M) {
	a := func(k string) int { n, _ := strconv.Atoi(os.Getenv(k)); return n }
	peer.Main(m, "FAN_CPUPROFILE",
		peer.Mode{Env: "FAN_SERVER", Run: func(impl string) error { return serve(impl, os.Getenv("FAN_ADDR")) }},
		peer.Mode{Env: "FAN_LOAD", Run: func(string) error {
			d, _ := time.ParseDuration(os.Getenv("FAN_DURATION"))
			return run(os.Getenv("FAN_ADDR"), a("FAN_ROOMS"), a("FAN_OFFERED"), a("FAN_STALL"), d, a("FAN_PID"))
		}})
}

// BenchmarkFanOut: 5,000 members in rooms of 100, 100k and 300k
// deliveries per second offered, with no stalled reader and with 1% of
// the members never reading.
func BenchmarkFanOut(b *testing.B) {
	for _, offered := range []int{100000, 300000, 500000} {
		for _, stall := range []int{0, 100} {
			if offered > 300000 && stall > 0 {
				continue // the 500k row finds each server's capacity
			}
			for _, impl := range impls {
				name := fmt.Sprintf("offered=%dk/stalled=%s/%s", offered/1000, map[int]string{0: "0", 100: "1pct"}[stall], impl)
				b.Run(name, func(b *testing.B) {
					l, err := net.Listen("tcp", "127.0.0.1:0")
					if err != nil {
						b.Fatal(err)
					}
					addr := l.Addr().String()
					l.Close()
					srv := peer.Self(0, []string{"FAN_SERVER=" + impl, "FAN_ADDR=" + addr})
					peer.Serve(b, srv, addr)
					var res loadResult
					for range b.N {
						peer.Load(b, []string{
							"FAN_LOAD=1", "FAN_ADDR=" + addr, "FAN_ROOMS=" + strconv.Itoa(*rooms),
							"FAN_OFFERED=" + strconv.Itoa(int(float64(offered)**scale)), "FAN_STALL=" + strconv.Itoa(stall),
							"FAN_DURATION=" + duration.String(), "FAN_PID=" + strconv.Itoa(srv.Process.Pid),
						}, &res)
						if res.Errors > 0 {
							b.Fatalf("%d load errors", res.Errors)
						}
					}
					b.ReportMetric(float64(res.Delivered)/res.Seconds, "delivered/s")
					b.ReportMetric(float64(res.Offered)/res.Seconds, "offered/s")
					b.ReportMetric(100*res.ServerCPU/res.Seconds, "server-cpu-%")
					if res.ServerCPU > 0 {
						b.ReportMetric(float64(res.Delivered)/res.ServerCPU, "deliveries/cpu-s")
					}
					b.ReportMetric(res.P50us/1000, "p50-ms")
					b.ReportMetric(res.P99us/1000, "p99-ms")
					b.ReportMetric(float64(res.StalledClosed), "stalled-dropped")
					b.ReportMetric(float64(res.Stalled), "stalled")
					b.ReportMetric(float64(res.OthersClosed), "others-dropped")
				})
			}
		}
	}
}
