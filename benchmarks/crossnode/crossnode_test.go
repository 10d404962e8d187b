package crossnode

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gnetty/gnetty/benchmarks/internal/peer"
)

var (
	duration = flag.Duration("cn.duration", 5*time.Second, "length of each publishing run")
	rooms    = flag.Int("cn.rooms", 20, "rooms of 100 members")
	offered  = flag.Int("cn.offered", 20000, "deliveries per second offered")
)

func TestMain(m *testing.M) {
	peer.Main(m, "CN_CPUPROFILE",
		peer.Mode{Env: "CN_NODE", Run: func(name string) error {
			return serve(name, os.Getenv("CN_ADDR"), os.Getenv("CN_REDIS"), os.Getenv("CN_CLUSTER") == "1")
		}},
		peer.Mode{Env: "CN_LOAD", Run: func(string) error {
			d, _ := time.ParseDuration(os.Getenv("CN_DURATION"))
			n := func(k string) int { v, _ := strconv.Atoi(os.Getenv(k)); return v }
			return run(strings.Split(os.Getenv("CN_ADDRS"), ","), n("CN_ROOMS"), n("CN_OFFERED"), d,
				pids(os.Getenv("CN_PIDS")), pids(os.Getenv("CN_REDIS_PIDS")))
		}})
}

func pids(s string) []int {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if n, err := strconv.Atoi(f); err == nil {
			out = append(out, n)
		}
	}
	return out
}

// BenchmarkCrossNode: the same rooms and offered rate on one node alone,
// two and three nodes on one Redis, and two and three nodes on a
// three-primary Redis Cluster.
func BenchmarkCrossNode(b *testing.B) {
	for _, tc := range []struct {
		nodes int
		redis string // "", "single", "cluster"
	}{{1, ""}, {1, "single"}, {2, "single"}, {3, "single"}, {2, "cluster"}, {3, "cluster"}} {
		name := fmt.Sprintf("nodes=%d/redis=%s", tc.nodes, map[string]string{"": "none", "single": "single", "cluster": "cluster3"}[tc.redis])
		b.Run(name, func(b *testing.B) {
			var url string
			var redisPids []int
			switch tc.redis {
			case "single":
				s := startRedis(b)
				url, redisPids = "redis://"+s.addr+"/0", []int{s.cmd.Process.Pid}
			case "cluster":
				var addrs []string
				for range 3 {
					s := startRedis(b, "--cluster-enabled", "yes", "--cluster-node-timeout", "2000")
					addrs = append(addrs, s.addr)
					redisPids = append(redisPids, s.cmd.Process.Pid)
				}
				makeCluster(b, addrs)
				url = "redis://" + addrs[0] + "?addr=" + addrs[1] + "&addr=" + addrs[2]
			}
			var addrs []string
			var nodePids []string
			for i := range tc.nodes {
				addr := freeAddr(b)
				env := []string{"CN_NODE=" + fmt.Sprint("n", i), "CN_ADDR=" + addr, "CN_REDIS=" + url}
				if tc.redis == "cluster" {
					env = append(env, "CN_CLUSTER=1")
				}
				srv := peer.Self(0, env)
				peer.Serve(b, srv, addr)
				addrs = append(addrs, addr)
				nodePids = append(nodePids, strconv.Itoa(srv.Process.Pid))
			}
			var rp []string
			for _, p := range redisPids {
				rp = append(rp, strconv.Itoa(p))
			}
			var res result
			for range b.N {
				peer.Load(b, []string{"CN_LOAD=1", "CN_ADDRS=" + strings.Join(addrs, ","),
					"CN_ROOMS=" + strconv.Itoa(*rooms), "CN_OFFERED=" + strconv.Itoa(*offered), "CN_DURATION=" + duration.String(),
					"CN_PIDS=" + strings.Join(nodePids, ","), "CN_REDIS_PIDS=" + strings.Join(rp, ",")}, &res)
				if res.Errors > 0 {
					b.Fatalf("%d load errors", res.Errors)
				}
			}
			b.ReportMetric(float64(res.Delivered)/res.Seconds, "delivered/s")
			b.ReportMetric(float64(res.Offered)/res.Seconds, "offered/s")
			nodeCPU := 0.0
			for _, c := range res.NodeCPU {
				nodeCPU += c
			}
			b.ReportMetric(100*nodeCPU/res.Seconds, "nodes-cpu-%")
			b.ReportMetric(100*res.RedisCPU/res.Seconds, "redis-cpu-%")
			if nodeCPU > 0 {
				b.ReportMetric(float64(res.Delivered)/nodeCPU, "deliveries/node-cpu-s")
				b.ReportMetric(float64(res.Delivered)/(nodeCPU+res.RedisCPU), "deliveries/cpu-s")
			}
			b.ReportMetric(res.P50us/1000, "p50-ms")
			b.ReportMetric(res.P99us/1000, "p99-ms")
			if res.RemoteN > 0 {
				b.ReportMetric(res.RemoteP50us/1000, "remote-p50-ms")
				b.ReportMetric(res.RemoteP99us/1000, "remote-p99-ms")
			}
		})
	}
}

type redisProc struct {
	addr string
	cmd  *exec.Cmd
}

// startRedis runs a redis-server (no persistence) on CPU 0, stopped when
// the benchmark ends.
func startRedis(b *testing.B, extra ...string) redisProc {
	b.Helper()
	addr := freeAddr(b)
	_, port, _ := net.SplitHostPort(addr)
	args := append([]string{"redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", b.TempDir()}, extra...)
	cmd := peer.Pinned(0, nil, args...)
	cmd.Stdout = nil
	peer.Serve(b, cmd, addr)
	return redisProc{addr: addr, cmd: cmd}
}

// makeCluster joins three empty cluster-enabled servers into a cluster
// of three primaries and waits until each says it is ok.
func makeCluster(b *testing.B, addrs []string) {
	b.Helper()
	args := append([]string{"--cluster", "create"}, addrs...)
	if out, err := exec.Command("redis-cli", append(args, "--cluster-yes")...).CombinedOutput(); err != nil {
		b.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	for _, a := range addrs {
		c := redis.NewClient(&redis.Options{Addr: a})
		for deadline := time.Now().Add(30 * time.Second); ; {
			info, err := c.ClusterInfo(context.Background()).Result()
			if err == nil && strings.Contains(info, "cluster_state:ok") {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("cluster not ok at %s: %v %q", a, err, info)
			}
			time.Sleep(50 * time.Millisecond)
		}
		c.Close()
	}
}

func freeAddr(b *testing.B) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
