package redistest

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Sentinel is a primary with replicas and three sentinels watching it,
// every one a real redis-server on a loopback port, stopped when the test
// ends. The sentinels fail over one second after the primary stops
// answering.
type Sentinel struct {
	t         testing.TB
	Master    string // the name the sentinels know the primary by
	Primary   *Server
	Replicas  []*Server
	Sentinels []*Server
}

// StartSentinel starts a primary, replicas replicas of it (in sync) and
// three sentinels that know each other and the replicas, ready to fail
// over.
func StartSentinel(t testing.TB, replicas int) *Sentinel {
	t.Helper()
	st := &Sentinel{t: t, Master: "gnetty"}
	st.Primary = StartWith(t, "--repl-diskless-sync-delay", "0")
	host, port := splitAddr(t, st.Primary.Addr)
	for range replicas {
		st.Replicas = append(st.Replicas, StartWith(t, "--replicaof", host, port, "--repl-diskless-sync-delay", "0"))
	}
	for _, r := range st.Replicas {
		waitFor(t, 20*time.Second, "replica "+r.Addr+" in sync", func(ctx context.Context) bool {
			c := client(r.Addr)
			defer c.Close()
			info, err := c.Info(ctx, "replication").Result()
			return err == nil && strings.Contains(info, "master_link_status:up")
		})
	}
	conf := fmt.Sprintf("port $PORT\nbind 127.0.0.1\nsentinel monitor %[1]s %[2]s %[3]s 2\n"+
		"sentinel down-after-milliseconds %[1]s 1000\nsentinel failover-timeout %[1]s 5000\nsentinel parallel-syncs %[1]s 1\n",
		st.Master, host, port)
	for i := range 3 {
		s := &Server{t: t, conf: filepath.Join(t.TempDir(), fmt.Sprintf("sentinel-%d.conf", i)), confText: conf}
		st.Sentinels = append(st.Sentinels, startServer(t, s))
	}
	// Ready when every sentinel knows the other two and every replica:
	// before that a failover could find no quorum or no replica.
	for _, s := range st.Sentinels {
		waitFor(t, 60*time.Second, "sentinel "+s.Addr+" knowing its peers and the replicas", func(ctx context.Context) bool {
			c := client(s.Addr)
			defer c.Close()
			m, err := c.Do(ctx, "SENTINEL", "MASTER", st.Master).Slice()
			if err != nil {
				return false
			}
			f := fields(m)
			return f["num-other-sentinels"] == "2" && f["num-slaves"] == strconv.Itoa(replicas)
		})
	}
	return st
}

// URL is the Sentinel set's URL for layer.DialRedis.
func (st *Sentinel) URL() string {
	u := "redis://" + st.Sentinels[0].Addr + "/0?master_name=" + st.Master
	for _, s := range st.Sentinels[1:] {
		u += "&addr=" + s.Addr
	}
	return u
}

// PrimaryAddr is the primary's address as the sentinels name it now.
func (st *Sentinel) PrimaryAddr(ctx context.Context) (string, error) {
	c := client(st.Sentinels[0].Addr)
	defer c.Close()
	addr, err := c.Do(ctx, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", st.Master).StringSlice()
	if err != nil {
		return "", err
	}
	return addr[0] + ":" + addr[1], nil
}

// KillPrimary kills the primary (SIGKILL, a crash) and waits until the
// sentinels have promoted a replica and it serves writes; it returns the
// new primary's address.
func (st *Sentinel) KillPrimary() string {
	st.t.Helper()
	old := st.Primary.Addr
	st.Primary.Stop()
	var now string
	waitFor(st.t, 60*time.Second, "a replica promoted", func(ctx context.Context) bool {
		addr, err := st.PrimaryAddr(ctx)
		if err != nil || addr == old {
			return false
		}
		c := client(addr)
		defer c.Close()
		role, err := c.Do(ctx, "ROLE").Slice()
		if err != nil || len(role) == 0 || role[0] != "master" {
			return false
		}
		now = addr
		return true
	})
	return now
}

// Cluster is a Redis Cluster of real redis-servers on loopback ports:
// primaries with their replicas, stopped when the test ends. A replica
// takes over one second after its primary stops answering.
type Cluster struct {
	t     testing.TB
	Nodes []*Server
}

// StartCluster starts primaries primaries with replicasEach replicas
// each, made a cluster by redis-cli --cluster create, and waits until
// every node sees the cluster ok.
func StartCluster(t testing.TB, primaries, replicasEach int) *Cluster {
	t.Helper()
	cl := &Cluster{t: t}
	args := []string{"--cluster", "create"}
	for range primaries * (1 + replicasEach) {
		n := StartWith(t, "--cluster-enabled", "yes", "--cluster-node-timeout", "1000", "--repl-diskless-sync-delay", "0")
		cl.Nodes = append(cl.Nodes, n)
		args = append(args, n.Addr)
	}
	args = append(args, "--cluster-replicas", strconv.Itoa(replicasEach), "--cluster-yes")
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		t.Fatal("redis-cli is required (Debian package redis-tools, a dependency of redis-server)")
	}
	if out, err := exec.Command(cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	for _, n := range cl.Nodes {
		waitFor(t, 60*time.Second, "cluster ok at "+n.Addr, func(ctx context.Context) bool {
			c := client(n.Addr)
			defer c.Close()
			info, err := c.ClusterInfo(ctx).Result()
			return err == nil && strings.Contains(info, "cluster_state:ok") &&
				strings.Contains(info, fmt.Sprintf("cluster_known_nodes:%d\r", len(cl.Nodes)))
		})
	}
	// And every replica in sync: one still loading its first copy
	// cannot take over (its data has no age yet).
	for _, n := range cl.Nodes {
		waitFor(t, 60*time.Second, "node "+n.Addr+" a primary or a replica in sync", func(ctx context.Context) bool {
			c := client(n.Addr)
			defer c.Close()
			info, err := c.Info(ctx, "replication").Result()
			return err == nil && (strings.Contains(info, "role:master") || strings.Contains(info, "master_link_status:up"))
		})
	}
	return cl
}

// URL is the cluster's URL for layer.DialRedis (cluster true): every
// node a seed.
func (c *Cluster) URL() string {
	u := "redis://" + c.Nodes[0].Addr + "?"
	for i, n := range c.Nodes[1:] {
		if i > 0 {
			u += "&"
		}
		u += "addr=" + n.Addr
	}
	return u
}

// PrimaryOf returns the node that serves key's slot now.
func (c *Cluster) PrimaryOf(key string) *Server {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	slot := slotOf(key)
	for _, n := range c.Nodes {
		if n.cmd == nil {
			continue
		}
		cl := client(n.Addr)
		shards, err := cl.ClusterSlots(ctx).Result()
		cl.Close()
		if err != nil {
			continue
		}
		for _, s := range shards {
			if int64(slot) >= int64(s.Start) && int64(slot) <= int64(s.End) && len(s.Nodes) > 0 {
				for _, m := range c.Nodes {
					if m.Addr == s.Nodes[0].Addr {
						return m
					}
				}
			}
		}
	}
	c.t.Fatalf("no node serves slot %d of %q", slot, key)
	return nil
}

// Kill kills node n (SIGKILL) and, if it was a primary, waits until a
// replica has taken over and the cluster is ok again on every live node.
func (c *Cluster) Kill(n *Server) {
	c.t.Helper()
	dead := n.Addr
	n.Stop()
	for _, m := range c.Nodes {
		if m.cmd == nil {
			continue
		}
		// Ok again, with no slot served by the dead node: until a node
		// notices the death it still says ok.
		waitFor(c.t, 60*time.Second, "a replica serving "+dead+"'s slots, seen at "+m.Addr, func(ctx context.Context) bool {
			c := client(m.Addr)
			defer c.Close()
			info, err := c.ClusterInfo(ctx).Result()
			if err != nil || !strings.Contains(info, "cluster_state:ok") {
				return false
			}
			slots, err := c.ClusterSlots(ctx).Result()
			if err != nil {
				return false
			}
			for _, s := range slots {
				if len(s.Nodes) == 0 || s.Nodes[0].Addr == dead {
					return false
				}
			}
			return true
		})
	}
}

// slotOf is Redis Cluster's hash slot of key (CRC16 of the hash tag).
func slotOf(key string) int {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			key = key[i+1 : i+1+j]
		}
	}
	var crc uint16
	for i := 0; i < len(key); i++ {
		crc ^= uint16(key[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return int(crc) % 16384
}

// client is a one-connection client to one server, in RESP2 (SENTINEL
// MASTER answers a flat list); the caller closes it.
func client(addr string) *redis.Client {
	return redis.NewClient(&redis.Options{Addr: addr, Protocol: 2, MaxRetries: -1, DialTimeout: time.Second, ReadTimeout: 2 * time.Second, PoolSize: 1})
}

// waitFor polls ok every 50 ms until it holds, failing the test after
// limit (a generous bound: a busy machine slows a failover down).
func waitFor(t testing.TB, limit time.Duration, what string, ok func(ctx context.Context) bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		done := ok(ctx)
		cancel()
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("redistest: waited %v for %s", limit, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func fields(kv []any) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		k, _ := kv[i].(string)
		m[k] = fmt.Sprint(kv[i+1])
	}
	return m
}

func splitAddr(t testing.TB, addr string) (string, string) {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		t.Fatalf("redistest: bad address %q", addr)
	}
	return addr[:i], addr[i+1:]
}
