package chat_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gnetty/gnetty/internal/servertest"

	"github.com/redis/go-redis/v9"

	"github.com/gnetty/gnetty/internal/redistest"
)

// inbox reads a client's messages in the background.
type inbox struct {
	mu   sync.Mutex
	msgs []faultMsg
	err  error // why the reading stopped
}

type faultMsg struct {
	Type     string     `json:"type"`
	ID       uint64     `json:"id"`
	Epoch    string     `json:"epoch"`
	Msg      string     `json:"msg"`
	Code     string     `json:"code"`
	CID      string     `json:"cid"`
	Last     uint64     `json:"last"`
	Messages []faultMsg `json:"messages"`
}

func (c *client) inbox() *inbox {
	in := &inbox{}
	_ = c.ws.SetReadDeadline(time.Time{}) // next's deadline would end the reading in a quiet spell
	go func() {
		for {
			_, data, err := c.ws.ReadMessage()
			if err != nil {
				in.mu.Lock()
				in.err = err
				in.mu.Unlock()
				return
			}
			var m faultMsg
			if json.Unmarshal(data, &m) == nil {
				in.mu.Lock()
				in.msgs = append(in.msgs, m)
				in.mu.Unlock()
			}
		}
	}()
	return in
}

// readErr is why the connection stopped being read, nil while it is.
func (in *inbox) readErr() error {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.err
}

func (in *inbox) of(typ string) []faultMsg {
	in.mu.Lock()
	defer in.mu.Unlock()
	var out []faultMsg
	for _, m := range in.msgs {
		if m.Type == typ && m.Msg != marker {
			out = append(out, m)
		}
	}
	return out
}

// marker is the text of settle's last post; of leaves it out.
const marker = "marker: the last post of the test"

// settle posts a marker as ann and waits until every inbox has it: the
// room's messages reach each member in id order, and a copy of an older
// id arriving later is dropped as a duplicate, so whatever the members
// have by then is all they will get of what came before.
func settle(t *testing.T, ann *client, inboxes ...*inbox) {
	t.Helper()
	ann.send(`{"type":"user","room":"r","msg":"` + marker + `"}`)
	waitFor(t, "the marker at every member", func() bool {
		for _, in := range inboxes {
			in.mu.Lock()
			got := slices.ContainsFunc(in.msgs, func(m faultMsg) bool { return m.Type == "user" && m.Msg == marker })
			in.mu.Unlock()
			if !got {
				return false
			}
		}
		return true
	})
}

// twoNodes starts chat nodes a and b on one Redis, with ann on a and bob
// on b in room r, both read in the background.
func twoNodes(t *testing.T, addr string) (ann, bob *client, annIn, bobIn *inbox) {
	t.Helper()
	a, b := redisNode(t, addr, "a"), redisNode(t, addr, "b")
	ann, bob = login(t, a, "ann"), login(t, b, "bob")
	ann.dial("r")
	ann.next("history")
	bob.dial("r")
	bob.next("history")
	return ann, bob, ann.inbox(), bob.inbox()
}

// waitFor polls until cond holds (bounded generously).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	servertest.WaitFor(t, what, cond)
}

// stored reads the room's stream: the source of truth.
func stored(t *testing.T, addr, room string) []uint64 {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	es, err := c.XRange(context.Background(), "gnetty:chat:hist:"+room, "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	var ids []uint64
	for _, e := range es {
		var n uint64
		fmt.Sscanf(e.ID, "%d-0", &n)
		ids = append(ids, n)
	}
	return ids
}

// exactlyOnceInOrder checks that a client got every stored id once, in
// order, and nothing else.
func exactlyOnceInOrder(t *testing.T, who string, got []faultMsg, want []uint64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s got %d messages, %d are stored: %v", who, len(got), len(want), ids(got))
	}
	for i := range got {
		if got[i].ID != want[i] {
			t.Fatalf("%s got %v, stored %v", who, ids(got), want)
		}
	}
}

func ids(ms []faultMsg) []uint64 {
	var out []uint64
	for _, m := range ms {
		out = append(out, m.ID)
	}
	return out
}

// TestNoMessageLostAroundADurableRedisRestart: two nodes, a durable Redis
// killed (-9) mid-conversation and restarted. Every post is answered (its
// echo, or an error while Redis is down), and every stored message reaches
// both members exactly once and in order, those posted right around the
// restart included: each node reads the stream from the last id it
// delivered when it subscribes again.
func TestNoMessageLostAroundADurableRedisRestart(t *testing.T) {
	rs := redistest.StartDurable(t)
	ann, _, annIn, bobIn := twoNodes(t, rs.Addr)

	posts := 0
	post := func() {
		ann.send(fmt.Sprintf(`{"type":"user","room":"r","msg":"m%d"}`, posts))
		posts++
		time.Sleep(120 * time.Millisecond) // the poster's pace (under the rate limit), not a wait for the server
	}
	for range 5 {
		post()
	}
	rs.Stop()
	for range 3 {
		post()
	}
	rs.Restart()
	for range 8 {
		post()
	}
	// Every post is answered: stored and echoed, or refused with an error.
	waitFor(t, "an answer to every post", func() bool {
		return len(annIn.of("user"))+len(annIn.of("error")) >= posts
	})
	want := stored(t, rs.Addr, "r")
	if len(want) < 13 {
		t.Fatalf("only %d of %d posts stored around the restart", len(want), posts)
	}
	waitFor(t, "every stored message at both members", func() bool {
		return len(annIn.of("user")) >= len(want) && len(bobIn.of("user")) >= len(want)
	})
	settle(t, ann, annIn, bobIn) // a double would have come before the marker
	exactlyOnceInOrder(t, "ann", annIn.of("user"), want)
	exactlyOnceInOrder(t, "bob", bobIn.of("user"), want)
	if got := len(annIn.of("user")) + len(annIn.of("error")); got != posts {
		t.Fatalf("%d posts, %d answers", posts, got)
	}
}

// TestNoMessageLostWhenSubscriptionsBreak: Redis kills every pub/sub
// connection again and again while a member posts; the other node's
// member still gets every message once and in order.
func TestNoMessageLostWhenSubscriptionsBreak(t *testing.T) {
	rs := redistest.Start(t)
	ann, _, annIn, bobIn := twoNodes(t, rs.Addr)
	admin := redis.NewClient(&redis.Options{Addr: rs.Addr})
	defer admin.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 15 {
			_ = admin.Do(context.Background(), "CLIENT", "KILL", "TYPE", "pubsub").Err()
			time.Sleep(70 * time.Millisecond)
		}
	}()
	for i := range 20 {
		ann.send(fmt.Sprintf(`{"type":"user","room":"r","msg":"m%d"}`, i))
		time.Sleep(60 * time.Millisecond)
	}
	<-done
	waitFor(t, "every message at both members", func() bool {
		ok := len(annIn.of("user")) >= 20 && len(bobIn.of("user")) >= 20
		if !ok && time.Now().Unix()%5 == 0 {
			t.Logf("ann %v bob %v errors %v stored %v", ids(annIn.of("user")), ids(bobIn.of("user")), annIn.of("error"), stored(t, rs.Addr, "r"))
		}
		return ok
	})
	want := stored(t, rs.Addr, "r")
	settle(t, ann, annIn, bobIn) // a double would have come before the marker
	exactlyOnceInOrder(t, "ann", annIn.of("user"), want)
	exactlyOnceInOrder(t, "bob", bobIn.of("user"), want)
}

// TestARedisThatLostItsDataStartsANewEpoch: ids start over at 1 under a
// new epoch, which members see; a history request in the old epoch gets
// the new numbering's newest page.
func TestARedisThatLostItsDataStartsANewEpoch(t *testing.T) {
	rs := redistest.Start(t) // no persistence
	ann, bob, annIn, bobIn := twoNodes(t, rs.Addr)
	ann.send(`{"type":"user","room":"r","msg":"before 1"}`)
	ann.send(`{"type":"user","room":"r","msg":"before 2"}`)
	waitFor(t, "two messages", func() bool { return len(bobIn.of("user")) == 2 })
	old := bobIn.of("user")[1]
	if old.ID != 2 || old.Epoch == "" {
		t.Fatalf("%+v", old)
	}
	rs.Stop()
	rs.Restart() // empty
	waitFor(t, "a post after the reset", func() bool {
		answers := len(annIn.of("user")) + len(annIn.of("error"))
		ann.send(`{"type":"user","room":"r","msg":"after"}`)
		waitFor(t, "an answer to the post", func() bool { return len(annIn.of("user"))+len(annIn.of("error")) > answers })
		if len(annIn.of("user")) > 2 {
			return true
		}
		time.Sleep(100 * time.Millisecond) // refused while Redis comes back: the poster's pace before it tries again
		return false
	})
	waitFor(t, "bob sees the post after the reset", func() bool { return len(bobIn.of("user")) > 2 })
	first := bobIn.of("user")[2]
	if first.ID != 1 || first.Epoch == "" || first.Epoch == old.Epoch {
		t.Fatalf("after the reset: %+v (before: %+v)", first, old)
	}
	bob.send(fmt.Sprintf(`{"type":"history","room":"r","since":2,"epoch":%q}`, old.Epoch))
	waitFor(t, "the history page", func() bool { return len(bobIn.of("history")) > 0 })
	// Since 2 meant the old numbering: the answer is the new one's newest
	// page, not the messages after a 2 of the new epoch.
	h := bobIn.of("history")[0]
	want := stored(t, rs.Addr, "r")
	if h.Epoch != first.Epoch || len(h.Messages) != len(want) || h.Messages[0].ID != 1 || h.Messages[0].Msg != "after" || h.Last != want[len(want)-1] {
		t.Fatalf("history in the old epoch: %+v, stored %v in epoch %s", h, want, first.Epoch)
	}
}
