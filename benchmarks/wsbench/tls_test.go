package wsbench

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/gnetty/gnetty/internal/tlstest"
)

// TLS: the same echo over wss:// (TLS 1.3, ECDSA P-256, AES-GCM on both
// sides), gnetty against nbio (its llib fork of crypto/tls) and gorilla
// (net/http with crypto/tls, a goroutine per connection), with gnetty's
// plaintext echo beside them; handshakes per second, full and resumed;
// and memory per idle TLS connection.
//
//	cd benchmarks && go test -run '^$' -bench 'TLS' -benchtime 1x ./wsbench

var tlsImpls = []string{"gnetty", "gnetty-tls", "nbio-tls", "gorilla-tls"}

// tlsEnvs returns, for an impl, the environment that gives its server a
// certificate and its load process TLS (for impls named "-tls"). The
// files live as long as b, a top-level benchmark.
func tlsEnvs(b *testing.B) func(impl string) []string {
	c := tlstest.New(b)
	env := []string{"WSB_CERT=" + c.CertFile, "WSB_KEY=" + c.KeyFile, "WSB_TLS=1"}
	return func(impl string) []string {
		if !strings.HasSuffix(impl, "-tls") {
			return nil
		}
		return env
	}
}

func BenchmarkTLSEcho(b *testing.B) {
	tlsEnv := tlsEnvs(b)
	for _, size := range []int{64, 1024} {
		for _, inflight := range []int{1, 8} {
			for _, impl := range tlsImpls {
				b.Run(fmt.Sprintf("size=%d/inflight=%d/%s", size, inflight, impl), func(b *testing.B) {
					env := tlsEnv(impl)
					s := startServerEnv(b, impl, env)
					var res loadResult
					var cpu float64
					for range b.N {
						c0 := cpuSeconds(s.pid)
						load := pinned(1, append([]string{
							"WSB_LOAD=" + strings.TrimSuffix(impl, "-tls"), "WSB_ADDR=" + s.addr, "WSB_CONNS=" + strconv.Itoa(*conns),
							"WSB_INFLIGHT=" + strconv.Itoa(inflight), "WSB_SIZE=" + strconv.Itoa(size),
							"WSB_DURATION=" + duration.String(),
						}, env...))
						out, err := load.Output()
						if err != nil {
							b.Fatalf("load: %v\n%s", err, out)
						}
						if err := json.Unmarshal(out, &res); err != nil {
							b.Fatalf("load output %q: %v", out, err)
						}
						cpu = cpuSeconds(s.pid) - c0
						if res.Errors > 0 {
							b.Fatalf("%d connection errors", res.Errors)
						}
					}
					report(b, res, cpu, s.pid)
				})
			}
		}
	}
}

func BenchmarkTLSHandshake(b *testing.B) {
	tlsEnv := tlsEnvs(b)
	for _, kind := range []string{"full", "resumed"} {
		for _, impl := range tlsImpls[1:] {
			b.Run(kind+"/"+impl, func(b *testing.B) {
				env := tlsEnv(impl)
				s := startServerEnv(b, impl, env)
				var res loadResult
				var cpu float64
				for range b.N {
					c0 := cpuSeconds(s.pid)
					load := pinned(1, append([]string{"WSB_HANDSHAKES=" + kind, "WSB_ADDR=" + s.addr, "WSB_DURATION=" + duration.String()}, env...))
					out, err := load.Output()
					if err != nil {
						b.Fatalf("load: %v\n%s", err, out)
					}
					if err := json.Unmarshal(out, &res); err != nil {
						b.Fatalf("load output %q: %v", out, err)
					}
					cpu = cpuSeconds(s.pid) - c0
				}
				b.ReportMetric(float64(res.Messages)/res.Seconds, "handshakes/s")
				if cpu > 0 {
					b.ReportMetric(float64(res.Messages)/cpu, "handshakes/cpu-s")
				}
				b.ReportMetric(res.P50us, "p50-us")
				b.ReportMetric(res.P99us, "p99-us")
			})
		}
	}
}

// BenchmarkTLSIdle is BenchmarkIdle for TLS connections (handshaken and
// upgraded), beside gnetty's plaintext ones.
func BenchmarkTLSIdle(b *testing.B) {
	tlsEnv := tlsEnvs(b)
	for _, impl := range tlsImpls {
		b.Run(impl, func(b *testing.B) {
			env := tlsEnv(impl)
			s := startServerEnv(b, impl, env)
			for range b.N {
				b.ReportMetric(idleBytes(b, s, env), "B/conn")
			}
		})
	}
}
