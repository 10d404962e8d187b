package websocket_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gnetty/gnetty/bootstrap"
	"github.com/gnetty/gnetty/codec/http1"
	"github.com/gnetty/gnetty/handler/http/router"
	"github.com/gnetty/gnetty/handler/ws/keepalive"
	"github.com/gnetty/gnetty/handler/ws/upgrade"
	"github.com/gnetty/gnetty/internal/servertest"
	"github.com/gnetty/gnetty/internal/tlstest"
	"github.com/gnetty/gnetty/pipeline"
	gws "github.com/gnetty/gnetty/preset/websocket"
)

// inbox is a client Handler that keeps what arrives.
type inbox struct {
	mu     sync.Mutex
	msgs   []string
	closes []string
	opens  int
	got    chan struct{}
}

func newInbox() *inbox { return &inbox{got: make(chan struct{}, 1000)} }

func (b *inbox) OnOpen(c *gws.Conn) {
	b.mu.Lock()
	b.opens++
	b.mu.Unlock()
	b.got <- struct{}{}
}

func (b *inbox) OnMessage(c *gws.Conn, typ gws.MessageType, data []byte) {
	b.mu.Lock()
	b.msgs = append(b.msgs, fmt.Sprintf("%d:%s", typ, data))
	b.mu.Unlock()
	b.got <- struct{}{}
}

func (b *inbox) OnClose(c *gws.Conn, code gws.StatusCode, reason string) {
	b.mu.Lock()
	b.closes = append(b.closes, fmt.Sprintf("%d %s", code, reason))
	b.mu.Unlock()
	b.got <- struct{}{}
}

// wait waits (bounded) until cond holds over what arrived.
func (b *inbox) wait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		b.mu.Lock()
		ok := cond()
		b.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-b.got:
		case <-deadline:
			b.mu.Lock()
			defer b.mu.Unlock()
			t.Fatalf("timed out waiting for %s: messages %q, closes %q", what, b.msgs, b.closes)
		}
	}
}

// echoServer runs the preset as an echo server with compression, a
// subprotocol, a route that the server closes, and a page for refusals.
func echoServer(t *testing.T, tlsCfg *tls.Config) (addr string, pongs *atomic.Int64) {
	t.Helper()
	pongs = new(atomic.Int64)
	echo := gws.Funcs{Message: func(c *gws.Conn, typ gws.MessageType, data []byte) {
		if string(data) == "drop me" {
			c.Channel().Close() // no close frame: the client sees 1006
			return
		}
		if string(data) == "close me" {
			c.Close(gws.StatusNormalClosure, "as you asked")
			return
		}
		_ = c.WriteMessage(typ, data)
	}}
	cfg := gws.Config{
		Addrs:        []string{"127.0.0.1:0"},
		Routes:       map[string]gws.Handler{"/echo": echo},
		Upgrade:      upgrade.Config{Compression: true, ContextTakeover: true, Subprotocols: []string{"chat.v2", "chat.v1"}},
		PingInterval: 50 * time.Millisecond, PongTimeout: 10 * time.Second,
		HTTP: func(r *router.Router) error {
			return r.Handle("GET", "/page", func(ctx *pipeline.Context, req *http1.Request) {
				router.Reply(ctx, req, 200, "text/plain", []byte("just a page"))
			})
		},
		// Count the pongs that answer the server's pings.
		Handlers: func(p *pipeline.Pipeline, _ *upgrade.Handshake) error {
			return p.AddLast("pongs", pipeline.UserEventFunc(func(ctx *pipeline.Context, ev any) {
				if _, ok := ev.(keepalive.Pong); ok {
					pongs.Add(1)
				}
				ctx.FireUserEvent(ev)
			}))
		},
		TLS:    tlsCfg,
		Server: bootstrap.Config{Workers: 2, Logger: slog.New(slog.DiscardHandler)},
	}
	s, err := gws.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return servertest.Start(t, s), pongs
}

func TestDialEchoCompressionAndClose(t *testing.T) {
	addr, pongs := echoServer(t, nil)
	for _, compress := range []bool{false, true} {
		t.Run(fmt.Sprint("compression ", compress), func(t *testing.T) {
			b := newInbox()
			c, hs, err := gws.Dial(context.Background(), "ws://"+addr+"/echo", gws.DialConfig{Handler: b, Compression: compress, ContextTakeover: true,
				Subprotocols: []string{"chat.v1"}, Header: http.Header{"Authorization": {"Bearer x"}}})
			if err != nil {
				t.Fatal(err)
			}
			if hs.Response.Status != 101 || hs.Subprotocol != "chat.v1" || hs.Compressed != compress || c.Subprotocol() != "chat.v1" {
				t.Fatalf("handshake %+v", hs)
			}
			big := strings.Repeat("0123456789", 100_000) // 1 MB, under the default 1 MiB message limit
			_ = c.WriteText("hello")
			_ = c.WriteMessage(gws.Binary, []byte{0, 1, 2})
			_ = c.WriteText(big)
			b.wait(t, "three echoes", func() bool { return len(b.msgs) == 3 })
			if b.msgs[0] != "1:hello" || b.msgs[1] != "2:\x00\x01\x02" || b.msgs[2] != "1:"+big {
				t.Fatalf("echoes %q", b.msgs[:2])
			}
			// The server pings every 50 ms of silence: the client answers,
			// and the connection stays.
			before := pongs.Load()
			waitFor(t, "three pongs", func() bool { return pongs.Load() >= before+3 })
			_ = c.WriteText("still here")
			b.wait(t, "an echo after the pings", func() bool { return len(b.msgs) == 4 })
			// A close the server starts, echoed by the client.
			_ = c.WriteText("close me")
			b.wait(t, "the server's close", func() bool { return len(b.closes) == 1 })
			if b.closes[0] != "1000 as you asked" {
				t.Fatalf("closed %q", b.closes)
			}
			if err := c.WriteText("after"); !errors.Is(err, gws.ErrClosed) {
				t.Fatalf("a write after the close: %v", err)
			}
		})
	}
	// A close the client starts.
	b := newInbox()
	c, _, err := gws.Dial(context.Background(), "ws://"+addr+"/echo", gws.DialConfig{Handler: b})
	if err != nil {
		t.Fatal(err)
	}
	c.Close(gws.StatusNormalClosure, "bye")
	b.wait(t, "the close handshake", func() bool { return len(b.closes) == 1 })
	if b.closes[0] != "1000 " { // the server's answer: its code, no reason
		t.Fatalf("closed %q", b.closes)
	}
}

// Refusals carry the server's status, header and body.
func TestDialRefused(t *testing.T) {
	addr, _ := echoServer(t, nil)
	for _, tc := range []struct {
		path   string
		status int
		body   string
	}{
		{path: "/nowhere", status: 404},
		{path: "/page", status: 200, body: "just a page"},
	} {
		_, _, err := gws.Dial(context.Background(), "ws://"+addr+tc.path, gws.DialConfig{})
		var he *upgrade.HandshakeError
		if !errors.As(err, &he) || he.Status != tc.status || !strings.Contains(string(he.Body), tc.body) {
			t.Fatalf("%s: %v", tc.path, err)
		}
	}
	if _, _, err := gws.Dial(context.Background(), "ws://"+addr+"/echo", gws.DialConfig{Subprotocols: []string{"unknown"}}); err != nil {
		t.Fatalf("no common subprotocol is no refusal: %v", err)
	}
	if _, _, err := gws.Dial(context.Background(), "http://"+addr+"/echo", gws.DialConfig{}); err == nil {
		t.Fatal("an http:// URL accepted")
	}
}

// wss:// with a test CA: verified against the given pool, refused
// against the system's roots.
func TestDialTLS(t *testing.T) {
	certs := tlstest.New(t)
	addr, _ := echoServer(t, certs.ServerConfig())
	b := newInbox()
	c, hs, err := gws.Dial(context.Background(), "wss://"+addr+"/echo", gws.DialConfig{Handler: b, TLS: certs.ClientConfig(), Compression: true})
	if err != nil {
		t.Fatal(err)
	}
	if !hs.Compressed {
		t.Fatal("no compression over TLS")
	}
	_ = c.WriteText("over tls")
	b.wait(t, "the echo over TLS", func() bool { return len(b.msgs) == 1 })
	if b.msgs[0] != "1:over tls" {
		t.Fatalf("%q", b.msgs)
	}
	c.Close(gws.StatusNormalClosure, "")
	if _, _, err := gws.Dial(context.Background(), "wss://"+addr+"/echo", gws.DialConfig{}); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("an unknown CA: %v", err)
	}
}

// waitFor waits (bounded) until cond holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	servertest.WaitFor(t, what, cond)
}

// A connection dialled with Reconnect comes back after it is lost, and
// stays closed after Close.
func TestDialReconnect(t *testing.T) {
	addr, _ := echoServer(t, nil)
	b := newInbox()
	var mu sync.Mutex
	var conns []*gws.Conn
	h := gws.Funcs{
		Open: func(c *gws.Conn) {
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			b.OnOpen(c)
		},
		Message: b.OnMessage,
		Close:   b.OnClose,
	}
	c, _, err := gws.Dial(context.Background(), "ws://"+addr+"/echo", gws.DialConfig{Handler: h,
		Reconnect: &gws.Reconnect{MinDelay: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	_ = c.WriteText("drop me")
	b.wait(t, "a reconnection", func() bool { return b.opens == 2 && len(b.closes) == 1 })
	if b.closes[0] != "1006 " {
		t.Fatalf("lost with %q", b.closes)
	}
	mu.Lock()
	c2 := conns[1]
	mu.Unlock()
	if c2 == c || c2.Subprotocol() != "" {
		t.Fatal("the same Conn after a reconnection")
	}
	_ = c2.WriteText("again")
	b.wait(t, "an echo on the new connection", func() bool { return len(b.msgs) == 1 && b.msgs[0] == "1:again" })
	c2.Close(gws.StatusNormalClosure, "")
	b.wait(t, "the close", func() bool { return len(b.closes) == 2 })
	// Close ended the reconnecting: a Dial on the same server goes
	// through and sees no other connection coming back.
	c3, _, err := gws.Dial(context.Background(), "ws://"+addr+"/echo", gws.DialConfig{})
	if err != nil {
		t.Fatal(err)
	}
	c3.Close(gws.StatusNormalClosure, "")
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.opens != 2 {
		t.Fatalf("%d opens after Close", b.opens)
	}
}

// A server that requires a client certificate accepts a Dial that has
// one, and refuses one that has none.
func TestDialClientCertificate(t *testing.T) {
	certs := tlstest.New(t)
	srvCfg := certs.ServerConfig()
	srvCfg.ClientAuth, srvCfg.ClientCAs = tls.RequireAndVerifyClientCert, certs.CA
	addr, _ := echoServer(t, srvCfg)
	clientCert, _, _ := certs.Sign(t, "client", "a client")
	cfg := certs.ClientConfig()
	cfg.Certificates = []tls.Certificate{clientCert}
	b := newInbox()
	c, _, err := gws.Dial(context.Background(), "wss://"+addr+"/echo", gws.DialConfig{Handler: b, TLS: cfg})
	if err != nil {
		t.Fatal(err)
	}
	_ = c.WriteText("with a certificate")
	b.wait(t, "the echo", func() bool { return len(b.msgs) == 1 })
	c.Close(gws.StatusNormalClosure, "")
	if _, _, err := gws.Dial(context.Background(), "wss://"+addr+"/echo", gws.DialConfig{TLS: certs.ClientConfig()}); err == nil {
		t.Fatal("accepted without a client certificate")
	}
}

// Client connections join a Group as server ones do: one broadcast
// reaches every member, and the server echoes to each.
func TestDialGroup(t *testing.T) {
	addr, _ := echoServer(t, nil)
	b := newInbox()
	g := gws.NewGroup()
	for range 3 {
		c, _, err := gws.Dial(context.Background(), "ws://"+addr+"/echo", gws.DialConfig{Handler: b})
		if err != nil {
			t.Fatal(err)
		}
		g.Add(c)
	}
	if n := g.Broadcast(gws.Text, []byte("to all")); n != 3 {
		t.Fatalf("broadcast to %d", n)
	}
	b.wait(t, "three echoes", func() bool { return len(b.msgs) == 3 })
	for _, m := range b.msgs {
		if m != "1:to all" {
			t.Fatalf("%q", b.msgs)
		}
	}
}
