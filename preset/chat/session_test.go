package chat_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	gorilla "github.com/gorilla/websocket"

	"github.com/gnetty/gnetty/internal/redistest"
	"github.com/gnetty/gnetty/preset/chat"
)

// post sends a form POST with extra headers and returns the response.
func (c *client) post(path string, header map[string]string) *http.Response {
	c.t.Helper()
	req, _ := http.NewRequest("POST", c.base+path, strings.NewReader("name=someone"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// waitClose reads until the connection closes and returns its close code.
func (c *client) waitClose() (int, string) {
	c.t.Helper()
	_ = c.ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		if _, _, err := c.ws.ReadMessage(); err != nil {
			ce, ok := err.(*gorilla.CloseError)
			if !ok {
				c.t.Fatalf("connection ended without a close frame: %v", err)
			}
			return ce.Code, ce.Text
		}
	}
}

func TestLogoutClosesTheSessionsConnections(t *testing.T) {
	s := start(t, chat.NewMemoryStore())
	ann := login(t, s, "ann")
	ann.dial("lobby")
	ann.next("history")
	second := &client{t: t, http: ann.http, base: ann.base} // another tab, same session
	second.dial("kitchen")
	second.next("history")
	bob := login(t, s, "bob")
	bob.dial("lobby")
	bob.next("history")

	if resp := ann.post("/logout", nil); resp.StatusCode != 200 {
		t.Fatalf("logout: %s", resp.Status)
	}
	for _, c := range []*client{ann, second} {
		if code, text := c.waitClose(); code != gorilla.CloseNormalClosure || text != "logged out" {
			t.Fatalf("closed with %d %q, want 1000 logged out", code, text)
		}
	}
	// Bob's connection, another session, goes on.
	bob.send(`{"type":"user","room":"lobby","msg":"still on"}`)
	if m := bob.next("user"); m.Msg != "still on" {
		t.Fatalf("%+v", m)
	}
	// And the old cookie no longer opens anything.
	u, _ := url.Parse(ann.base)
	h := http.Header{}
	for _, ck := range ann.http.Jar.Cookies(u) {
		h.Add("Cookie", ck.String())
	}
	if _, resp, err := gorilla.DefaultDialer.Dial("ws://"+u.Host+"/ws/chat/lobby", h); err == nil || resp.StatusCode != 401 {
		t.Fatalf("upgrade after logout: %v %v", err, resp)
	}
}

func TestLogoutOnOneNodeClosesConnectionsOnAnother(t *testing.T) {
	rs := redistest.Start(t)
	a, b := redisNode(t, rs.Addr, "a"), redisNode(t, rs.Addr, "b")
	ann := login(t, a, "ann")
	ann.moveTo(b)
	ann.dial("lobby") // the connection is on node b
	ann.next("history")
	ann.moveTo(a)
	if resp := ann.post("/logout", nil); resp.StatusCode != 200 {
		t.Fatalf("logout on a: %s", resp.Status)
	}
	if code, text := ann.waitClose(); code != gorilla.CloseNormalClosure || text != "logged out" {
		t.Fatalf("node b closed with %d %q", code, text)
	}
}

func TestCrossSitePostsAreRefused(t *testing.T) {
	s := startWith(t, chat.Config{Store: chat.NewMemoryStore(), Workers: 1, AllowedOrigins: []string{"https://chat.example"}})
	c := login(t, s, "ann")
	for _, tc := range []struct {
		header map[string]string
		status int
	}{
		{header: map[string]string{"Origin": "http://evil.example"}, status: 403},
		{header: map[string]string{"Origin": "null"}, status: 403},
		{header: map[string]string{"Sec-Fetch-Site": "cross-site"}, status: 403},
		{header: map[string]string{"Origin": "http://" + s.addr}, status: 200},
		{header: map[string]string{"Origin": "https://chat.example"}, status: 200},
		{header: map[string]string{"Sec-Fetch-Site": "same-origin"}, status: 200},
		{header: nil, status: 200}, // not a browser
	} {
		for _, path := range []string{"/login", "/logout"} {
			if resp := c.post(path, tc.header); resp.StatusCode != tc.status {
				t.Errorf("POST %s with %v: %s, want %d", path, tc.header, resp.Status, tc.status)
			}
		}
	}
}

func TestTrustedProxyMakesTheCookieSecure(t *testing.T) {
	for _, trusted := range []bool{false, true} {
		cfg := chat.Config{Store: chat.NewMemoryStore(), Workers: 1}
		if trusted {
			cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
		}
		s := startWith(t, cfg)
		req, _ := http.NewRequest("POST", "http://"+s.addr+"/login", strings.NewReader(`{"name":"ann"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-Proto", "https")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := strings.Contains(resp.Header.Get("Set-Cookie"), "Secure"); got != trusted {
			t.Fatalf("trusted %v: Set-Cookie %q", trusted, resp.Header.Get("Set-Cookie"))
		}
	}
}

// TestRedisOutageDoesNotLogUsersOut: while Redis is down, logging in is a
// 503 to retry, a session this node has loaded still opens the chat, and
// a session it cannot check is a 503, never a 401 that sends the page to
// the login form.
func TestRedisOutageDoesNotLogUsersOut(t *testing.T) {
	rs := redistest.Start(t)
	a := redisNode(t, rs.Addr, "a")
	ann := login(t, a, "ann")
	ann.dial("lobby")
	ann.next("history")
	ann.ws.Close()
	rs.Stop()

	if resp := (&client{t: t, http: &http.Client{Timeout: 10 * time.Second}, base: ann.base}).post("/login", nil); resp.StatusCode != 503 {
		t.Fatalf("login during the outage: %s, want 503", resp.Status)
	}
	u, _ := url.Parse(ann.base)
	h := http.Header{}
	for _, ck := range ann.http.Jar.Cookies(u) {
		h.Add("Cookie", ck.String())
	}
	conn, resp, err := gorilla.DefaultDialer.Dial("ws://"+u.Host+"/ws/chat/lobby", h)
	if err != nil {
		t.Fatalf("a session this node loaded, during the outage: %v %v", err, resp)
	}
	conn.Close()
	h.Set("Cookie", "gnetty_session="+strings.Repeat("c", 32))
	if _, resp, err := gorilla.DefaultDialer.Dial("ws://"+u.Host+"/ws/chat/lobby", h); err == nil || resp.StatusCode != 503 {
		t.Fatalf("an unknown session during the outage: %v %v, want 503", err, resp)
	}
	rs.Restart()
	for deadline := time.Now().Add(15 * time.Second); ; {
		resp := (&client{t: t, http: &http.Client{Timeout: 10 * time.Second}, base: ann.base}).post("/login", nil)
		if resp.StatusCode == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("login after Redis came back: %s", resp.Status)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestBadRoomIsRefusedAtTheHandshake(t *testing.T) {
	s := start(t, chat.NewMemoryStore())
	c := login(t, s, "ann")
	u, _ := url.Parse(c.base)
	h := http.Header{}
	for _, ck := range c.http.Jar.Cookies(u) {
		h.Add("Cookie", ck.String())
	}
	for _, room := range []string{"bad%20room", "semi%3Bcolon", strings.Repeat("r", 65), "%C3%A9t%C3%A9"} {
		_, resp, err := gorilla.DefaultDialer.Dial("ws://"+u.Host+"/ws/chat/"+room, h)
		if err == nil || resp == nil || resp.StatusCode != 400 {
			t.Fatalf("room %q: %v %v, want 400 before any upgrade", room, err, resp)
		}
	}
	c.dial("good-room_1") // and a good one still opens
	c.next("history")
}

func get(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	_, _ = io.Copy(&b, resp.Body)
	return resp.StatusCode, b.String()
}

// TestReadinessMetricsAndLoginTime: /healthz is 503 with the reason while
// Redis is down and ok again after; /metrics carries the Go runtime, the
// process and the delivery latency; /api/me has the real login time.
func TestReadinessMetricsAndLoginTime(t *testing.T) {
	rs := redistest.Start(t)
	a := redisNode(t, rs.Addr, "a")
	base := "http://" + a.addr
	if code, body := get(t, base+"/healthz"); code != 200 || body != "ok\n" {
		t.Fatalf("healthz %d %q", code, body)
	}
	before := time.Now().Add(-time.Second)
	ann := login(t, a, "ann")
	resp, err := ann.http.Get(base + "/api/me")
	if err != nil {
		t.Fatal(err)
	}
	var me struct {
		Name      string    `json:"username"`
		LoginTime time.Time `json:"login_time"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&me)
	resp.Body.Close()
	if me.Name != "ann" || me.LoginTime.Before(before) || me.LoginTime.After(time.Now()) {
		t.Fatalf("/api/me %+v", me)
	}
	ann.dial("r")
	ann.next("history")
	ann.send(`{"type":"user","room":"r","msg":"hi"}`)
	ann.next("user")
	_, metrics := get(t, base+"/metrics")
	for _, want := range []string{"go_goroutines ", "process_resident_memory_bytes ", "chat_delivery_seconds_count 1"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	rs.Stop()
	if code, body := get(t, base+"/healthz"); code != 503 || !strings.HasPrefix(body, "unavailable: redis") {
		t.Fatalf("healthz with Redis down: %d %q", code, body)
	}
	rs.Restart()
	waitFor(t, "healthz ok after Redis came back", func() bool {
		code, _ := get(t, base+"/healthz")
		return code == 200
	})
}

// loginStatus posts a login for name with c's cookies and returns the
// status.
func (c *client) loginStatus(name string) int {
	c.t.Helper()
	resp, err := c.http.Post(c.base+"/login", "application/json", strings.NewReader(`{"name":`+strconv.Quote(name)+`}`))
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == 409 {
		var e struct{ Code string }
		_ = json.NewDecoder(resp.Body).Decode(&e)
		if e.Code != "name_taken" {
			c.t.Fatalf("409 with code %q", e.Code)
		}
	}
	return resp.StatusCode
}

func newClient(t *testing.T, s *srv) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, http: &http.Client{Jar: jar, Timeout: 10 * time.Second}, base: "http://" + s.addr}
}

// TestNamesBelongToOneSession: a name held by a live session is refused
// (409 name_taken, without case), logging in again from the holder's own
// session keeps it, renaming frees the old name, and logout frees it; the
// same holds across nodes.
func TestNamesBelongToOneSession(t *testing.T) {
	rs := redistest.Start(t)
	for _, mode := range []string{"one node", "two nodes"} {
		t.Run(mode, func(t *testing.T) {
			var a, b *srv
			if mode == "one node" {
				a = start(t, chat.NewMemoryStore())
				b = a
			} else {
				a, b = redisNode(t, rs.Addr, "a"), redisNode(t, rs.Addr, "b")
			}
			ann, bob := newClient(t, a), newClient(t, b)
			if st := ann.loginStatus("alice-" + mode); st != 200 {
				t.Fatalf("first login %d", st)
			}
			for _, name := range []string{"alice-" + mode, "ALICE-" + mode} {
				if st := bob.loginStatus(name); st != 409 {
					t.Fatalf("%q while held: %d, want 409", name, st)
				}
			}
			if st := ann.loginStatus("alice-" + mode); st != 200 {
				t.Fatalf("the holder logging in again: %d", st)
			}
			if st := ann.loginStatus("ann-" + mode); st != 200 {
				t.Fatalf("renaming: %d", st)
			}
			if st := bob.loginStatus("alice-" + mode); st != 200 {
				t.Fatalf("the old name after a rename: %d", st)
			}
			if resp := bob.post("/logout", nil); resp.StatusCode != 200 {
				t.Fatal(resp.Status)
			}
			if st := newClient(t, a).loginStatus("alice-" + mode); st != 200 {
				t.Fatalf("after logout: %d", st)
			}
		})
	}
}

// TestSessionsAndNamesSurviveARestart: with the on-disk store, a restart
// logs nobody out and frees no name.
func TestSessionsAndNamesSurviveARestart(t *testing.T) {
	dir := t.TempDir()
	store, err := chat.OpenBoltStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := start(t, store)
	ann := newClient(t, s)
	if st := ann.loginStatus("ann"); st != 200 {
		t.Fatalf("login %d", st)
	}
	s2 := restart(t, s, dir)
	ann.base = "http://" + s2.addr // the cookie jar keys by host, not port
	resp, err := ann.http.Get(ann.base + "/api/me")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/api/me after a restart: %s", resp.Status)
	}
	ann.dial("lobby") // the upgrade accepts the old session too
	ann.next("history")
	if st := newClient(t, s2).loginStatus("ANN"); st != 409 {
		t.Fatalf("someone else took ann's name after the restart: %d", st)
	}
}
