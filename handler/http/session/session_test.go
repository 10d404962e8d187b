package session_test

import (
	"context"
	"errors"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gnetty/gnetty/codec/http1"
	"github.com/gnetty/gnetty/handler/http/router"
	"github.com/gnetty/gnetty/handler/http/session"
	"github.com/gnetty/gnetty/pipeline"
	"github.com/gnetty/gnetty/pipeline/pipelinetest"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

type app struct {
	t   *testing.T
	m   *session.Manager
	clk *clock
	st  *session.MemoryStore
}

func newApp(t *testing.T, cfg session.Config) *app {
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	st := session.NewMemoryStore(clk.now)
	if cfg.Store == nil {
		cfg.Store = st
	}
	cfg.Now = clk.now
	m := session.New(cfg)
	t.Cleanup(m.Close)
	return &app{t: t, m: m, clk: clk, st: st}
}

// do sends one request through codec -> aggregator -> sessions -> router.
func (a *app) do(req string) string {
	r := router.New()
	_ = r.Handle("POST", "/login", func(ctx *pipeline.Context, req *http1.Request) {
		resp := http1.NewResponse(req)
		if _, err := a.m.Login(context.Background(), ctx.Channel(), req, resp, map[string]string{"user": string(req.Body)}); err != nil {
			a.t.Fatal(err)
		}
		req.Release()
		ctx.WriteAndFlush(resp)
	})
	_ = r.Handle("GET", "/me", func(ctx *pipeline.Context, req *http1.Request) {
		s, err := session.FromChannelErr(ctx.Channel())
		if errors.Is(err, session.ErrUnavailable) {
			router.Error(ctx, req, 503, "sessions unavailable")
			return
		}
		if errors.Is(err, session.ErrConflict) {
			router.Error(ctx, req, 400, "two sessions")
			return
		}
		if s == nil {
			router.Error(ctx, req, 401, "not logged in")
			return
		}
		router.Reply(ctx, req, 200, "text/plain", []byte("me="+s.Get("user")))
	})
	_ = r.Handle("POST", "/logout", func(ctx *pipeline.Context, req *http1.Request) {
		resp := http1.NewResponse(req)
		_ = a.m.Logout(context.Background(), ctx.Channel(), req, resp)
		req.Release()
		ctx.WriteAndFlush(resp)
	})
	ch := pipelinetest.New(http1.NewServerCodec(http1.Config{}), http1.NewAggregator(0), a.m, r)
	ch.WriteInbound([]byte(req))
	out := string(ch.ReadOutboundBytes())
	if err := ch.Finish(); err != nil {
		a.t.Error(err)
	}
	return out
}

var cookieRE = regexp.MustCompile(`Set-Cookie: (?:__Host-)?gnetty_session=([0-9a-f]*);([^\r]*)\r\n`)

func login(a *app, user string, extra ...string) (id, attrs string) {
	out := a.do("POST /login HTTP/1.1\r\nHost: x\r\nUser-Agent: ua1\r\n" + strings.Join(extra, "") + "Content-Length: " + strconv.Itoa(len(user)) + "\r\n\r\n" + user)
	m := cookieRE.FindStringSubmatch(out)
	if m == nil {
		a.t.Fatalf("no session cookie:\n%s", out)
	}
	return m[1], m[2]
}

func me(a *app, id string, ua string) string {
	return a.do("GET /me HTTP/1.1\r\nHost: x\r\nUser-Agent: " + ua + "\r\nCookie: theme=dark; gnetty_session=" + id + "\r\n\r\n")
}

// meTLS is me behind a trusted TLS proxy, with the __Host- cookie.
func meTLS(a *app, id string, ua string) string {
	return a.do("GET /me HTTP/1.1\r\nHost: x\r\nX-Forwarded-Proto: https\r\nUser-Agent: " + ua + "\r\nCookie: theme=dark; __Host-gnetty_session=" + id + "\r\n\r\n")
}

func TestLoginCookieRoundTrip(t *testing.T) {
	a := newApp(t, session.Config{})
	id, attrs := login(a, "ann")
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(id) {
		t.Fatalf("session id %q is not 32 hex characters", id)
	}
	for _, want := range []string{"Path=/", "HttpOnly", "SameSite=Lax", "Max-Age=86400"} {
		if !strings.Contains(attrs, want) {
			t.Errorf("cookie %q lacks %s", attrs, want)
		}
	}
	if strings.Contains(attrs, "Secure") {
		t.Error("Secure over plain HTTP")
	}
	if out := me(a, id, "ua1"); !strings.Contains(out, "me=ann") {
		t.Fatalf("with cookie:\n%s", out)
	}
	if out := me(a, strings.Repeat("0", 32), "ua1"); !strings.Contains(out, "401") {
		t.Fatalf("unknown id:\n%s", out)
	}
	if out := me(a, "not-an-id", "ua1"); !strings.Contains(out, "401") {
		t.Fatalf("malformed id:\n%s", out)
	}
}

func TestIdleAndAbsoluteExpiry(t *testing.T) {
	a := newApp(t, session.Config{IdleTimeout: 10 * time.Minute, MaxLifetime: time.Hour})
	id, _ := login(a, "bob")
	for range 5 { // use keeps it alive past the idle timeout
		a.clk.t = a.clk.t.Add(9 * time.Minute)
		if out := me(a, id, "ua1"); !strings.Contains(out, "me=bob") {
			t.Fatalf("expired while in use:\n%s", out)
		}
	}
	a.clk.t = a.clk.t.Add(9 * time.Minute) // 54 min
	if out := me(a, id, "ua1"); !strings.Contains(out, "me=bob") {
		t.Fatal("expired early")
	}
	a.clk.t = a.clk.t.Add(7 * time.Minute) // 61 min: past the absolute lifetime
	if out := me(a, id, "ua1"); !strings.Contains(out, "401") {
		t.Fatalf("alive past the absolute lifetime:\n%s", out)
	}
	id2, _ := login(a, "cid")
	a.clk.t = a.clk.t.Add(11 * time.Minute)
	if out := me(a, id2, "ua1"); !strings.Contains(out, "401") {
		t.Fatalf("alive past the idle timeout:\n%s", out)
	}
}

func TestFixationLogoutAndGC(t *testing.T) {
	a := newApp(t, session.Config{IdleTimeout: time.Minute})
	old, _ := login(a, "ann")
	fresh, _ := login(a, "ann", "Cookie: gnetty_session="+old+"\r\n")
	if fresh == old {
		t.Fatal("login kept the old session id")
	}
	if out := me(a, old, "ua1"); !strings.Contains(out, "401") {
		t.Fatal("old id still valid after login")
	}
	out := a.do("POST /logout HTTP/1.1\r\nHost: x\r\nCookie: gnetty_session=" + fresh + "\r\nContent-Length: 0\r\n\r\n")
	if !strings.Contains(out, "Set-Cookie: gnetty_session=; Path=/; Max-Age=0") {
		t.Fatalf("logout did not clear the cookie:\n%s", out)
	}
	if out := me(a, fresh, "ua1"); !strings.Contains(out, "401") {
		t.Fatal("session alive after logout")
	}
	login(a, "x")
	login(a, "y")
	if a.st.Len() != 2 {
		t.Fatalf("%d sessions stored", a.st.Len())
	}
	a.clk.t = a.clk.t.Add(2 * time.Minute)
	if n := a.st.GC(); n != 2 || a.st.Len() != 0 {
		t.Fatalf("GC removed %d, %d left", n, a.st.Len())
	}
}

func TestUserAgentBindingAndSecure(t *testing.T) {
	a := newApp(t, session.Config{BindUserAgent: true, TrustProxy: true})
	id, attrs := login(a, "ann", "X-Forwarded-Proto: https\r\n")
	if !strings.Contains(attrs, "Secure") {
		t.Fatalf("cookie %q not Secure behind a trusted TLS proxy", attrs)
	}
	if out := meTLS(a, id, "ua1"); !strings.Contains(out, "me=ann") {
		t.Fatal("same agent refused")
	}
	if out := meTLS(a, id, "ua2"); !strings.Contains(out, "401") {
		t.Fatal("other agent accepted")
	}
}

func TestEveryWellFormedCookieIsTried(t *testing.T) {
	a := newApp(t, session.Config{})
	id, _ := login(a, "ann")
	planted := strings.Repeat("a", 32) // well-formed, unknown: e.g. set for a parent domain
	out := a.do("GET /me HTTP/1.1\r\nHost: x\r\nUser-Agent: ua1\r\nCookie: gnetty_session=" + planted + "; gnetty_session=" + id + "\r\n\r\n")
	if !strings.Contains(out, "me=ann") {
		t.Fatalf("a planted cookie in front shadowed the session:\n%s", out)
	}
	out = a.do("GET /me HTTP/1.1\r\nHost: x\r\nUser-Agent: ua1\r\nCookie: gnetty_session=" + id + "\r\nCookie: gnetty_session=junk\r\n\r\n")
	if !strings.Contains(out, "me=ann") {
		t.Fatalf("two Cookie fields:\n%s", out)
	}
}

// outageStore is a non-blocking store that can fail like a Redis outage.
type outageStore struct {
	*session.MemoryStore
	down atomic.Bool
}

var errDown = errors.New("dial tcp 127.0.0.1:6379: connection refused")

func (s *outageStore) NonBlocking() {}
func (s *outageStore) Load(ctx context.Context, id string) (*session.Data, error) {
	if s.down.Load() {
		return nil, errDown
	}
	return s.MemoryStore.Load(ctx, id)
}
func (s *outageStore) Save(ctx context.Context, id string, d *session.Data, exp time.Time) error {
	if s.down.Load() {
		return errDown
	}
	return s.MemoryStore.Save(ctx, id, d, exp)
}

// TestStoreOutage: while the store fails, a session this node loaded
// stays valid for OutageGrace; an unknown one is "unavailable" (503), not
// "log in" (401); and once the store is back, all is as before.
func TestStoreOutage(t *testing.T) {
	st := &outageStore{}
	a := newApp(t, session.Config{OutageGrace: time.Minute, Store: st})
	st.MemoryStore = a.st // on the app's fake clock
	id, _ := login(a, "ann")
	st.down.Store(true)
	if out := me(a, id, "ua1"); !strings.Contains(out, "me=ann") {
		t.Fatalf("a session this node loaded was lost in the outage:\n%s", out)
	}
	if out := me(a, strings.Repeat("b", 32), "ua1"); !strings.Contains(out, "503") {
		t.Fatalf("an unknown session during the outage:\n%s", out)
	}
	a.clk.t = a.clk.t.Add(2 * time.Minute)
	if out := me(a, id, "ua1"); !strings.Contains(out, "503") {
		t.Fatalf("past the grace the session should be unavailable, not valid or gone:\n%s", out)
	}
	st.down.Store(false)
	if out := me(a, id, "ua1"); !strings.Contains(out, "me=ann") {
		t.Fatalf("after the outage:\n%s", out)
	}
	if out := me(a, strings.Repeat("b", 32), "ua1"); !strings.Contains(out, "401") {
		t.Fatalf("an unknown session after the outage:\n%s", out)
	}
}

func TestTrustedProxies(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     session.Config
		forward bool
		secure  bool
	}{
		{name: "no proxy trusted", cfg: session.Config{}, forward: true, secure: false},
		{name: "any proxy", cfg: session.Config{TrustProxy: true}, forward: true, secure: true},
		{name: "the peer is a trusted proxy", cfg: session.Config{TrustProxy: true, TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}, forward: true, secure: true},
		{name: "the peer is not", cfg: session.Config{TrustProxy: true, TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}, forward: true, secure: false},
		{name: "no header", cfg: session.Config{TrustProxy: true}, forward: false, secure: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newApp(t, tc.cfg)
			var extra []string
			if tc.forward {
				extra = append(extra, "X-Forwarded-Proto: https\r\n")
			}
			_, attrs := login(a, "ann", extra...)
			if got := strings.Contains(attrs, "Secure"); got != tc.secure {
				t.Fatalf("cookie %q: Secure %v, want %v", attrs, got, tc.secure)
			}
		})
	}
}

// Over TLS the cookie is a __Host- cookie (no Domain, Path=/, Secure),
// which no sibling subdomain or plain-http attacker can plant, and a
// cookie without the prefix is not read.
func TestHostPrefixOverTLS(t *testing.T) {
	a := newApp(t, session.Config{TrustProxy: true})
	out := a.do("POST /login HTTP/1.1\r\nHost: x\r\nX-Forwarded-Proto: https\r\nContent-Length: 3\r\n\r\nann")
	m := regexp.MustCompile(`Set-Cookie: __Host-gnetty_session=([0-9a-f]{32}); Path=/;([^\r]*)\r\n`).FindStringSubmatch(out)
	if m == nil || !strings.Contains(m[2], "Secure") || strings.Contains(m[2], "Domain") {
		t.Fatalf("want a Secure __Host- cookie without Domain:\n%s", out)
	}
	id := m[1]
	if out := meTLS(a, id, "ua1"); !strings.Contains(out, "me=ann") {
		t.Fatalf("the __Host- cookie over TLS:\n%s", out)
	}
	plain := a.do("GET /me HTTP/1.1\r\nHost: x\r\nX-Forwarded-Proto: https\r\nCookie: gnetty_session=" + id + "\r\n\r\n")
	if !strings.Contains(plain, "401") {
		t.Fatalf("a cookie without the prefix was read over TLS:\n%s", plain)
	}
	out = a.do("POST /logout HTTP/1.1\r\nHost: x\r\nX-Forwarded-Proto: https\r\nCookie: __Host-gnetty_session=" + id + "\r\nContent-Length: 0\r\n\r\n")
	if !strings.Contains(out, "Set-Cookie: __Host-gnetty_session=; Path=/; Max-Age=0; HttpOnly; Secure") {
		t.Fatalf("logout over TLS does not clear the __Host- cookie:\n%s", out)
	}
	if out := meTLS(a, id, "ua1"); !strings.Contains(out, "401") {
		t.Fatal("the session outlived its logout")
	}
}

// A live session planted in front of the victim's (Domain=parent;
// Path=/ws is sent first) does not make the request run as the planter:
// a request with two different live sessions runs as neither.
func TestTwoLiveSessionsAreRefused(t *testing.T) {
	a := newApp(t, session.Config{})
	victim, _ := login(a, "victim")
	attacker, _ := login(a, "attacker")
	for _, cookies := range []string{
		"Cookie: gnetty_session=" + attacker + "; gnetty_session=" + victim + "\r\n",
		"Cookie: gnetty_session=" + victim + "\r\nCookie: gnetty_session=" + attacker + "\r\n",
	} {
		out := a.do("GET /me HTTP/1.1\r\nHost: x\r\n" + cookies + "\r\n")
		if !strings.Contains(out, "400 Bad Request") || strings.Contains(out, "me=") {
			t.Fatalf("two live sessions:\n%s", out)
		}
	}
	// The same session twice is one session.
	if out := a.do("GET /me HTTP/1.1\r\nHost: x\r\nCookie: gnetty_session=" + victim + "; gnetty_session=" + victim + "\r\n\r\n"); !strings.Contains(out, "me=victim") {
		t.Fatalf("one session named twice:\n%s", out)
	}
	// Logging in again destroys every session the cookies name.
	fresh, _ := login(a, "victim", "Cookie: gnetty_session="+attacker+"; gnetty_session="+victim+"\r\n")
	if out := a.do("GET /me HTTP/1.1\r\nHost: x\r\nCookie: gnetty_session=" + attacker + "; gnetty_session=" + fresh + "\r\n\r\n"); !strings.Contains(out, "me=victim") {
		t.Fatalf("after a new login:\n%s", out)
	}
}
