package chat_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	gorilla "github.com/gorilla/websocket"

	"github.com/gnetty/gnetty/preset/chat"
)

// TestHistoryFloodDoesNotFreezeTheRoom: one client writes 5,000 history
// requests at once against a 500-message backlog. The server serves it
// one page at a time, refuses the rest and closes it (1008) once it keeps
// sending refused messages; another member of the room meanwhile posts
// and gets every message back with no error. (Before: 446 MB sent to the
// flooder in 13 s, and the others' posts refused with busy.)
func TestHistoryFloodDoesNotFreezeTheRoom(t *testing.T) {
	store := chat.NewMemoryStore()
	for i := 1; i <= 500; i++ {
		if err := store.Append(chat.Msg{ID: uint64(i), Room: "r", From: "old", Text: fmt.Sprintf("backlog %03d %s", i, "padding to make a page heavy")}); err != nil {
			t.Fatal(err)
		}
	}
	s := start(t, store)
	flooder, victim := login(t, s, "flooder"), login(t, s, "victim")
	flooder.dial("r")
	flooder.next("history")
	victim.dial("r")
	victim.next("history")

	var wg sync.WaitGroup
	var pages, refused int
	var closeCode int
	wg.Add(1)
	go func() { // the flooder writes everything at once, then reads what comes
		defer wg.Done()
		for range 5000 {
			if flooder.ws.WriteMessage(gorilla.TextMessage, []byte(`{"type":"history","room":"r","since":0}`)) != nil {
				break
			}
		}
		_ = flooder.ws.SetReadDeadline(time.Now().Add(30 * time.Second))
		for {
			var m struct{ Type, Code string }
			if err := flooder.ws.ReadJSON(&m); err != nil {
				if ce, ok := err.(*gorilla.CloseError); ok {
					closeCode = ce.Code
				}
				return
			}
			switch m.Type {
			case "history":
				pages++
			case "error":
				refused++
			}
		}
	}()

	var worst time.Duration
	for i := range 20 {
		sent := time.Now()
		victim.send(fmt.Sprintf(`{"type":"user","room":"r","msg":"still here %d"}`, i))
		m := victim.nextOf("user", "error")
		if m.Type == "error" {
			t.Fatalf("the victim's post %d was refused during the flood: %+v", i, m)
		}
		if m.Msg != fmt.Sprintf("still here %d", i) || m.ID != uint64(501+i) {
			t.Fatalf("post %d came back as %+v", i, m)
		}
		worst = max(worst, time.Since(sent))
	}
	wg.Wait()
	t.Logf("flooder: %d pages, %d refusals, closed %d; the victim's slowest post took %v", pages, refused, closeCode, worst)
	if pages > 10 {
		t.Fatalf("the flooder got %d history pages for 5,000 requests at once", pages)
	}
	if closeCode != gorilla.ClosePolicyViolation {
		t.Fatalf("the flooder was closed with %d, want 1008", closeCode)
	}
}

// TestEmptyRoomsAreForgotten: rooms whose last member left leave no state
// behind, and a room that comes back keeps numbering where it was.
func TestEmptyRoomsAreForgotten(t *testing.T) {
	s := startWith(t, chat.Config{Store: chat.NewMemoryStore(), Workers: 2, MessagesPerSecond: 10000})
	ann := login(t, s, "ann")
	ann.dial("lobby")
	ann.next("history")
	for i := range 300 {
		room := fmt.Sprintf("room-%d", i)
		ann.send(fmt.Sprintf(`{"type":"join","room":%q}`, room))
		for m := ann.next("login"); m.Room != room; m = ann.next("login") {
		}
		ann.send(fmt.Sprintf(`{"type":"leave","room":%q}`, room))
	}
	ann.send(`{"type":"join","room":"again"}`)
	ann.next("history")
	ann.send(`{"type":"user","room":"again","msg":"one"}`)
	if m := ann.next("user"); m.ID != 1 {
		t.Fatalf("%+v", m)
	}
	ann.send(`{"type":"leave","room":"again"}`)
	ann.send(`{"type":"join","room":"again"}`)
	if m := ann.next("history"); m.Last != 1 {
		t.Fatalf("history after coming back: %+v", m)
	}
	ann.send(`{"type":"user","room":"again","msg":"two"}`)
	if m := ann.next("user"); m.ID != 2 {
		t.Fatalf("a room that came back reused or skipped an id: %+v", m)
	}
	for deadline := time.Now().Add(10 * time.Second); s.Rooms() != 2; {
		if time.Now().After(deadline) {
			t.Fatalf("%d rooms kept in memory, want 2 (lobby, again)", s.Rooms())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestHistoryPagesBackToTheFirstMessage: with more messages than a page,
// the newest page says more, and before pages back to message 1.
func TestHistoryPagesBackToTheFirstMessage(t *testing.T) {
	store := chat.NewMemoryStore()
	for i := 1; i <= 1200; i++ {
		if err := store.Append(chat.Msg{ID: uint64(i), Room: "r", From: "old", Text: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	s := start(t, store)
	ann := login(t, s, "ann")
	ann.dial("r")
	if m := ann.next("history"); len(m.Messages) != 50 || m.Messages[0].ID != 1151 || !m.More {
		t.Fatalf("history on join: %d messages from %d, more %v", len(m.Messages), m.Messages[0].ID, m.More)
	}
	pages := []struct {
		ask      string
		from, to uint64
		more     bool
	}{
		{ask: `"since":0`, from: 701, to: 1200, more: true},
		{ask: `"before":701`, from: 201, to: 700, more: true},
		{ask: `"before":201`, from: 1, to: 200, more: false},
		{ask: `"before":50,"limit":10`, from: 40, to: 49, more: true},
		{ask: `"since":1`, from: 2, to: 501, more: true},
		{ask: `"since":1000`, from: 1001, to: 1200, more: false},
	}
	for _, p := range pages {
		ann.send(`{"type":"history","room":"r",` + p.ask + `}`)
		m := ann.next("history")
		n := len(m.Messages)
		if n == 0 || m.Messages[0].ID != p.from || m.Messages[n-1].ID != p.to || uint64(n) != p.to-p.from+1 || m.More != p.more || m.Last != 1200 {
			got := "none"
			if n > 0 {
				got = fmt.Sprintf("%d..%d", m.Messages[0].ID, m.Messages[n-1].ID)
			}
			t.Fatalf("%s: %s (%d), more %v, last %d; want %d..%d, more %v", p.ask, got, n, m.More, m.Last, p.from, p.to, p.more)
		}
	}
}

// TestHistoryAskedAgainOnReceiptIsNeverRefused: a client that sends its
// next history request the moment a reply arrives (as the page does when
// paging) must find its history slot free.
func TestHistoryAskedAgainOnReceiptIsNeverRefused(t *testing.T) {
	store := chat.NewMemoryStore()
	for i := 1; i <= 10; i++ {
		_ = store.Append(chat.Msg{ID: uint64(i), Room: "r", Text: fmt.Sprint(i)})
	}
	s := startWith(t, chat.Config{Store: store, Workers: 2, MessagesPerSecond: 100000})
	ann := login(t, s, "ann")
	ann.dial("r")
	ann.next("history")
	for i := range 2000 {
		ann.send(`{"type":"history","room":"r","since":0,"limit":1}`)
		if m := ann.nextOf("history", "error"); m.Type != "history" {
			t.Fatalf("request %d, sent on receipt of the last reply, was refused: %+v", i, m)
		}
	}
}
