package layer_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gnetty/gnetty/internal/redistest"
	"github.com/gnetty/gnetty/layer"
	"github.com/gnetty/gnetty/pipeline/pipelinetest"
)

func TestDialRedis(t *testing.T) {
	cases := []struct {
		url     string
		cluster bool
		want    layer.Topology
		err     string
	}{
		{url: "redis://127.0.0.1:6379/0", want: layer.Single},
		{url: "redis://127.0.0.1:26379/0?master_name=chat&addr=127.0.0.1:26380", want: layer.Sentinel},
		{url: "redis://127.0.0.1:7000?addr=127.0.0.1:7001", cluster: true, want: layer.Cluster},
		{url: "", err: "empty Redis URL"},
		{url: "http://127.0.0.1:6379", err: "a Redis URL is redis://host:port/db"},
		{url: "redis://127.0.0.1:26379/0?master_name=", err: "needs master_name"},
		{url: "ftp://x", cluster: true, err: "a cluster URL is"},
	}
	for _, tc := range cases {
		c, err := layer.DialRedis(tc.url, tc.cluster)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want one with %q", tc.url, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.url, err)
			continue
		}
		if got := layer.TopologyOf(c); got != tc.want {
			t.Errorf("%q: topology %s, want %s (%s)", tc.url, got, tc.want, layer.DescribeRedis(c))
		}
		c.Close()
	}
}

func TestHashTagSpreadsGroups(t *testing.T) {
	seen := map[string]bool{}
	for i := range 1000 {
		tag := layer.HashTag(fmt.Sprintf("room-%d", i), 64)
		if !strings.HasPrefix(tag, "{p") || !strings.HasSuffix(tag, "}") {
			t.Fatalf("tag %q", tag)
		}
		seen[tag] = true
	}
	if len(seen) != 64 {
		t.Fatalf("1,000 groups over %d of 64 partitions", len(seen))
	}
	if layer.HashTag("room-1", 64) != layer.HashTag("room-1", 0) {
		t.Fatal("0 partitions is not the default 64")
	}
}

// topologyNode is a layer node on the Redis url names (a cluster's when
// cluster), with its client.
func topologyNode(t *testing.T, url string, cluster bool, name string) (*layer.Redis, redis.UniversalClient) {
	t.Helper()
	c, err := layer.DialRedis(url, cluster)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	l, err := layer.NewRedis(context.Background(), layer.RedisConfig{Client: c, Node: name})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, c
}

// On a Redis Cluster the layer uses sharded pub/sub: each group's channel
// lives on the shard that owns its partition's slot, nothing goes
// through plain PUBLISH, every member gets each message once, and
// delivery resumes by itself after a primary dies.
func TestRedisLayerOnCluster(t *testing.T) {
	cl := redistest.StartCluster(t, 3, 1)
	a, _ := topologyNode(t, cl.URL(), true, "a")
	b, bc := topologyNode(t, cl.URL(), true, "b")
	if !a.Sharded() {
		t.Fatal("the layer on a cluster client is not sharded")
	}
	const groups = 12
	onA, onB := make([]*pipelinetest.Channel, groups), make([]*pipelinetest.Channel, groups)
	shards := map[string]bool{}
	for i := range groups {
		g := fmt.Sprintf("room-%d", i)
		onA[i], onB[i] = pipelinetest.New(), pipelinetest.New()
		a.Register(onA[i].Channel)
		b.Register(onB[i].Channel)
		must(t, a.GroupAdd(g, onA[i].Channel))
		must(t, b.GroupAdd(g, onB[i].Channel))
		shards[cl.PrimaryOf(a.GroupTopic(g)).Addr] = true
	}
	if len(shards) < 2 {
		t.Fatalf("%d groups on %d shard(s): the partitions do not spread", groups, len(shards))
	}
	// Each group's channel is a shard channel on its slot's primary, with
	// both nodes subscribed; no plain channel anywhere.
	ctx := context.Background()
	for i := range groups {
		topic := a.GroupTopic(fmt.Sprintf("room-%d", i))
		eventually(t, "both nodes subscribed to "+topic, func() bool {
			p := redis.NewClient(&redis.Options{Addr: cl.PrimaryOf(topic).Addr})
			defer p.Close()
			n, err := p.PubSubShardNumSub(ctx, topic).Result()
			return err == nil && n[topic] == 2
		})
	}
	if err := bc.(*redis.ClusterClient).ForEachShard(ctx, func(ctx context.Context, c *redis.Client) error {
		if chans, err := c.PubSubChannels(ctx, "*").Result(); err != nil || len(chans) > 0 {
			return fmt.Errorf("%s: plain channels %v %v", c.Options().Addr, chans, err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	for i := range groups {
		must(t, b.GroupSend(fmt.Sprintf("room-%d", i), textMsg(fmt.Sprintf("hello %d", i))))
	}
	for i := range groups {
		g := fmt.Sprintf("room-%d", i)
		var got []string
		eventually(t, "a receives b's message in "+g, func() bool { got = append(got, received(onA[i])...); return len(got) >= 1 })
		must(t, b.GroupSend(g, textMsg("marker")))
		eventually(t, "a receives the marker in "+g, func() bool {
			got = append(got, received(onA[i])...)
			return slices.Contains(got, "marker")
		})
		if want := []string{fmt.Sprintf("hello %d", i), "marker"}; !slices.Equal(got, want) || !slices.Equal(received(onB[i]), want) {
			t.Fatalf("%s: a got %v, want %v on both", g, got, want)
		}
	}
	// By name, across the cluster.
	must(t, a.Send(b.Name(onB[0].Channel), textMsg("to b")))
	var direct []string
	eventually(t, "b receives a's direct message", func() bool { direct = append(direct, received(onB[0])...); return len(direct) == 1 })

	// The primary of room-0's slot dies; its replica takes over, the
	// subscriptions follow, and delivery resumes on its own.
	cl.Kill(cl.PrimaryOf(a.GroupTopic("room-0")))
	var after []string
	eventually(t, "delivery in room-0 resumes after the failover", func() bool {
		_ = b.GroupSend("room-0", textMsg("after"))
		time.Sleep(20 * time.Millisecond)
		after = append(after, received(onA[0])...)
		return slices.Contains(after, "after")
	})
	for i := range groups {
		received(onA[i])
		received(onB[i])
		for _, ch := range []*pipelinetest.Channel{onA[i], onB[i]} {
			if err := ch.Finish(); err != nil {
				t.Error(err)
			}
		}
	}
}

// Behind Sentinel the layer follows a failover: the subscription comes
// back on the promoted replica and delivery resumes, and RedisHealth
// reports the failover while it happens and counts it after.
func TestRedisLayerSentinelFailover(t *testing.T) {
	st := redistest.StartSentinel(t, 1)
	a, ac := topologyNode(t, st.URL(), false, "a")
	b, _ := topologyNode(t, st.URL(), false, "b")
	if a.Sharded() || layer.TopologyOf(ac) != layer.Sentinel {
		t.Fatalf("topology %s, sharded %v", layer.TopologyOf(ac), a.Sharded())
	}
	h := layer.NewRedisHealth(ac)
	ctx := context.Background()
	if err := h.Check(ctx); err != nil || h.Status() != "sentinel: ok" {
		t.Fatalf("before: %v %q", err, h.Status())
	}
	onA, onB := pipelinetest.New(), pipelinetest.New()
	must(t, a.GroupAdd("room", onA.Channel))
	must(t, b.GroupAdd("room", onB.Channel))
	eventually(t, "a hears b", func() bool {
		_ = b.GroupSend("room", textMsg("before"))
		time.Sleep(20 * time.Millisecond)
		return slices.Contains(received(onA), "before")
	})

	st.Primary.Stop() // SIGKILL; the sentinels need a second to notice
	cctx, cancel := context.WithTimeout(ctx, time.Second)
	err := h.Check(cctx)
	cancel()
	if err == nil || !strings.HasPrefix(h.Status(), "sentinel: failing over for ") || h.Up() {
		t.Fatalf("while the primary is dead: %v %q", err, h.Status())
	}
	eventually(t, "delivery resumes on the promoted replica", func() bool {
		_ = b.GroupSend("room", textMsg("after"))
		time.Sleep(50 * time.Millisecond)
		return slices.Contains(received(onA), "after")
	})
	eventually(t, "the health check sees the new primary", func() bool {
		return h.Check(ctx) == nil
	})
	if h.Failovers.Load() != 1 || h.Status() != "sentinel: ok" {
		t.Fatalf("after: %d failovers, %q", h.Failovers.Load(), h.Status())
	}
	received(onB)
	for _, ch := range []*pipelinetest.Channel{onA, onB} {
		if err := ch.Finish(); err != nil {
			t.Error(err)
		}
	}
}

func textMsg(s string) layer.Message { return layer.Message{Text: true, Data: []byte(s)} }
