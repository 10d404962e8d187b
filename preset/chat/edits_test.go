package chat_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/gnetty/gnetty/internal/redistest"
	"github.com/gnetty/gnetty/preset/chat"
)

// say sends text to room as c and returns the stored message (its echo).
func (c *client) say(room, text string) in {
	c.t.Helper()
	c.send(fmt.Sprintf(`{"type":"user","room":%q,"msg":%q}`, room, text))
	for {
		m := c.next("user")
		if m.Msg == text {
			return m
		}
	}
}

// historyOf returns room's newest page as c sees it.
func (c *client) historyOf(req string) in {
	c.t.Helper()
	c.send(req)
	return c.next("history")
}

// checkChanges runs the edit and delete scenario in room between ann (the
// author) and bob (another member), who may be on other nodes.
func checkChanges(t *testing.T, ann, bob *client, room string) {
	t.Helper()
	m := ann.say(room, "teh first draft")
	if m.EditedAt != "" || m.Deleted {
		t.Fatalf("a new message marked changed: %+v", m)
	}
	bob.next("user")
	ann.send(fmt.Sprintf(`{"type":"edit","room":%q,"id":%d,"epoch":%q,"msg":"the first draft"}`, room, m.ID, m.Epoch))
	for _, c := range []*client{ann, bob} {
		e := c.next("edited")
		if e.ID != m.ID || e.Msg != "the first draft" || e.EditedAt == "" || e.From != "ann" || e.Room != room {
			t.Fatalf("edited: %+v", e)
		}
	}
	// Someone else may not touch it.
	bob.send(fmt.Sprintf(`{"type":"edit","room":%q,"id":%d,"msg":"bob was here"}`, room, m.ID))
	if e := bob.next("error"); e.Code != "forbidden" {
		t.Fatalf("bob's edit: %+v", e)
	}
	bob.send(fmt.Sprintf(`{"type":"delete","room":%q,"id":%d}`, room, m.ID))
	if e := bob.next("error"); e.Code != "forbidden" {
		t.Fatalf("bob's delete: %+v", e)
	}
	// History has the edit.
	h := bob.historyOf(fmt.Sprintf(`{"type":"history","room":%q}`, room))
	last := h.Messages[len(h.Messages)-1]
	if last.ID != m.ID || last.Text != "the first draft" || last.EditedAt == "" || last.Deleted {
		t.Fatalf("history after the edit: %+v", last)
	}
	// The author deletes it: everyone is told, history keeps its place
	// with no text.
	ann.send(fmt.Sprintf(`{"type":"delete","room":%q,"id":%d,"epoch":%q}`, room, m.ID, m.Epoch))
	for _, c := range []*client{ann, bob} {
		e := c.next("deleted")
		if e.ID != m.ID || !e.Deleted || e.Msg != "" {
			t.Fatalf("deleted: %+v", e)
		}
	}
	h = ann.historyOf(fmt.Sprintf(`{"type":"history","room":%q}`, room))
	last = h.Messages[len(h.Messages)-1]
	if last.ID != m.ID || !last.Deleted || last.Text != "" {
		t.Fatalf("history after the delete: %+v", last)
	}
	// A deleted message stays deleted; unknown ids and old epochs are
	// refused.
	for req, code := range map[string]string{
		fmt.Sprintf(`{"type":"edit","room":%q,"id":%d,"msg":"back"}`, room, m.ID):             "not_found",
		fmt.Sprintf(`{"type":"delete","room":%q,"id":%d}`, room, m.ID+1000):                   "not_found",
		fmt.Sprintf(`{"type":"edit","room":%q,"id":%d,"epoch":"0000","msg":"x"}`, room, m.ID): "stale",
		fmt.Sprintf(`{"type":"edit","room":%q,"id":%d,"msg":""}`, room, m.ID):                 "too_long",
		fmt.Sprintf(`{"type":"edit","room":"elsewhere","id":%d,"msg":"x"}`, m.ID):             "not_in_room",
		`{"type":"delete","id":1}`: "bad_request",
	} {
		ann.send(req)
		if e := ann.next("error"); e.Code != code {
			t.Fatalf("%s: %+v, want %s", req, e, code)
		}
	}
}

func TestEditAndDelete(t *testing.T) {
	s := start(t, chat.NewMemoryStore())
	ann, bob := joined(t, s, "ann", "lobby"), joined(t, s, "bob", "lobby")
	checkChanges(t, ann, bob, "lobby")
}

// In a direct conversation: both users are told; the other may not.
func TestEditAndDeleteADirectMessage(t *testing.T) {
	s := start(t, chat.NewMemoryStore())
	ann, bob := joined(t, s, "ann", "lobby"), joined(t, s, "bob", "lobby")
	ann.send(`{"type":"dm","to":"bob","msg":"psst"}`)
	m := bob.next("dm")
	ann.next("dm")
	ann.send(fmt.Sprintf(`{"type":"edit","dm":"bob","id":%d,"epoch":%q,"msg":"psst, lunch?"}`, m.ID, m.Epoch))
	for _, c := range []*client{ann, bob} {
		if e := c.next("edited"); e.Msg != "psst, lunch?" || e.Room != "" || e.To != "bob" || e.From != "ann" {
			t.Fatalf("edited: %+v", e)
		}
	}
	bob.send(fmt.Sprintf(`{"type":"delete","dm_id":%q,"id":%d}`, m.FromID, m.ID))
	if e := bob.next("error"); e.Code != "forbidden" {
		t.Fatalf("bob deleting ann's dm: %+v", e)
	}
	ann.send(fmt.Sprintf(`{"type":"delete","dm":"bob","id":%d}`, m.ID))
	for _, c := range []*client{ann, bob} {
		if e := c.next("deleted"); !e.Deleted {
			t.Fatalf("deleted: %+v", e)
		}
	}
	h := bob.historyOf(`{"type":"history","dm":"ann"}`)
	if last := h.Messages[len(h.Messages)-1]; !last.Deleted || last.Text != "" {
		t.Fatalf("dm history: %+v", last)
	}
}

// Edits are kept by the store: a restart shows them.
func TestEditsSurviveARestart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	store, err := chat.OpenBoltStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := start(t, store)
	ann := joined(t, s, "ann", "lobby")
	m := ann.say("lobby", "before")
	ann.send(fmt.Sprintf(`{"type":"edit","room":"lobby","id":%d,"msg":"after"}`, m.ID))
	ann.next("edited")
	ann.ws.Close()
	s = restart(t, s, dir)
	bob := joined(t, s, "bob", "lobby")
	h := bob.historyOf(`{"type":"history","room":"lobby"}`)
	if last := h.Messages[len(h.Messages)-1]; last.Text != "after" || last.EditedAt == "" {
		t.Fatalf("after a restart: %+v", last)
	}
}

// Across two nodes on one Redis, and after Redis restarts (with its
// data kept on disk).
func TestEditsAcrossNodesAndRedisRestarts(t *testing.T) {
	rs := redistest.StartDurable(t)
	a, b := redisNode(t, rs.Addr, "a"), redisNode(t, rs.Addr, "b")
	ann, bob := joined(t, a, "ann", "lobby"), joined(t, b, "bob", "lobby")
	checkChanges(t, ann, bob, "lobby")
	m := ann.say("lobby", "one more")
	bob.next("user")
	ann.send(fmt.Sprintf(`{"type":"edit","room":"lobby","id":%d,"msg":"one more, edited"}`, m.ID))
	bob.next("edited")
	rs.Stop()
	rs.Restart()
	h := bob.historyOf(`{"type":"history","room":"lobby"}`)
	if last := h.Messages[len(h.Messages)-1]; last.Text != "one more, edited" {
		t.Fatalf("after Redis restarted: %+v", last)
	}
}
