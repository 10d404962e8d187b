package socketio_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gorilla "github.com/gorilla/websocket"

	"github.com/gnetty/gnetty/bootstrap"
	"github.com/gnetty/gnetty/internal/servertest"
	"github.com/gnetty/gnetty/internal/tlstest"
	"github.com/gnetty/gnetty/preset/socketio"
)

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

func startServer(t *testing.T, cfg socketio.Config, setup func(*socketio.Server)) (*socketio.Server, string) {
	t.Helper()
	cfg.Addrs = []string{"127.0.0.1:0"}
	cfg.Logger = quiet()
	if cfg.Server.Workers == 0 {
		cfg.Server = bootstrap.Config{Workers: 2}
	}
	srv, err := socketio.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if setup != nil {
		setup(srv)
	}
	return srv, "http://" + servertest.Start(t, srv)
}

// poller is a raw Engine.IO long-polling client.
type poller struct {
	t    *testing.T
	base string
	sid  string
	http *http.Client
}

func handshake(t *testing.T, base string) *poller {
	t.Helper()
	p := &poller{t: t, base: base + "/socket.io/?EIO=4&transport=polling", http: &http.Client{Timeout: 10 * time.Second}}
	status, body := p.get("")
	if status != 200 || body[0] != '0' {
		t.Fatalf("handshake: %d %q", status, body)
	}
	var open struct {
		SID          string   `json:"sid"`
		Upgrades     []string `json:"upgrades"`
		PingInterval int      `json:"pingInterval"`
		PingTimeout  int      `json:"pingTimeout"`
		MaxPayload   int      `json:"maxPayload"`
	}
	if err := json.Unmarshal([]byte(body[1:]), &open); err != nil || len(open.SID) != 20 {
		t.Fatalf("open packet %q: %v", body, err)
	}
	p.sid = open.SID
	return p
}

func (p *poller) get(sid string) (int, string) {
	p.t.Helper()
	u := p.base
	if sid != "" {
		u += "&sid=" + sid
	}
	resp, err := p.http.Get(u)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (p *poller) poll() (int, string) { p.t.Helper(); return p.get(p.sid) }

func (p *poller) post(body string) (int, string) {
	p.t.Helper()
	resp, err := p.http.Post(p.base+"&sid="+p.sid, "text/plain;charset=UTF-8", strings.NewReader(body))
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// pollUntil polls until a payload contains want, answering pings.
func (p *poller) pollUntil(want string) string {
	p.t.Helper()
	for i := 0; i < 100; i++ {
		status, body := p.poll()
		if status != 200 {
			p.t.Fatalf("poll: %d %q", status, body)
		}
		if strings.Contains(body, want) {
			return body
		}
		for _, pkt := range strings.Split(body, "\x1e") {
			if pkt == "2" {
				p.post("3")
			}
		}
	}
	p.t.Fatalf("no %q in 100 polls", want)
	return ""
}

func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	servertest.WaitFor(t, what, f)
}

func echoSetup(srv *socketio.Server) {
	srv.Of("/").OnConnection(func(s *socketio.Socket) {
		s.On("echo", func(s *socketio.Socket, e *socketio.Event) {
			_ = s.Emit("echo", e.Args.Values()...)
			_ = e.Ack(e.Args.Values()...)
		})
	})
}

// TestPollingSession walks a raw polling client through connect, an event
// with an ack, a batched payload and a binary attachment.
func TestPollingSession(t *testing.T) {
	_, base := startServer(t, socketio.Config{}, echoSetup)
	p := handshake(t, base)
	if status, body := p.post("40"); status != 200 || body != "ok" {
		t.Fatalf("post: %d %q", status, body)
	}
	if body := p.pollUntil("40{"); !strings.Contains(body, `"sid":"`) {
		t.Fatalf("connect answer %q", body)
	}
	// Two packets in one POST; the answers come back in one payload.
	if status, _ := p.post("42[\"echo\",1]\x1e421[\"echo\",\"two\"]"); status != 200 {
		t.Fatal(status)
	}
	body := p.pollUntil("431")
	for _, want := range []string{`42["echo",1]`, `42["echo","two"]`, `431["two"]`} {
		if !strings.Contains(body, want) {
			t.Fatalf("payload %q lacks %q", body, want)
		}
	}
	// A binary event: its attachment follows as "b" + base64.
	if status, _ := p.post("451-2[\"echo\",{\"_placeholder\":true,\"num\":0}]\x1ebAQID"); status != 200 {
		t.Fatal(status)
	}
	body = p.pollUntil("bAQID")
	if !strings.Contains(body, `451-["echo",{"_placeholder":true,"num":0}]`) {
		t.Fatalf("binary echo %q", body)
	}
}

// TestEngineErrors: every refusal has Engine.IO's status and JSON code.
func TestEngineErrors(t *testing.T) {
	_, base := startServer(t, socketio.Config{
		AllowRequest: func(hs *socketio.Handshake) error {
			if hs.Query.Get("deny") != "" {
				return errors.New("go away")
			}
			return nil
		},
		MaxHTTPBufferSize: 1000,
	}, nil)
	cases := []struct {
		name, method, query, body string
		status, code              int
		message                   string
	}{
		{name: "bad version", method: "GET", query: "EIO=3&transport=polling", status: 400, code: 5},
		{name: "no version", method: "GET", query: "transport=polling", status: 400, code: 5},
		{name: "bad transport", method: "GET", query: "EIO=4&transport=flash", status: 400, code: 0},
		{name: "unknown sid", method: "GET", query: "EIO=4&transport=polling&sid=abc", status: 400, code: 1},
		{name: "post handshake", method: "POST", query: "EIO=4&transport=polling", status: 400, code: 2},
		{name: "websocket without upgrade", method: "GET", query: "EIO=4&transport=websocket", status: 400, code: 3},
		{name: "refused", method: "GET", query: "EIO=4&transport=polling&deny=1", status: 403, code: 4, message: "go away"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(c.method, base+"/socket.io/?"+c.query, strings.NewReader(c.body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var e struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || resp.StatusCode != c.status || e.Code != c.code {
				t.Fatalf("%d %+v %v", resp.StatusCode, e, err)
			}
			if c.message != "" && e.Message != c.message {
				t.Fatalf("message %q", e.Message)
			}
		})
	}
	t.Run("body too large", func(t *testing.T) {
		p := handshake(t, base)
		if status, _ := p.post("4" + strings.Repeat("x", 2000)); status != 413 {
			t.Fatalf("status %d", status)
		}
	})
}

// TestHeartbeat: a client that answers pings stays; one that stops is
// closed after PingTimeout (generous: an answering client on a busy
// machine is never cut), and its sid becomes unknown.
func TestHeartbeat(t *testing.T) {
	var reasons atomic.Value
	_, base := startServer(t, socketio.Config{PingInterval: 50 * time.Millisecond, PingTimeout: 2 * time.Second}, func(srv *socketio.Server) {
		srv.Of("/").OnConnection(func(s *socketio.Socket) {
			s.OnDisconnect(func(s *socketio.Socket, reason string) { reasons.Store(reason) })
		})
	})
	p := handshake(t, base)
	p.post("40")
	p.pollUntil("40{")
	for pings := 0; pings < 3; {
		status, body := p.poll()
		if status != 200 {
			t.Fatalf("answered client cut after %d pings: %d %q", pings, status, body)
		}
		if strings.Contains(body, "2") {
			pings++
			p.post("3")
		}
	}
	// Stop answering: the next ping goes unanswered.
	eventually(t, "unanswered client closed", func() bool {
		status, _ := p.poll()
		return status == 400
	})
	eventually(t, "disconnect reason", func() bool { r, _ := reasons.Load().(string); return r == "ping timeout" })
}

// TestOverlappingPollsEndTheSession: a second GET while one waits is a
// bad request and ends the session, as in the Node server.
func TestOverlappingPollsEndTheSession(t *testing.T) {
	srv, base := startServer(t, socketio.Config{}, nil)
	p := handshake(t, base)
	first := make(chan string, 1)
	go func() { _, body := p.poll(); first <- body }()
	var status int
	eventually(t, "the overlap refused", func() bool {
		status, _ = p.poll()
		return status == 400
	})
	select {
	case <-first:
	case <-time.After(10 * time.Second):
		t.Fatal("the first GET was never answered")
	}
	eventually(t, "session gone", func() bool { return srv.Stats().Sessions == 0 })
}

// TestSlowPollingClientIsDropped: a polling client that stops polling
// while events pile up is closed at WriteBufferLimit; others go on.
func TestSlowPollingClientIsDropped(t *testing.T) {
	var slow atomic.Pointer[socketio.Socket]
	srv, base := startServer(t, socketio.Config{WriteBufferLimit: 64 << 10}, func(srv *socketio.Server) {
		echoSetup(srv)
		srv.Of("/").OnConnection(func(s *socketio.Socket) {
			s.On("slow", func(s *socketio.Socket, e *socketio.Event) { slow.Store(s) })
		})
	})
	p := handshake(t, base)
	p.post("40")
	p.pollUntil("40{")
	p.post(`42["slow"]`)
	eventually(t, "slow registered", func() bool { return slow.Load() != nil })
	other := handshake(t, base)
	other.post("40")
	other.pollUntil("40{")
	big := strings.Repeat("y", 8<<10)
	for i := 0; i < 20 && slow.Load().Connected(); i++ {
		_ = slow.Load().Emit("big", big)
	}
	eventually(t, "slow client dropped", func() bool { return !slow.Load().Connected() })
	if srv.Stats().SlowClients != 1 {
		t.Fatalf("stats %+v", srv.Stats())
	}
	other.post(`421["echo","ok"]`)
	if body := other.pollUntil(`431["ok"]`); body == "" {
		t.Fatal("the other client stopped")
	}
}

// TestCORS: an allowed origin gets the preflight and the headers; another
// gets neither, and its WebSocket upgrade is refused.
func TestCORS(t *testing.T) {
	_, base := startServer(t, socketio.Config{CORS: &socketio.CORS{Origins: []string{"https://app.example"}, Credentials: true}}, nil)
	for _, c := range []struct {
		origin string
		allow  string
	}{
		{origin: "https://app.example", allow: "https://app.example"},
		{origin: "https://evil.example", allow: ""},
	} {
		req, _ := http.NewRequest("OPTIONS", base+"/socket.io/?EIO=4&transport=polling", nil)
		req.Header.Set("Origin", c.origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != c.allow {
			t.Fatalf("%s preflight: %d %v", c.origin, resp.StatusCode, resp.Header)
		}
		if c.allow != "" && (resp.Header.Get("Access-Control-Allow-Credentials") != "true" || !strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "POST")) {
			t.Fatalf("preflight headers %v", resp.Header)
		}
		req, _ = http.NewRequest("GET", base+"/socket.io/?EIO=4&transport=polling", nil)
		req.Header.Set("Origin", c.origin)
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.Header.Get("Access-Control-Allow-Origin") != c.allow {
			t.Fatalf("%s handshake ACAO %q", c.origin, resp.Header.Get("Access-Control-Allow-Origin"))
		}
		d := gorilla.Dialer{HandshakeTimeout: 5 * time.Second}
		ws, r, err := d.Dial(strings.Replace(base, "http", "ws", 1)+"/socket.io/?EIO=4&transport=websocket", http.Header{"Origin": {c.origin}})
		if c.allow != "" {
			if err != nil {
				t.Fatalf("allowed origin's upgrade: %v", err)
			}
			ws.Close()
		} else if err == nil || r == nil || r.StatusCode != 403 {
			t.Fatalf("other origin's upgrade: %v", err)
		}
	}
}

// wsClient is a raw Engine.IO WebSocket client.
func wsClient(t *testing.T, base string) *gorilla.Conn {
	t.Helper()
	c, _, err := gorilla.DefaultDialer.Dial(strings.Replace(base, "http", "ws", 1)+"/socket.io/?EIO=4&transport=websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, m, err := c.ReadMessage(); err != nil || m[0] != '0' || !strings.Contains(string(m), `"upgrades":[]`) {
		t.Fatalf("open %q %v", m, err)
	}
	return c
}

func readText(t *testing.T, c *gorilla.Conn) string {
	t.Helper()
	_, m, err := c.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	return string(m)
}

// TestShutdownSaysGoodbye: a shutdown closes every session with a close
// packet and the reason "server shutting down".
func TestShutdownSaysGoodbye(t *testing.T) {
	var reason atomic.Value
	srv, base := startServer(t, socketio.Config{}, func(srv *socketio.Server) {
		srv.Of("/").OnConnection(func(s *socketio.Socket) {
			s.OnDisconnect(func(s *socketio.Socket, r string) { reason.Store(r) })
		})
	})
	c := wsClient(t, base)
	_ = c.WriteMessage(gorilla.TextMessage, []byte("40"))
	if m := readText(t, c); !strings.HasPrefix(m, `40{"sid":"`) {
		t.Fatalf("connect %q", m)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(ctx) }()
	if m := readText(t, c); m != "1" {
		t.Fatalf("goodbye %q", m)
	}
	if _, _, err := c.ReadMessage(); !gorilla.IsCloseError(err, gorilla.CloseNormalClosure) {
		t.Fatalf("close: %v", err)
	}
	if err := <-shut; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	eventually(t, "reason", func() bool { r, _ := reason.Load().(string); return r == "server shutting down" })
}

// TestConnectTimeout: a session that joins no namespace is closed.
func TestConnectTimeout(t *testing.T) {
	srv, base := startServer(t, socketio.Config{ConnectTimeout: 200 * time.Millisecond}, nil)
	c := wsClient(t, base)
	if _, _, err := c.ReadMessage(); err == nil {
		t.Fatal("expected the connection to close")
	}
	eventually(t, "session gone", func() bool { return srv.Stats().Sessions == 0 })
}

// TestGarbageOverWebSocket: a malformed packet closes that connection
// (reason "parse error"), not the server.
func TestGarbageOverWebSocket(t *testing.T) {
	var reason atomic.Value
	_, base := startServer(t, socketio.Config{}, func(srv *socketio.Server) {
		echoSetup(srv)
		srv.Of("/").OnConnection(func(s *socketio.Socket) {
			s.OnDisconnect(func(s *socketio.Socket, r string) { reason.Store(r) })
		})
	})
	for _, garbage := range [][]string{
		{`42{"not":"array"}`},
		{`42["connect"]`},
		{"9"},
		{`42["x",1]` + "\x00"},
		{`4999999-["x"]`},
		{`451-["x",{"_placeholder":true,"num":0}]`, `42["x"]`}, // text where the attachment must be
	} {
		c := wsClient(t, base)
		_ = c.WriteMessage(gorilla.TextMessage, []byte("40"))
		readText(t, c)
		for _, m := range garbage {
			_ = c.WriteMessage(gorilla.TextMessage, []byte(m))
		}
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				break
			}
		}
		if r, _ := reason.Load().(string); r != "parse error" {
			t.Fatalf("%q: reason %q", garbage, r)
		}
		reason.Store("")
	}
	c := wsClient(t, base)
	_ = c.WriteMessage(gorilla.TextMessage, []byte("40"))
	readText(t, c)
	_ = c.WriteMessage(gorilla.TextMessage, []byte(`421["echo","fine"]`))
	if m := readText(t, c); !strings.HasPrefix(m, `42["echo","fine"`) {
		t.Fatalf("%q", m)
	}
}

// TestServerAcksAndDisconnect: EmitWithAck gets the client's answer,
// times out when none comes, and fails with ErrDisconnected when the
// client leaves; Disconnect(false) sends the client "41" and the socket's
// reason is "server namespace disconnect". An async middleware (next from
// a goroutine) sets Data that the handlers see.
func TestServerAcksAndDisconnect(t *testing.T) {
	type result struct {
		answer string
		err    error
	}
	results := make(chan result, 4)
	reasons := make(chan string, 4)
	_, base := startServer(t, socketio.Config{}, func(srv *socketio.Server) {
		root := srv.Of("/")
		root.Use(func(s *socketio.Socket, next func(error)) {
			go func() { // a lookup off the loop
				s.Data = "user-7"
				next(nil)
			}()
		})
		root.OnConnection(func(s *socketio.Socket) {
			s.OnDisconnect(func(s *socketio.Socket, r string) { reasons <- r })
			s.On("ask", func(s *socketio.Socket, e *socketio.Event) {
				timeout, _ := e.Args.String(0)
				d, _ := time.ParseDuration(timeout)
				_ = s.EmitWithAck(d, func(a *socketio.Args, err error) {
					var r result
					r.err = err
					if a != nil {
						r.answer, _ = a.String(0)
					}
					results <- r
				}, "question", s.Data)
			})
			s.On("kick", func(s *socketio.Socket, e *socketio.Event) { s.Disconnect(false) })
		})
	})
	c := wsClient(t, base)
	_ = c.WriteMessage(gorilla.TextMessage, []byte("40"))
	readText(t, c)
	_ = c.WriteMessage(gorilla.TextMessage, []byte(`42["ask","5s"]`))
	if m := readText(t, c); m != `420["question","user-7"]` {
		t.Fatalf("question %q", m)
	}
	_ = c.WriteMessage(gorilla.TextMessage, []byte(`430["yes"]`))
	if r := <-results; r.err != nil || r.answer != "yes" {
		t.Fatalf("%+v", r)
	}
	_ = c.WriteMessage(gorilla.TextMessage, []byte(`42["ask","50ms"]`))
	readText(t, c) // 421["question",...], left unanswered
	if r := <-results; !errors.Is(r.err, socketio.ErrAckTimeout) {
		t.Fatalf("%+v", r)
	}
	_ = c.WriteMessage(gorilla.TextMessage, []byte(`42["ask","1h"]`))
	readText(t, c)
	_ = c.WriteMessage(gorilla.TextMessage, []byte(`42["kick"]`))
	if m := readText(t, c); m != "41" {
		t.Fatalf("kick %q", m)
	}
	if r := <-results; !errors.Is(r.err, socketio.ErrDisconnected) {
		t.Fatalf("%+v", r)
	}
	if r := <-reasons; r != "server namespace disconnect" {
		t.Fatal(r)
	}
}

// TestOverTLS: polling over https:// and the upgrade to wss:// on one
// TLS port (the preset's TLS option), with a test CA.
func TestOverTLS(t *testing.T) {
	certs := tlstest.New(t)
	cfg := socketio.Config{Server: bootstrap.Config{Workers: 2}, TLS: certs.ServerConfig()}
	_, base := startServer(t, cfg, echoSetup)
	base = strings.Replace(base, "http://", "https://", 1)
	p := &poller{t: t, base: base + "/socket.io/?EIO=4&transport=polling", http: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: certs.ClientConfig()}}}
	status, body := p.get("")
	if status != 200 || !strings.HasPrefix(body, `0{"sid":"`) || !strings.Contains(body, `"upgrades":["websocket"]`) {
		t.Fatalf("https handshake %d %q", status, body)
	}
	var open struct{ SID string }
	_ = json.Unmarshal([]byte(body[1:]), &open)
	p.sid = open.SID
	p.post("40")
	p.pollUntil("40{")
	d := gorilla.Dialer{TLSClientConfig: certs.ClientConfig(), HandshakeTimeout: 5 * time.Second}
	c, _, err := d.Dial(strings.Replace(base, "https", "wss", 1)+"/socket.io/?EIO=4&transport=websocket&sid="+p.sid, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_ = c.WriteMessage(gorilla.TextMessage, []byte("2probe"))
	if m := readText(t, c); m != "3probe" {
		t.Fatalf("probe %q", m)
	}
	if status, body := p.poll(); status != 200 || body != "6" {
		t.Fatalf("the waiting poll is released with a noop: %d %q", status, body)
	}
	_ = c.WriteMessage(gorilla.TextMessage, []byte("5"))
	_ = c.WriteMessage(gorilla.TextMessage, []byte(`421["echo","over wss"]`))
	if m := readText(t, c); !strings.HasPrefix(m, `42["echo","over wss"`) {
		t.Fatalf("%q", m)
	}
	if m := readText(t, c); m != `431["over wss"]` {
		t.Fatalf("%q", m)
	}
}

// TestWriteDelayCoalesces: with WriteDelay, events sent to a client by
// separate loop tasks leave in one write: the client's first read holds
// all of them.
func TestWriteDelayCoalesces(t *testing.T) {
	var sock atomic.Pointer[socketio.Socket]
	_, base := startServer(t, socketio.Config{WriteDelay: time.Second}, func(srv *socketio.Server) {
		srv.Of("/").OnConnection(func(s *socketio.Socket) { sock.Store(s) })
	})
	c := wsClient(t, base)
	_ = c.WriteMessage(gorilla.TextMessage, []byte("40"))
	if m := readText(t, c); !strings.HasPrefix(m, "40{") {
		t.Fatal(m)
	}
	eventually(t, "connected", func() bool { return sock.Load() != nil })
	raw := c.NetConn()
	for i := range 5 {
		_ = sock.Load().Emit("n", i) // each a task of its own on the socket's loop
	}
	buf := make([]byte, 64<<10)
	_ = raw.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := raw.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(string(buf[:n]), `42["n",`); got != 5 {
		t.Fatalf("first read held %d of 5 events: %q", got, buf[:n])
	}
}
