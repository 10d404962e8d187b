package chat_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	gorilla "github.com/gorilla/websocket"

	"github.com/gnetty/gnetty/internal/redistest"
	"github.com/gnetty/gnetty/preset/chat"
)

// loginWith posts a login with a password and returns the status and the
// body's code (or the user's id on success).
func (c *client) loginWith(name, password string) (int, string) {
	c.t.Helper()
	body, _ := json.Marshal(map[string]string{"name": name, "password": password})
	resp, err := c.http.Post(c.base+"/login", "application/json", strings.NewReader(string(body)))
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct {
		Code string `json:"code"`
		ID   string `json:"id"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&r)
	if resp.StatusCode == 200 {
		return 200, r.ID
	}
	return resp.StatusCode, r.Code
}

// TestAccountsKeepTheirNameAndMessages: the first login with a password
// claims a name; the name then needs that password (a wrong one, a guest
// login and a look-alike are refused), and the account's identity, with
// its direct messages, is the same from every login, after a restart.
func TestAccountsKeepTheirNameAndMessages(t *testing.T) {
	dir := t.TempDir()
	store, err := chat.OpenBoltStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := start(t, store)
	carol := newClient(t, s)
	st, id := carol.loginWith("Carol", "carol's password")
	if st != 200 || !strings.HasPrefix(id, "a:") {
		t.Fatalf("claiming a name: %d %q", st, id)
	}
	if st, code := newClient(t, s).loginWith("carol", "short"); st != 401 || code != "bad_credentials" {
		t.Fatalf("a wrong password: %d %q", st, code)
	}
	for _, name := range []string{"carol", "CAROL", "c\u0430rol", "ｃａｒｏｌ"} {
		if st := newClient(t, s).loginStatus(name); st != 409 {
			t.Fatalf("a guest as %q: %d, want 409", name, st)
		}
	}
	if st, code := newClient(t, s).loginWith("car\u200bol", "carol's password"); st != 400 || code != "bad_name" {
		t.Fatalf("an invisible character: %d %q", st, code)
	}
	if st, code := newClient(t, s).loginWith("dan", "short"); st != 400 || code != "weak_password" {
		t.Fatalf("a new account with a short password: %d %q", st, code)
	}
	carol.dial("lobby")
	carol.next("history")
	ann := joined(t, s, "ann", "lobby")
	ann.send(`{"type":"dm","to":"carol","msg":"for carol only"}`)
	if m := carol.next("dm"); m.Msg != "for carol only" || m.ToID != id {
		t.Fatalf("carol got %+v", m)
	}

	// Another device logs in with the password: the same identity, the
	// same conversation.
	phone := newClient(t, s)
	if st, got := phone.loginWith("CAROL", "carol's password"); st != 200 || got != id {
		t.Fatalf("the account from another client: %d %q, want %q", st, got, id)
	}
	phone.dial("lobby")
	phone.next("history")
	if texts := phone.historyTexts(`{"type":"history","dm":"ann"}`); strings.Join(texts, ",") != "for carol only" {
		t.Fatalf("the account's dm history from another login: %q", texts)
	}

	// After a restart the account, its password and its messages remain.
	for _, c := range []*client{carol, ann, phone} {
		c.ws.Close()
	}
	s2 := restart(t, s, dir)
	later := newClient(t, s2)
	if st, got := later.loginWith("carol", "carol's password"); st != 200 || got != id {
		t.Fatalf("after a restart: %d %q", st, got)
	}
	if st, code := newClient(t, s2).loginWith("carol", "wrong password"); st != 401 || code != "bad_credentials" {
		t.Fatalf("a wrong password after a restart: %d %q", st, code)
	}
	later.dial("lobby")
	later.next("history")
	if texts := later.historyTexts(`{"type":"history","dm":"ann"}`); strings.Join(texts, ",") != "for carol only" {
		t.Fatalf("dm history after a restart: %q", texts)
	}
}

// TestLogoutEverywhere ends every session of an account, on every node.
func TestLogoutEverywhere(t *testing.T) {
	rs := redistest.Start(t)
	a, b := redisNode(t, rs.Addr, "a"), redisNode(t, rs.Addr, "b")
	laptop, phone := newClient(t, a), newClient(t, b)
	if st, _ := laptop.loginWith("erin", "erin's password"); st != 200 {
		t.Fatal(st)
	}
	if st, _ := phone.loginWith("Erin", "erin's password"); st != 200 {
		t.Fatalf("the account on the other node: %d", st)
	}
	laptop.dial("lobby")
	laptop.next("history")
	phone.dial("lobby")
	phone.next("history")
	req, _ := http.NewRequest("POST", laptop.base+"/logout", strings.NewReader(`{"everywhere":true}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := laptop.http.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("logout everywhere: %v %v", resp, err)
	}
	resp.Body.Close()
	for _, c := range []*client{laptop, phone} {
		if code, text := c.waitClose(); code != gorilla.CloseNormalClosure || text != "logged out" {
			t.Fatalf("closed with %d %q", code, text)
		}
	}
	phone.moveTo(a)
	if resp, err := phone.http.Get(phone.base + "/api/me"); err != nil || resp.StatusCode != 401 {
		t.Fatalf("the phone's session after logout everywhere: %v %v", resp, err)
	}
	// The name is still the account's.
	if st := newClient(t, b).loginStatus("erin"); st != 409 {
		t.Fatalf("a guest took the account's name: %d", st)
	}
}

// TestAGuestNameReusedSeesNothing: once a guest's session ends, a later
// guest of the same name is someone else and reads none of the first
// one's direct messages.
func TestAGuestNameReusedSeesNothing(t *testing.T) {
	s := start(t, chat.NewMemoryStore())
	ann := joined(t, s, "ann", "lobby")
	first := joined(t, s, "frank", "lobby")
	ann.send(`{"type":"dm","to":"frank","msg":"a secret for the first frank"}`)
	first.next("dm")
	if resp := first.post("/logout", nil); resp.StatusCode != 200 {
		t.Fatal(resp.Status)
	}
	second := joined(t, s, "frank", "lobby")
	if texts := second.historyTexts(`{"type":"history","dm":"ann"}`); len(texts) != 0 {
		t.Fatalf("the second frank reads the first one's messages: %q", texts)
	}
	ann.send(`{"type":"dm","to":"frank","msg":"hello, new frank"}`)
	if m := second.next("dm"); m.Msg != "hello, new frank" || m.ID != 1 {
		t.Fatalf("the new conversation: %+v", m)
	}
}

// TestATokenSubjectCannotBeTaken: a token user's name cannot be taken by
// /login (as a guest or with a password), and a guest who held the name
// before the token user came neither receives nor reads its messages.
func TestATokenSubjectCannotBeTaken(t *testing.T) {
	const secret = "test-secret-of-32-bytes-or-more!"
	s := startWith(t, chat.Config{JWTSecret: []byte(secret), Workers: 2})
	impostor := joined(t, s, "tina", "lobby") // a guest took the name first
	ws, resp, err := gorilla.DefaultDialer.Dial("ws://"+s.addr+"/ws/chat/lobby?token="+token(t, secret, jwt.MapClaims{"sub": "tina", "exp": time.Now().Add(time.Minute).Unix()}), nil)
	if err != nil {
		t.Fatalf("token: %v %v", err, resp)
	}
	t.Cleanup(func() { ws.Close() })
	tina := &client{t: t, ws: ws}
	if hs := tina.next("handShake"); hs.User.ID != "t:tina" {
		t.Fatalf("the token user's identity: %+v", hs.User)
	}
	ann := joined(t, s, "ann", "lobby")
	waitFor(t, "the token user to hold the name", func() bool { return newClient(t, s).loginStatus("tina") == 409 })
	if st, code := newClient(t, s).loginWith("tina", "tina's password?"); st != 401 || code != "bad_credentials" {
		t.Fatalf("claiming a token user's name with a password: %d %q", st, code)
	}
	ann.send(`{"type":"dm","to":"tina","msg":"for the real tina"}`)
	if m := tina.next("dm"); m.Msg != "for the real tina" || m.ToID != "t:tina" {
		t.Fatalf("tina got %+v", m)
	}
	if texts := impostor.historyTexts(`{"type":"history","dm":"ann"}`); len(texts) != 0 {
		t.Fatalf("the guest reads tina's messages: %q", texts)
	}
	// A marker after the dm: had the impostor's connection been given
	// the dm, it would have come first.
	ann.send(`{"type":"user","room":"lobby","msg":"marker"}`)
	if m := impostor.nextOf("dm", "user"); m.Type != "user" {
		t.Fatalf("the guest received %+v", m)
	}
}

// TestFailedLoginsCostTheSame: a wrong password, a name a guest holds and
// a name a token user holds each cost one password check and get one
// answer, so neither the answer nor its time tells which names exist;
// password attempts are limited per name.
func TestFailedLoginsCostTheSame(t *testing.T) {
	s := startWith(t, chat.Config{Workers: 2, LoginAttempts: 10})
	if st, _ := newClient(t, s).loginWith("gina", "gina's password"); st != 200 {
		t.Fatal(st)
	}
	joined(t, s, "harry", "lobby") // a guest
	for _, name := range []string{"gina", "harry", "nobody-yet"} {
		before := chat.PasswordChecks()
		st, code := newClient(t, s).loginWith(name, "not the password")
		if name == "nobody-yet" {
			continue // a free name: the account is made (its hash counts in hashes, not checks)
		}
		if st != 401 || code != "bad_credentials" {
			t.Fatalf("%s: %d %q", name, st, code)
		}
		if n := chat.PasswordChecks() - before; n != 1 {
			t.Fatalf("%s: %d password checks, want 1", name, n)
		}
	}
	// 10 a minute per address, 5 per name: the name runs out first.
	limited := 0
	for range 6 {
		if st, code := newClient(t, s).loginWith("gina", "guessing"); st == 429 && code == "rate_limited" {
			limited++
		}
	}
	if limited == 0 {
		t.Fatal("no password attempt was limited")
	}
}
