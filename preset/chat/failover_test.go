package chat_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gnetty/gnetty/internal/redistest"
	"github.com/gnetty/gnetty/layer"
	"github.com/gnetty/gnetty/preset/chat"
)

// topologyNode starts a chat node on the Redis a URL names (a Sentinel
// set's, or a cluster's), acknowledging posts after wait replicas.
func topologyNode(t *testing.T, url string, cluster bool, name string, wait int) *srv {
	t.Helper()
	c, err := layer.DialRedis(url, cluster)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return startWith(t, chat.Config{Redis: c, Node: name, Workers: 1, PresenceTTL: 3 * time.Second, AckTimeout: 200 * time.Millisecond,
		MessagesPerSecond: 50, RedisWaitReplicas: wait})
}

// storedMsg is a message as the room's stream holds it.
type storedMsg struct {
	ID  uint64 `json:"id"`
	CID string `json:"cid"`
	Msg string `json:"msg"`
}

// storedIn reads room's stream through c (key is its stream key).
func storedIn(t *testing.T, c redis.UniversalClient, key string) []storedMsg {
	t.Helper()
	var es []redis.XMessage
	waitFor(t, "the stream readable", func() bool {
		var err error
		es, err = c.XRange(context.Background(), key, "-", "+").Result()
		return err == nil
	})
	var out []storedMsg
	for _, e := range es {
		var m storedMsg
		v, _ := e.Values["m"].(string)
		if err := json.Unmarshal([]byte(v), &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// poster sends ann's posts with cids every 100 ms until stopped, and
// counts them.
type poster struct {
	sent atomic.Int64
	stop chan struct{}
	done chan struct{}
}

func startPoster(ann *client) *poster {
	p := &poster{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		for i := 0; ; i++ {
			select {
			case <-p.stop:
				return
			default:
			}
			if err := ann.ws.WriteMessage(1, fmt.Appendf(nil, `{"type":"user","room":"r","msg":"m%d","cid":"c%d"}`, i, i)); err != nil {
				return
			}
			p.sent.Add(1)
			time.Sleep(100 * time.Millisecond) // a steady rate, not a wait for the server
		}
	}()
	return p
}

func (p *poster) end() int { close(p.stop); <-p.done; return int(p.sent.Load()) }

// acked returns the cids ann got back with an id: acknowledged posts.
func acked(in *inbox) []string {
	var out []string
	for _, m := range in.of("user") {
		if m.CID != "" && m.ID > 0 {
			out = append(out, m.CID)
		}
	}
	return out
}

// failover runs the scenario the Sentinel and Cluster tests share: ann
// (node a) and bob (node b) join room r on the Redis url names; ann posts
// at a steady rate, bob reads; kill stops a primary mid-way; posting
// resumes on its own. It returns what ann was acknowledged and what the
// room's stream holds then.
func failover(t *testing.T, ann, bob *client, url string, cluster bool, kill func()) (annIn, bobIn *inbox, ack []string, stored []storedMsg) {
	t.Helper()
	ann.dial("r")
	ann.next("history")
	bob.dial("r")
	bob.next("history")
	annIn, bobIn = ann.inbox(), bob.inbox()
	reader, err := layer.DialRedis(url, cluster)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	key := "gnetty:chat:hist:r"
	if cluster {
		key = "gnetty:chat:" + layer.HashTag("r", 0) + "hist:r"
	}
	p := startPoster(ann)
	waitFor(t, "10 posts acknowledged before the failover", func() bool { return len(acked(annIn)) >= 10 })
	kill()
	before := len(acked(annIn))
	waitFor(t, "posts acknowledged again after the failover", func() bool { return len(acked(annIn)) >= before+10 })
	sent := p.end()
	// Every post is answered: its copy back, or "unavailable".
	waitFor(t, "an answer to every post", func() bool {
		return len(acked(annIn))+len(annIn.of("error")) >= sent
	})
	for _, e := range annIn.of("error") {
		if e.Code != "unavailable" {
			t.Fatalf("a post was refused with %q: %+v", e.Code, e)
		}
	}
	settle(t, ann, annIn, bobIn) // over the same connections: nobody was disconnected
	for who, in := range map[string]*inbox{"ann": annIn, "bob": bobIn} {
		if err := in.readErr(); err != nil {
			t.Fatalf("%s's connection ended: %v", who, err)
		}
	}
	stored = storedIn(t, reader, key)
	t.Logf("%d posts, %d acknowledged, %d refused unavailable, %d stored", sent, len(acked(annIn)), len(annIn.of("error")), len(stored)-1)
	return annIn, bobIn, acked(annIn), stored
}

// noAckLost checks that every acknowledged post is stored, and that both
// members got every stored message exactly once, in order.
func noAckLost(t *testing.T, ack []string, stored []storedMsg, annIn, bobIn *inbox) {
	t.Helper()
	var cids []string
	var ids []uint64
	for _, m := range stored {
		cids = append(cids, m.CID)
		if m.Msg != marker {
			ids = append(ids, m.ID)
		}
	}
	for _, c := range ack {
		if !slices.Contains(cids, c) {
			t.Fatalf("post %s was acknowledged and is not in history after the failover", c)
		}
	}
	exactlyOnceInOrder(t, "ann", annIn.of("user"), ids)
	exactlyOnceInOrder(t, "bob", bobIn.of("user"), ids)
}

// Sentinel, a primary and a replica, two chat nodes, posts at a steady
// rate, the primary killed: with RedisWaitReplicas 1 every acknowledged
// post survives and reaches both members exactly once; no connection
// ends; the health check names the topology and counts the failover.
func TestSentinelFailoverLosesNoAcknowledgedPost(t *testing.T) {
	st := redistest.StartSentinel(t, 1)
	a, b := topologyNode(t, st.URL(), false, "a", 1), topologyNode(t, st.URL(), false, "b", 1)
	if body := string(mustBody(t, "http://"+a.addr+"/metrics")); !strings.Contains(body, `chat_redis_topology{topology="sentinel"} 1`) {
		t.Fatal("metrics do not name the topology")
	}
	annIn, bobIn, ack, stored := failover(t, login(t, a, "ann"), login(t, b, "bob"), st.URL(), false, func() { st.KillPrimary() })
	noAckLost(t, ack, stored, annIn, bobIn)
	waitFor(t, "node a's metrics count the failover", func() bool {
		body := string(mustBody(t, "http://"+a.addr+"/metrics"))
		return strings.Contains(body, "chat_redis_failovers_total 1") && strings.Contains(body, "chat_redis_up 1")
	})
	if got := string(mustBody(t, "http://"+a.addr+"/healthz")); got != "ok\n" {
		t.Fatalf("readiness after the failover: %q", got)
	}
}

// Without the wait a post is acknowledged before any replica has it, so
// a primary that dies can take the last ones with it: the test counts
// them (Redis on loopback replicates within a millisecond, so usually
// none) and checks that the docs say so. Posting resumes on its own and
// no connection ends either way.
func TestSentinelFailoverWithoutWaitCountsTheLoss(t *testing.T) {
	st := redistest.StartSentinel(t, 1)
	a, b := topologyNode(t, st.URL(), false, "a", 0), topologyNode(t, st.URL(), false, "b", 0)
	annIn, bobIn, ack, stored := failover(t, login(t, a, "ann"), login(t, b, "bob"), st.URL(), false, func() { st.KillPrimary() })
	lost := 0
	for _, c := range ack {
		if !slices.ContainsFunc(stored, func(m storedMsg) bool { return m.CID == c }) {
			lost++
		}
	}
	t.Logf("acknowledged posts lost in the failover without RedisWaitReplicas: %d of %d", lost, len(ack))
	if lost == 0 {
		noAckLost(t, ack, stored, annIn, bobIn)
	}
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), "RedisWaitReplicas") || !strings.Contains(string(doc), "can lose the posts it acknowledged in its last moments") {
		t.Fatal("the package doc does not say what a failover loses without RedisWaitReplicas")
	}
}

// A Redis Cluster of three primaries with a replica each: rooms spread
// over the shards, the cross-node chat (presence, global ids, history,
// a session made on one node used on the other, a dm across nodes), and
// the primary of a room's slot killed: with RedisWaitReplicas 1 nothing
// acknowledged is lost and both members get every message exactly once.
func TestClusterChatAcrossNodesAndAFailover(t *testing.T) {
	cl := redistest.StartCluster(t, 3, 1)
	a, b := topologyNode(t, cl.URL(), true, "a", 1), topologyNode(t, cl.URL(), true, "b", 1)
	if body := string(mustBody(t, "http://"+a.addr+"/metrics")); !strings.Contains(body, `chat_redis_topology{topology="cluster"} 1`) {
		t.Fatal("metrics do not name the topology")
	}
	// Rooms land on more than one shard.
	shards := map[string]bool{}
	for i := range 8 {
		shards[cl.PrimaryOf(layer.HashTag(fmt.Sprintf("room%d", i), 0)).Addr] = true
	}
	if len(shards) < 2 {
		t.Fatalf("8 rooms on %d shard(s)", len(shards))
	}

	ann, bob := login(t, a, "ann"), login(t, b, "bob")
	for i := range 3 {
		meet(t, ann, bob, fmt.Sprintf("room%d", i))
		ann.ws.Close()
		bob.ws.Close()
	}
	// A dm across nodes: the conversation's keys and the users' channels
	// are in different slots.
	ann.dial("room0")
	ann.next("history")
	bob.dial("room0")
	bob.next("history")
	ann.send(`{"type":"dm","to":"bob","msg":"psst","cid":"d1"}`)
	if m := bob.next("dm"); m.Msg != "psst" || m.ID != 1 {
		t.Fatalf("dm across nodes: %+v", m)
	}
	if m := ann.next("dm"); m.Msg != "psst" || m.CID != "d1" {
		t.Fatalf("dm copy to the sender: %+v", m)
	}
	// A session made on b works on a, with the history.
	bob.ws.Close()
	bob.moveTo(a)
	bob.dial("room1")
	if h := bob.next("history"); len(h.Messages) != 2 || h.Last != 2 {
		t.Fatalf("history on the other node: %+v", h)
	}
	bob.ws.Close()
	ann.ws.Close()

	// The failover.
	bob.moveTo(b)
	annIn, bobIn, ack, stored := failover(t, ann, bob, cl.URL(), true, func() { cl.Kill(cl.PrimaryOf("gnetty:chat:" + layer.HashTag("r", 0))) })
	noAckLost(t, ack, stored, annIn, bobIn)
}
