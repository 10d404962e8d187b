package chat_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/gnetty/gnetty/internal/redistest"
	"github.com/gnetty/gnetty/preset/chat"
)

// roomsOf asks GET /api/rooms as c.
func (c *client) roomsOf() ([]chat.RoomInfo, int) {
	c.t.Helper()
	resp, err := c.http.Get(c.base + "/api/rooms")
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Rooms []chat.RoomInfo `json:"rooms"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return body.Rooms, resp.StatusCode
}

// waitRooms asks until the directory reads want (bounded).
func waitRooms(t *testing.T, c *client, want string) {
	t.Helper()
	var got string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		rooms, status := c.roomsOf()
		if status != 200 {
			t.Fatalf("status %d", status)
		}
		got = fmt.Sprint(rooms)
		if got == want {
			return
		}
	}
	t.Fatalf("directory %s, want %s", got, want)
}

func TestRoomDirectory(t *testing.T) {
	s := start(t, chat.NewMemoryStore())
	anon := &client{t: t, http: &http.Client{Timeout: 5 * time.Second}, base: "http://" + s.addr}
	if _, status := anon.roomsOf(); status != 401 {
		t.Fatalf("without a session: %d", status)
	}
	ann := joined(t, s, "ann", "lobby")
	waitRooms(t, ann, "[{lobby 1}]")
	bob := joined(t, s, "bob", "lobby")
	joined(t, s, "cat", "kitchen")
	waitRooms(t, ann, "[{lobby 2} {kitchen 1}]")
	// The same user on a second connection counts once.
	bobAgain := &client{t: t, http: bob.http, base: bob.base}
	bobAgain.dial("lobby")
	bobAgain.next("history")
	waitRooms(t, ann, "[{lobby 2} {kitchen 1}]")
	bobAgain.ws.Close()
	bob.ws.Close()
	waitRooms(t, ann, "[{kitchen 1} {lobby 1}]")
}

// Across nodes with Redis: the rooms of every node, a user counted once
// however many connections, a room gone when its last member leaves.
func TestRoomDirectoryAcrossNodes(t *testing.T) {
	rs := redistest.Start(t)
	a, b := redisNode(t, rs.Addr, "a"), redisNode(t, rs.Addr, "b")
	ann := joined(t, a, "ann", "lobby")
	bob := joined(t, b, "bob", "lobby")
	cat := joined(t, b, "cat", "attic")
	waitRooms(t, ann, "[{lobby 2} {attic 1}]")
	cat.ws.Close()
	bob.ws.Close()
	waitRooms(t, ann, "[{lobby 1}]")
}
