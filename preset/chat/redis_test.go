package chat_test

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gnetty/gnetty/internal/redistest"
	"github.com/gnetty/gnetty/preset/chat"
)

func redisNode(t *testing.T, addr, name string) *srv {
	t.Helper()
	client := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: time.Second, MaxRetries: 1})
	t.Cleanup(func() { client.Close() })
	return startWith(t, chat.Config{Redis: client, Node: name, Workers: 1, PresenceTTL: 3 * time.Second, AckTimeout: 200 * time.Millisecond})
}

// meet has ann and bob join room, each on their node: bob's login notice
// counts both at both (presence is the union over nodes), and a post from
// each gets a different id at both (a room's ids are global).
func meet(t *testing.T, ann, bob *client, room string) {
	t.Helper()
	ann.dial(room)
	ann.next("history")
	bob.dial(room)
	for _, c := range []*client{ann, bob} {
		for {
			m := c.next("login")
			if m.Msg == "bob" {
				if m.Count != 2 {
					t.Fatalf("%s: presence is not the union over nodes: %+v", room, m)
				}
				break
			}
		}
	}
	ann.send(`{"type":"user","room":"` + room + `","msg":"from a"}`)
	bob.send(`{"type":"user","room":"` + room + `","msg":"from b"}`)
	for _, c := range []*client{ann, bob} {
		seen := map[string]uint64{}
		for len(seen) < 2 {
			m := c.next("user")
			seen[m.Msg] = m.ID
		}
		if seen["from a"] == seen["from b"] || seen["from a"] == 0 || seen["from b"] == 0 {
			t.Fatalf("%s: sequence numbers are not global: %v", room, seen)
		}
	}
}

// loginAt logs in on one node and keeps the cookie for another.
func (c *client) moveTo(s *srv) { c.base = "http://" + s.addr }

func TestTwoNodesShareOneChat(t *testing.T) {
	rs := redistest.Start(t)
	a, b := redisNode(t, rs.Addr, "a"), redisNode(t, rs.Addr, "b")

	ann, bob := login(t, a, "ann"), login(t, b, "bob") // bob logs in on node b
	meet(t, ann, bob, "lobby")

	// A session made on node b is valid on node a; history follows.
	bob.ws.Close()
	for {
		if m := ann.next("logout"); m.Msg == "bob" {
			break
		}
	}
	bob.moveTo(a)
	bob.dial("lobby")
	h := bob.next("history")
	if len(h.Messages) != 2 || h.Last != 2 {
		t.Fatalf("history on the other node %+v", h)
	}

	// Redis restarts (losing its data: no persistence in tests): delivery
	// across nodes resumes on the connections that stayed open.
	cid := login(t, b, "cid")
	cid.dial("lobby")
	cid.next("history")
	msgs := make(chan in, 1000)
	_ = cid.ws.SetReadDeadline(time.Now().Add(60 * time.Second))
	go func() {
		defer close(msgs)
		for {
			var m in
			if cid.ws.ReadJSON(&m) != nil {
				return
			}
			msgs <- m
		}
	}()
	rs.Stop()
	rs.Restart()
	got := false
	for deadline := time.Now().Add(20 * time.Second); !got && time.Now().Before(deadline); {
		bob.send(`{"type":"user","room":"lobby","msg":"after restart"}`)
		wait := time.After(300 * time.Millisecond)
	drain:
		for {
			select {
			case m, ok := <-msgs:
				if !ok {
					t.Fatal("connection to node b ended")
				}
				if m.Type == "user" && m.Msg == "after restart" {
					got = true
					break drain
				}
			case <-wait:
				break drain
			}
		}
	}
	if !got {
		t.Fatal("no delivery across nodes after Redis restarted")
	}
}

// A message posted on one node is resent, with the same id, to a client
// on another node until that client acks it.
func TestAckRetriesAcrossNodes(t *testing.T) {
	rs := redistest.Start(t)
	a, b := redisNode(t, rs.Addr, "a"), redisNode(t, rs.Addr, "b")
	ann := login(t, a, "ann")
	ann.dial("r")
	ann.next("history")
	bob := login(t, b, "bob")
	bob.dial("r")
	bob.next("history")
	bob.send(`{"type":"ack","room":"r","id":0}`) // bob acks: retries apply to him
	bob.send(`{"type":"history","room":"r"}`)    // answered after the ack is handled (one connection's messages are handled in order)
	bob.next("history")
	ann.send(`{"type":"user","room":"r","msg":"are you there"}`)
	first := bob.next("user")
	again := bob.next("user")
	if again.ID != first.ID || again.Msg != "are you there" {
		t.Fatalf("resend %+v of %+v", again, first)
	}
}
