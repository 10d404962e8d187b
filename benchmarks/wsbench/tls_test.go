package wsbench

import (
	"flag"
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
					res, cpu := echoLoad(b, s, strings.TrimSuffix(impl, "-tls"), inflight, size, env)
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
				res, cpu := runLoadProcess(b, s, append([]string{"WSB_HANDSHAKES=" + kind, "WSB_ADDR=" + s.addr, "WSB_DURATION=" + duration.String()}, env...))
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

// idleGC is the GC setting of gnetty's servers in BenchmarkTLSIdle.
var idleGC = flag.Int("idle.gcpercent", 0, "bootstrap.Config.GCPercent of gnetty's servers in BenchmarkTLSIdle (0: GOGC)")

// BenchmarkTLSIdle is BenchmarkIdle for TLS connections (handshaken and
// upgraded), beside gnetty's plaintext ones. A TLS handshake leaves tens
// of kilobytes of garbage, so after 10,000 of them a server's heap has
// grown to its GC goal (twice what is live, at GOGC=100) while a
// plaintext server's has not: -idle.gcpercent sets gnetty's GC, to see
// the connections' own share.
func BenchmarkTLSIdle(b *testing.B) {
	tlsEnv := tlsEnvs(b)
	for _, impl := range tlsImpls {
		b.Run(impl, func(b *testing.B) {
			env := append(tlsEnv(impl), "WSB_GCPERCENT="+strconv.Itoa(*idleGC))
			s := startServerEnv(b, impl, env)
			for range b.N {
				b.ReportMetric(idleBytes(b, s, env), "B/conn")
			}
		})
	}
}
