package chat_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gorilla "github.com/gorilla/websocket"

	"github.com/gnetty/gnetty/internal/servertest"
	"github.com/gnetty/gnetty/preset/chat"
)

type srv struct {
	*chat.Server
	addr string
}

func start(t *testing.T, store chat.Store) *srv {
	t.Helper()
	return startWith(t, chat.Config{Store: store, Workers: 2, MessagesPerSecond: 20, AckTimeout: 200 * time.Millisecond})
}

// startWith runs a chat with cfg on a free loopback port (quiet logs) and
// shuts it down at the end of the test.
func startWith(t *testing.T, cfg chat.Config) *srv {
	t.Helper()
	cfg.Addr = "127.0.0.1:0"
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s, err := chat.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &srv{Server: s, addr: servertest.Start(t, s)}
}

// restart shuts s down and starts a new server on the on-disk store in
// dir, as a restarted process would.
func restart(t *testing.T, s *srv, dir string) *srv {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	store, err := chat.OpenBoltStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	return start(t, store)
}

type client struct {
	t    *testing.T
	http *http.Client
	ws   *gorilla.Conn
	base string
}

func login(t *testing.T, s *srv, name string) *client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &client{t: t, http: &http.Client{Jar: jar, Timeout: 5 * time.Second}, base: "http://" + s.addr}
	resp, err := c.http.Post(c.base+"/login", "application/json", strings.NewReader(fmt.Sprintf(`{"name":%q,"avatar":"owl"}`, name)))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("login %s: %v %v", name, resp, err)
	}
	resp.Body.Close()
	return c
}

func (c *client) dial(room string) {
	c.t.Helper()
	u, _ := url.Parse(c.base)
	h := http.Header{}
	for _, ck := range c.http.Jar.Cookies(u) {
		h.Add("Cookie", ck.String())
	}
	ws, resp, err := gorilla.DefaultDialer.Dial("ws://"+u.Host+"/ws/chat/"+room, h)
	if err != nil {
		c.t.Fatalf("dial: %v %v", err, resp)
	}
	c.ws = ws
	c.t.Cleanup(func() { ws.Close() })
}

type in struct {
	Type     string            `json:"type"`
	Msg      string            `json:"msg"`
	Room     string            `json:"room"`
	ID       uint64            `json:"id"`
	From     string            `json:"from"`
	Count    int               `json:"count"`
	Code     string            `json:"code"`
	UserList []json.RawMessage `json:"user_list"`
	Messages []struct {
		ID       uint64 `json:"id"`
		Text     string `json:"msg"`
		EditedAt string `json:"edited_at"`
		Deleted  bool   `json:"deleted"`
	} `json:"messages"`
	EditedAt string `json:"edited_at"`
	Deleted  bool   `json:"deleted"`
	Last     uint64 `json:"last"`
	More     bool   `json:"more"`
	To       string `json:"to"`
	ToID     string `json:"to_id"`
	CID      string `json:"cid"`
	Name     string `json:"name"`
	DM       string `json:"dm"`
	DMID     string `json:"dm_id"`
	FromID   string `json:"from_id"`
	Epoch    string `json:"epoch"`
	User     struct {
		ID     string `json:"id"`
		Name   string `json:"username"`
		Avatar string `json:"headerimg"`
	} `json:"user"`
}

// next reads until a message of type typ (others are skipped).
func (c *client) next(typ string) in {
	c.t.Helper()
	return c.nextOf(typ)
}

// nextOf reads until a message of one of types (others are skipped).
func (c *client) nextOf(types ...string) in {
	c.t.Helper()
	_ = c.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		var m in
		if err := c.ws.ReadJSON(&m); err != nil {
			c.t.Fatalf("waiting for %v: %v", types, err)
		}
		if slices.Contains(types, m.Type) {
			return m
		}
	}
}

func (c *client) send(v string) {
	c.t.Helper()
	if err := c.ws.WriteMessage(gorilla.TextMessage, []byte(v)); err != nil {
		c.t.Fatal(err)
	}
}

func TestChatEndToEnd(t *testing.T) {
	s := start(t, chat.NewMemoryStore())

	// Without a session the upgrade is refused with 401.
	_, resp, err := gorilla.DefaultDialer.Dial("ws://"+s.addr+"/ws/chat/lobby", nil)
	if err == nil || resp == nil || resp.StatusCode != 401 {
		t.Fatalf("anonymous upgrade: %v %v", err, resp)
	}

	ann := login(t, s, "ann")
	ann.dial("lobby")
	if m := ann.next("handShake"); m.Type != "handShake" {
		t.Fatal(m)
	}
	if m := ann.next("login"); m.Count != 1 || m.Msg != "ann" {
		t.Fatalf("%+v", m)
	}
	if m := ann.next("history"); len(m.Messages) != 0 {
		t.Fatalf("%+v", m)
	}
	bob := login(t, s, "bob")
	bob.dial("lobby")
	if m := ann.next("login"); m.Count != 2 || m.Msg != "bob" || len(m.UserList) != 2 {
		t.Fatalf("ann saw %+v", m)
	}
	bob.next("history")

	ann.send(`{"type":"user","room":"lobby","msg":"<script>alert(1)</script>"}`)
	for _, c := range []*client{ann, bob} {
		m := c.next("user")
		if m.ID != 1 || m.From != "ann" || m.Msg != "<script>alert(1)</script>" {
			t.Fatalf("%+v", m)
		}
	}
	bob.send(`{"type":"ack","room":"lobby","id":1}`)

	// Bad input: answered, connection kept.
	ann.send(`{not json`)
	if m := ann.next("error"); m.Code != "invalid_json" {
		t.Fatalf("%+v", m)
	}
	ann.send(`{"type":"user","room":"lobby","msg":"` + strings.Repeat("x", 2001) + `"}`)
	if m := ann.next("error"); m.Code != "too_long" {
		t.Fatalf("%+v", m)
	}
	ann.send(`{"type":"user","room":"elsewhere","msg":"x"}`)
	if m := ann.next("error"); m.Code != "not_in_room" {
		t.Fatalf("%+v", m)
	}
	limited := false
	for i := range 60 {
		ann.send(fmt.Sprintf(`{"type":"user","room":"lobby","msg":"flood %d"}`, i))
	}
	_ = ann.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	for !limited {
		var m in
		if err := ann.ws.ReadJSON(&m); err != nil {
			t.Fatal(err)
		}
		limited = m.Type == "error" && m.Code == "rate_limited"
	}

	// Join a second room and chat there. Every message type costs tokens,
	// so the join is refused until the flood's tokens have come back.
	for deadline := time.Now().Add(10 * time.Second); ; {
		ann.send(`{"type":"join","room":"kitchen"}`)
		m := ann.nextOf("login", "error")
		if m.Type == "login" {
			if m.Room != "kitchen" || m.Count != 1 {
				t.Fatalf("%+v", m)
			}
			break
		}
		if m.Code != "rate_limited" || time.Now().After(deadline) {
			t.Fatalf("join refused: %+v", m)
		}
		time.Sleep(100 * time.Millisecond) // the limiter refills 20 tokens a second
	}

	// Bob drops abruptly: ann sees the logout with the right count.
	bob.ws.UnderlyingConn().Close()
	for {
		m := ann.next("logout")
		if m.Room == "lobby" {
			if m.Count != 1 || m.Msg != "bob" {
				t.Fatalf("%+v", m)
			}
			break
		}
	}

	// Bob comes back and recovers what he missed without gaps or doubles.
	bob.dial("lobby")
	h := bob.next("history")
	if len(h.Messages) == 0 || h.Messages[0].ID == 0 || h.Last != h.Messages[len(h.Messages)-1].ID {
		t.Fatalf("history on join %+v", h)
	}
	for i := 1; i < len(h.Messages); i++ {
		if h.Messages[i].ID != h.Messages[i-1].ID+1 {
			t.Fatalf("gap in history: %+v", h.Messages)
		}
	}
	bob.send(`{"type":"history","room":"lobby","since":1}`)
	if h2 := bob.next("history"); len(h2.Messages) == 0 || h2.Messages[0].ID != 2 {
		t.Fatalf("history since 1: %+v", h2)
	}

	// Logout ends the session: no more upgrades.
	resp2, err := bob.http.Post(bob.base+"/logout", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	u, _ := url.Parse(bob.base)
	hdr := http.Header{}
	for _, ck := range bob.http.Jar.Cookies(u) {
		hdr.Add("Cookie", ck.String())
	}
	if _, resp, err := gorilla.DefaultDialer.Dial("ws://"+s.addr+"/ws/chat/lobby", hdr); err == nil || resp.StatusCode != 401 {
		t.Fatalf("upgrade after logout: %v", err)
	}
}

func TestUnackedMessagesAreResentWithTheSameID(t *testing.T) {
	s := start(t, chat.NewMemoryStore())
	ann := login(t, s, "ann")
	ann.dial("r")
	ann.next("history")
	ann.send(`{"type":"ack","room":"r","id":0}`) // this client acks: retries apply (handled before the post: one connection's messages are handled in order)
	ann.send(`{"type":"user","room":"r","msg":"hello"}`)
	first := ann.next("user")
	again := ann.next("user")
	if again.ID != first.ID || again.Msg != first.Msg {
		t.Fatalf("resend %+v of %+v", again, first)
	}
	ann.send(fmt.Sprintf(`{"type":"ack","room":"r","id":%d}`, first.ID))
	// The ack stops the resends: a later message, left unacked, is sent
	// again after the same timeout, and no copy of "hello" comes first.
	ann.send(`{"type":"user","room":"r","msg":"later"}`)
	seen := 0
	for seen < 2 {
		m := ann.next("user")
		if m.Msg == "hello" {
			t.Fatalf("resent after its ack: %+v", m)
		}
		if m.Msg == "later" {
			seen++
		}
	}
}

func TestHistorySurvivesARestart(t *testing.T) {
	dir := t.TempDir()
	store, err := chat.OpenBoltStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := start(t, store)
	ann := login(t, s, "ann")
	ann.dial("lobby")
	ann.next("history")
	for i := range 3 {
		ann.send(fmt.Sprintf(`{"type":"user","room":"lobby","msg":"m%d"}`, i))
		ann.next("user")
	}
	ann.ws.Close()
	s2 := restart(t, s, dir)
	bob := login(t, s2, "bob")
	bob.dial("lobby")
	h := bob.next("history")
	if len(h.Messages) != 3 || h.Messages[2].Text != "m2" || h.Last != 3 {
		t.Fatalf("history after restart %+v", h)
	}
	bob.send(`{"type":"user","room":"lobby","msg":"after"}`)
	if m := bob.next("user"); m.ID != 4 {
		t.Fatalf("sequence restarted: %+v", m)
	}
}

func TestRoomLimits(t *testing.T) {
	srv := startWith(t, chat.Config{MaxRoomsPerConn: 2, MaxMembersPerRoom: 1})
	ann := login(t, srv, "ann")
	ann.dial("a")
	ann.next("history")
	ann.send(`{"type":"join","room":"b"}`)
	ann.next("history")
	ann.send(`{"type":"join","room":"c"}`)
	if m := ann.next("error"); m.Code != "too_many_rooms" {
		t.Fatalf("%+v", m)
	}
	ann.send(`{"type":"join","room":"bad room!"}`)
	if m := ann.next("error"); m.Code != "bad_room" {
		t.Fatalf("%+v", m)
	}
	bob := login(t, srv, "bob")
	bob.dial("a") // full: bob cannot join and is told why
	if m := bob.next("error"); m.Code != "room_full" {
		t.Fatalf("%+v", m)
	}
	metrics := string(mustBody(t, "http://"+srv.addr+"/metrics"))
	if !strings.Contains(metrics, "chat_connections 2") {
		t.Fatal("metrics do not count the connections")
	}
	if _, resp, err := gorilla.DefaultDialer.Dial("ws://"+srv.addr+"/ws/chat/a", nil); err == nil || resp.StatusCode != 401 {
		t.Fatal("anonymous upgrade accepted")
	}
	if m := string(mustBody(t, "http://"+srv.addr+"/metrics")); !strings.Contains(m, `chat_handshake_failures_total{reason="log in first"} 1`) {
		t.Fatalf("handshake failure not counted:\n%s", m)
	}
	// Names are limited too.
	resp, err := http.Post("http://"+srv.addr+"/login", "application/json", strings.NewReader(`{"name":"`+strings.Repeat("n", 33)+`"}`))
	if err != nil || resp.StatusCode != 400 {
		t.Fatalf("long name: %v %v", resp, err)
	}
	resp.Body.Close()
}

func mustBody(t *testing.T, u string) []byte {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// countingStore counts Close calls.
type countingStore struct {
	*chat.MemoryStore
	closes atomic.Int32
}

func (c *countingStore) Close() error { c.closes.Add(1); return c.MemoryStore.Close() }

// TestServeAndShutdownRace calls Serve and Shutdown at once: both return,
// nothing listens afterwards, and the store is closed exactly once.
func TestServeAndShutdownRace(t *testing.T) {
	store := &countingStore{MemoryStore: chat.NewMemoryStore()}
	s, err := chat.New(chat.Config{Addr: "127.0.0.1:0", Store: store, Workers: 1, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	addr := s.Addrs()[0].String()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%2 == 0 {
				_ = s.Serve(ctx)
				return
			}
			sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer scancel()
			_ = s.Shutdown(sctx)
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Serve/Shutdown did not return")
	}
	if n := store.closes.Load(); n != 1 {
		t.Fatalf("store closed %d times, want 1", n)
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatal("the chat still accepts after Shutdown")
	}
}
