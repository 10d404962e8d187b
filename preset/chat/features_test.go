package chat_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	gorilla "github.com/gorilla/websocket"

	"github.com/gnetty/gnetty/internal/redistest"
	"github.com/gnetty/gnetty/internal/servertest"
	"github.com/gnetty/gnetty/preset/chat"
)

// joined logs name in and connects it to room, past its first history.
func joined(t *testing.T, s *srv, name, room string) *client {
	t.Helper()
	c := login(t, s, name)
	c.dial(room)
	c.next("history")
	return c
}

// historyTexts asks c for room's newest page and returns its texts.
func (c *client) historyTexts(req string) []string {
	c.t.Helper()
	c.send(req)
	h := c.next("history")
	var out []string
	for _, m := range h.Messages {
		out = append(out, m.Text)
	}
	return out
}

func TestResentCIDIsNeverADouble(t *testing.T) {
	dir := t.TempDir()
	store, err := chat.OpenBoltStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := start(t, store)
	ann, bob := joined(t, s, "ann", "lobby"), joined(t, s, "bob", "lobby")
	ann.send(`{"type":"user","room":"lobby","msg":"once","cid":"c-1"}`)
	first := bob.next("user")
	if first.Msg != "once" || first.CID != "c-1" || first.ID == 0 {
		t.Fatalf("bob got %+v", first)
	}
	if m := ann.next("user"); m.ID != first.ID {
		t.Fatalf("ann got %+v", m)
	}
	// The resend (a page that lost its socket before the answer came)
	// answers ann with the stored message; bob never sees it again.
	ann.send(`{"type":"user","room":"lobby","msg":"once","cid":"c-1"}`)
	if m := ann.next("user"); m.ID != first.ID || m.CID != "c-1" || m.Msg != "once" {
		t.Fatalf("the resend was answered %+v, want id %d", m, first.ID)
	}
	ann.send(`{"type":"user","room":"lobby","msg":"then","cid":"c-2"}`)
	if m := bob.next("user"); m.Msg != "then" || m.ID != first.ID+1 {
		t.Fatalf("bob's next message %+v: the resend was delivered or numbered", m)
	}
	// Another sender's identical cid is its own message.
	bob.send(`{"type":"user","room":"lobby","msg":"bob's","cid":"c-1"}`)
	if m := ann.nextOf("user"); m.Msg != "then" {
		t.Fatalf("%+v", m)
	}
	if m := ann.next("user"); m.Msg != "bob's" || m.From != "bob" {
		t.Fatalf("bob's own c-1: %+v", m)
	}
	bad := strings.Repeat("x", 65)
	ann.send(`{"type":"user","room":"lobby","msg":"long cid","cid":"` + bad + `"}`)
	if m := ann.next("error"); m.Code != "bad_request" {
		t.Fatalf("a 65-character cid: %+v", m)
	}

	// The cids survive a restart: a client that resends after it gets
	// the stored message back, and the history holds one copy.
	ann.ws.Close()
	bob.ws.Close()
	s = restart(t, s, dir)
	ann.moveTo(s) // the session survived the restart too
	ann.dial("lobby")
	ann.next("history")
	ann.send(`{"type":"user","room":"lobby","msg":"once","cid":"c-1"}`)
	if m := ann.next("user"); m.ID != first.ID {
		t.Fatalf("after a restart the resend got %+v, want id %d", m, first.ID)
	}
	texts := ann.historyTexts(`{"type":"history","room":"lobby"}`)
	if strings.Join(texts, ",") != "once,then,bob's" {
		t.Fatalf("history %q", texts)
	}
}

func TestDirectMessages(t *testing.T) {
	s := start(t, chat.NewMemoryStore())
	ann := joined(t, s, "ann", "lobby")
	bob := joined(t, s, "Bob", "elsewhere")
	bob2 := login(t, s, "x") // another tab of bob's: same cookie jar as bob
	bob2.http = bob.http
	bob2.dial("lobby")
	bob2.next("history")
	dave := joined(t, s, "dave", "lobby")

	ann.send(`{"type":"dm","to":"bob","msg":"psst","cid":"d-1"}`)
	for _, c := range []*client{ann, bob, bob2} {
		m := c.next("dm")
		if m.From != "ann" || m.To != "Bob" || m.Msg != "psst" || m.ID != 1 || m.CID != "d-1" || m.Room != "" {
			t.Fatalf("dm as received: %+v", m)
		}
	}
	bob.send(`{"type":"dm","to":"ANN","msg":"hi back"}`)
	if m := ann.next("dm"); m.From != "Bob" || m.ID != 2 {
		t.Fatalf("reply: %+v", m)
	}
	// Nobody else gets it, and a name never seen is refused.
	ann.send(`{"type":"dm","to":"carl","msg":"hello?"}`)
	if m := ann.next("error"); m.Code != "no_such_user" {
		t.Fatalf("dm to a stranger: %+v", m)
	}
	dave.send(`{"type":"user","room":"lobby","msg":"marker"}`)
	if m := dave.nextOf("dm", "user"); m.Type != "user" || m.Msg != "marker" {
		t.Fatalf("dave saw %+v", m)
	}
	// The conversation's history, from either side, and nobody else's.
	bob.send(`{"type":"history","dm":"ann"}`)
	h := bob.next("history")
	if h.DM != "ann" || h.Room != "" || len(h.Messages) != 2 || h.Messages[0].Text != "psst" || h.Messages[1].ID != 2 {
		t.Fatalf("bob's history with ann: %+v", h)
	}
	ann.send(`{"type":"history","dm":"bob","since":1}`)
	if h := ann.next("history"); len(h.Messages) != 1 || h.Messages[0].Text != "hi back" {
		t.Fatalf("ann's history since 1: %+v", h)
	}
	if texts := dave.historyTexts(`{"type":"history","dm":"ann"}`); len(texts) != 0 {
		t.Fatalf("dave reads %q", texts)
	}
	// A dm is not a room message: the rooms' history does not hold it.
	if texts := ann.historyTexts(`{"type":"history","room":"lobby"}`); strings.Join(texts, ",") != "marker" {
		t.Fatalf("lobby history %q", texts)
	}
}

func TestTypingGoesToTheOthersOnly(t *testing.T) {
	s := start(t, chat.NewMemoryStore())
	ann, bob := joined(t, s, "ann", "lobby"), joined(t, s, "bob", "lobby")
	began := time.Now()
	ann.send(`{"type":"typing","room":"lobby"}`)
	if m := bob.next("typing"); m.Room != "lobby" || m.Name != "ann" {
		t.Fatalf("bob got %+v", m)
	}
	for range 9 { // past the budget (a burst of 3, then 1 a second): dropped, never refused
		ann.send(`{"type":"typing","room":"lobby"}`)
	}
	ann.send(`{"type":"user","room":"lobby","msg":"done typing"}`)
	if m := ann.nextOf("typing", "user", "error"); m.Type != "user" {
		t.Fatalf("the typist got %+v before its own message", m)
	}
	relayed := 1
	for bob.nextOf("typing", "user").Type == "typing" {
		relayed++
	}
	// The burst of 3, and one a second after it (however slow this run).
	if limit := 3 + int(time.Since(began)/time.Second) + 1; relayed > limit {
		t.Fatalf("%d of 10 typing notices relayed, at most %d allowed", relayed, limit)
	}
	ann.send(`{"type":"typing","room":"nowhere"}`)
	if m := ann.next("error"); m.Code != "not_in_room" {
		t.Fatalf("%+v", m)
	}
	if texts := bob.historyTexts(`{"type":"history","room":"lobby"}`); strings.Join(texts, ",") != "done typing" {
		t.Fatalf("typing was stored: %q", texts)
	}
}

// Typing in a direct conversation reaches the other user (by name or by
// identity), as {type:typing, dm, dm_id, name}, and nobody else.
func TestTypingInDirectMessages(t *testing.T) {
	s := start(t, chat.NewMemoryStore())
	ann, bob, cat := joined(t, s, "ann", "lobby"), joined(t, s, "bob", "lobby"), joined(t, s, "cat", "lobby")
	ann.send(`{"type":"typing","to":"bob"}`)
	m := bob.next("typing")
	if m.DM != "ann" || m.Name != "ann" || m.Room != "" {
		t.Fatalf("bob got %+v", m)
	}
	if m.DMID == "" {
		t.Fatalf("no dm_id: %+v", m)
	}
	// By identity: the one a dm carries as from_id.
	ann.send(`{"type":"dm","to":"bob","msg":"hi"}`)
	dm := bob.next("dm")
	if dm.FromID != m.DMID {
		t.Fatalf("dm from %q, typing from %q", dm.FromID, m.DMID)
	}
	bob.send(fmt.Sprintf(`{"type":"typing","to_id":%q}`, dm.FromID))
	if m := ann.next("typing"); m.DM != "bob" {
		t.Fatalf("ann got %+v", m)
	}
	// cat saw neither: its next message is its own post's echo.
	cat.send(`{"type":"user","room":"lobby","msg":"cat here"}`)
	if m := cat.nextOf("typing", "user"); m.Type != "user" {
		t.Fatalf("cat got %+v", m)
	}
}

func token(t *testing.T, secret string, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConnectionTokens(t *testing.T) {
	const secret = "test-secret-of-32-bytes-or-more!"
	s := startWith(t, chat.Config{JWTSecret: []byte(secret), Workers: 2})
	dial := func(tok string) (*gorilla.Conn, int) {
		ws, resp, err := gorilla.DefaultDialer.Dial("ws://"+s.addr+"/ws/chat/lobby?token="+tok, nil)
		if err != nil {
			if resp == nil {
				t.Fatal(err)
			}
			return nil, resp.StatusCode
		}
		t.Cleanup(func() { ws.Close() })
		return ws, 101
	}
	exp := time.Now().Add(time.Minute).Unix()
	ws, code := dial(token(t, secret, jwt.MapClaims{"sub": "tina", "exp": exp, "avatar": "fox"}))
	if code != 101 {
		t.Fatalf("a good token: %d", code)
	}
	c := &client{t: t, ws: ws}
	if hs := c.next("handShake"); hs.User.Name != "tina" || hs.User.Avatar != "fox" {
		t.Fatalf("handShake %+v", hs)
	}
	c.send(`{"type":"user","room":"lobby","msg":"via token"}`)
	if m := c.next("user"); m.From != "tina" {
		t.Fatalf("%+v", m)
	}
	none := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"sub": "eve", "exp": exp})
	unsigned, _ := none.SignedString(jwt.UnsafeAllowNoneSignatureType)
	for name, tok := range map[string]string{
		"wrong secret": token(t, "another-secret-of-32-bytes-long!", jwt.MapClaims{"sub": "eve", "exp": exp}),
		"expired":      token(t, secret, jwt.MapClaims{"sub": "eve", "exp": time.Now().Add(-time.Minute).Unix()}),
		"no exp":       token(t, secret, jwt.MapClaims{"sub": "eve"}),
		"no sub":       token(t, secret, jwt.MapClaims{"exp": exp}),
		"alg none":     unsigned,
		"garbage":      "not.a.jwt",
	} {
		if _, code := dial(tok); code != 401 {
			t.Errorf("%s: %d, want 401", name, code)
		}
	}
	// Tokens are off unless the chat has a secret.
	plain := start(t, chat.NewMemoryStore())
	if _, resp, err := gorilla.DefaultDialer.Dial("ws://"+plain.addr+"/ws/chat/lobby?token="+token(t, secret, jwt.MapClaims{"sub": "tina", "exp": exp}), nil); err == nil || resp.StatusCode != 401 {
		t.Fatalf("a token without JWTSecret: %v %v", err, resp)
	}
	// A token's user can be sent direct messages.
	ann := joined(t, s, "ann", "lobby")
	ann.send(`{"type":"dm","to":"tina","msg":"hello tina"}`)
	if m := c.next("dm"); m.From != "ann" || m.Msg != "hello tina" {
		t.Fatalf("%+v", m)
	}
}

func TestPublishAPI(t *testing.T) {
	s := startWith(t, chat.Config{APIKey: "k3y", Workers: 2})
	ann := joined(t, s, "ann", "lobby")
	publish := func(auth, body string) (int, string) {
		req, _ := http.NewRequest("POST", "http://"+s.addr+"/api/publish", strings.NewReader(body))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	good := `{"room":"lobby","name":"deploy-bot","msg":"v2 is live"}`
	for _, auth := range []string{"", "Bearer wrong", "k3y", "Basic k3y", "Bearer k3y2"} {
		if code, _ := publish(auth, good); code != 401 {
			t.Errorf("Authorization %q: %d, want 401", auth, code)
		}
	}
	ann.send(`{"type":"user","room":"lobby","msg":"first"}`)
	ann.next("user")
	code, body := publish("Bearer k3y", good)
	var r struct{ ID uint64 }
	if code != 200 || json.Unmarshal([]byte(body), &r) != nil || r.ID == 0 {
		t.Fatalf("publish: %d %s", code, body)
	}
	if m := ann.next("user"); m.From != "deploy-bot" || m.Msg != "v2 is live" || m.ID != r.ID {
		t.Fatalf("ann got %+v, want id %d", m, r.ID)
	}
	for _, bad := range []string{`{`, `{"room":"no spaces","name":"x","msg":"m"}`, `{"room":"lobby","name":"","msg":"m"}`, `{"room":"lobby","name":"x","msg":" "}`} {
		if code, _ := publish("Bearer k3y", bad); code != 400 {
			t.Errorf("%s: %d, want 400", bad, code)
		}
	}
	// Without a key the route does not exist.
	plain := start(t, chat.NewMemoryStore())
	resp, err := http.Post("http://"+plain.addr+"/api/publish", "application/json", strings.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Fatalf("without APIKey: %d", resp.StatusCode)
	}
}

func TestDMsTypingAndCIDsAcrossNodes(t *testing.T) {
	rs := redistest.Start(t)
	a, b := redisNode(t, rs.Addr, "a"), redisNode(t, rs.Addr, "b")
	ann := joined(t, a, "ann", "lobby")
	bob := joined(t, b, "bob", "lobby")
	for {
		if m := ann.next("login"); m.Msg == "bob" {
			break
		}
	}
	ann.send(`{"type":"dm","to":"bob","msg":"across","cid":"x"}`)
	if m := bob.next("dm"); m.From != "ann" || m.Msg != "across" || m.ID != 1 {
		t.Fatalf("bob on node b got %+v", m)
	}
	if m := ann.next("dm"); m.ID != 1 {
		t.Fatalf("ann got %+v", m)
	}
	ann.send(`{"type":"typing","room":"lobby"}`)
	if m := bob.next("typing"); m.Name != "ann" {
		t.Fatalf("%+v", m)
	}
	ann.send(`{"type":"user","room":"lobby","msg":"one","cid":"u-1"}`)
	first := bob.next("user")
	// ann moves to node b and resends: the same id, and bob once.
	ann.ws.Close()
	ann.moveTo(b)
	ann.dial("lobby")
	ann.next("history")
	ann.send(`{"type":"user","room":"lobby","msg":"one","cid":"u-1"}`)
	if m := ann.next("user"); m.ID != first.ID {
		t.Fatalf("the resend on another node: %+v, want id %d", m, first.ID)
	}
	ann.send(`{"type":"dm","to":"bob","msg":"across","cid":"x"}`)
	if m := ann.next("dm"); m.ID != 1 {
		t.Fatalf("the dm resend: %+v", m)
	}
	ann.send(`{"type":"user","room":"lobby","msg":"two"}`)
	if m := bob.nextOf("user", "dm"); m.Msg != "two" || m.ID != first.ID+1 {
		t.Fatalf("bob's next: %+v (a resend was delivered)", m)
	}
}

// TestTokensOutOfURLsAndClaimsChecked: a token offered as the subprotocol
// "bearer.JWT" lets the connection in and is never echoed; aud and iss
// are required when configured; no log line holds a token.
func TestTokensOutOfURLsAndClaimsChecked(t *testing.T) {
	const secret = "test-secret-of-32-bytes-or-more!"
	logs := &servertest.Log{}
	s := startWith(t, chat.Config{JWTSecret: []byte(secret), JWTAudience: "chat", JWTIssuer: "backend", Workers: 2,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	exp := time.Now().Add(time.Minute).Unix()
	good := token(t, secret, jwt.MapClaims{"sub": "tina", "exp": exp, "aud": "chat", "iss": "backend"})
	d := gorilla.Dialer{Subprotocols: []string{chat.Subprotocol, "bearer." + good}, HandshakeTimeout: 5 * time.Second}
	ws, resp, err := d.Dial("ws://"+s.addr+"/ws/chat/lobby", nil)
	if err != nil {
		t.Fatalf("a token as a subprotocol: %v %v", err, resp)
	}
	if p := resp.Header.Get("Sec-WebSocket-Protocol"); p != chat.Subprotocol {
		t.Fatalf("the server answered subprotocol %q", p)
	}
	c := &client{t: t, ws: ws}
	if hs := c.next("handShake"); hs.User.Name != "tina" {
		t.Fatalf("handShake %+v", hs)
	}
	ws.Close()
	bad := map[string]string{
		"no aud":    token(t, secret, jwt.MapClaims{"sub": "eve", "exp": exp, "iss": "backend"}),
		"other aud": token(t, secret, jwt.MapClaims{"sub": "eve", "exp": exp, "aud": "billing", "iss": "backend"}),
		"no iss":    token(t, secret, jwt.MapClaims{"sub": "eve", "exp": exp, "aud": "chat"}),
		"other iss": token(t, secret, jwt.MapClaims{"sub": "eve", "exp": exp, "aud": "chat", "iss": "someone"}),
	}
	for name, tok := range bad {
		for _, how := range []string{"query", "subprotocol"} {
			u, d := "ws://"+s.addr+"/ws/chat/lobby", gorilla.Dialer{HandshakeTimeout: 5 * time.Second}
			if how == "query" {
				u += "?token=" + tok
			} else {
				d.Subprotocols = []string{"bearer." + tok}
			}
			if _, resp, err := d.Dial(u, nil); err == nil || resp == nil || resp.StatusCode != 401 {
				t.Errorf("%s by %s: %v %v, want 401", name, how, err, resp)
			}
		}
	}
	for _, tok := range append([]string{good}, bad["other aud"]) {
		if strings.Contains(logs.String(), tok) || strings.Contains(logs.String(), strings.Split(tok, ".")[2]) {
			t.Fatalf("a token reached the log:\n%s", logs.String())
		}
	}
}

// TestMetricsCanBeClosed: /metrics behind a bearer token, or on an
// address of its own and not on the chat's.
func TestMetricsCanBeClosed(t *testing.T) {
	s := startWith(t, chat.Config{Workers: 1, MetricsToken: "metrics-token-123"})
	if code, _ := get(t, "http://"+s.addr+"/metrics"); code != 401 {
		t.Fatalf("/metrics without the token: %d", code)
	}
	req, _ := http.NewRequest("GET", "http://"+s.addr+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer metrics-token-123")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "chat_connections") {
		t.Fatalf("/metrics with the token: %d", resp.StatusCode)
	}

	apart := startWith(t, chat.Config{Workers: 1, MetricsAddr: "127.0.0.1:0"})
	if code, _ := get(t, "http://"+apart.addr+"/metrics"); code != 404 {
		t.Fatalf("/metrics on the chat's port with MetricsAddr: %d", code)
	}
	if code, body := get(t, "http://"+apart.MetricsAddr().String()+"/metrics"); code != 200 || !strings.Contains(body, "chat_connections") {
		t.Fatalf("/metrics on its own address: %d", code)
	}
}
