package websocket_test

import (
	"bufio"
	"context"
	"log/slog"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/gnetty/gnetty/bootstrap"
	"github.com/gnetty/gnetty/codec/wsframe"
	"github.com/gnetty/gnetty/handler/ws/upgrade"
	"github.com/gnetty/gnetty/pipeline"
	gws "github.com/gnetty/gnetty/preset/websocket"
)

// wsPeer is a raw client: it reads every frame itself, so it answers a
// ping only when the test says so.
type wsPeer struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dialRaw(t *testing.T, addr, path string) *wsPeer {
	t.Helper()
	c, br, _, err := ws.Dialer{Timeout: 10 * time.Second}.Dial(context.Background(), "ws://"+addr+path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if br == nil {
		br = bufio.NewReader(c)
	}
	return &wsPeer{t: t, c: c, br: br}
}

func (p *wsPeer) send(op ws.OpCode, payload []byte) {
	p.t.Helper()
	f := ws.NewFrame(op, true, append([]byte(nil), payload...))
	f = ws.MaskFrameInPlace(f)
	if err := ws.WriteFrame(p.c, f); err != nil {
		p.t.Fatal(err)
	}
}

func (p *wsPeer) read() (ws.Frame, error) {
	_ = p.c.SetReadDeadline(time.Now().Add(20 * time.Second))
	return ws.ReadFrame(p.br)
}

// closeInfo is what OnClose was given.
type closeInfo struct {
	code   gws.StatusCode
	reason string
}

// chainServer runs an echo server whose upgraded chain is fused (no
// Config.Handlers) or general (a Handlers hook that adds nothing), and
// reports the handler names each connection's pipeline has in OnOpen.
func chainServer(t *testing.T, general bool, ping, pong time.Duration) (string, chan []string, chan closeInfo, *gws.Server) {
	names := make(chan []string, 16)
	closes := make(chan closeInfo, 16)
	cfg := gws.Config{
		Addrs: []string{"127.0.0.1:0"},
		Routes: map[string]gws.Handler{"/echo": gws.Funcs{
			Open: func(c *gws.Conn) { names <- c.Channel().Pipeline().Names() },
			Message: func(c *gws.Conn, typ gws.MessageType, data []byte) {
				_ = c.WriteMessage(typ, data)
			},
			Close: func(c *gws.Conn, code gws.StatusCode, reason string) { closes <- closeInfo{code, reason} },
		}},
		PingInterval: ping,
		PongTimeout:  pong,
		Server:       bootstrap.Config{Workers: 1, Logger: slog.New(slog.DiscardHandler)},
	}
	if general {
		cfg.Handlers = func(*pipeline.Pipeline, *upgrade.Handshake) error { return nil }
	}
	s, err := gws.New(cfg)
	run(t, s, err)
	return s.Addrs()[0].String(), names, closes, s
}

// bothChains runs f on the fused chain and on the general one.
func bothChains(t *testing.T, f func(t *testing.T, general bool)) {
	for _, general := range []bool{false, true} {
		t.Run(map[bool]string{false: "fused", true: "general"}[general], func(t *testing.T) { f(t, general) })
	}
}

func waitClose(t *testing.T, closes chan closeInfo) closeInfo {
	t.Helper()
	select {
	case c := <-closes:
		return c
	case <-time.After(20 * time.Second):
		t.Fatal("OnClose not called")
	}
	return closeInfo{}
}

// The fused connection and the general chain behave the same: echo,
// failures with their close codes, the peer's close code, and a shutdown.
func TestFusedAndGeneralChainsBehaveAlike(t *testing.T) {
	bothChains(t, func(t *testing.T, general bool) {
		addr, names, closes, s := chainServer(t, general, time.Minute, time.Minute)

		p := dialRaw(t, addr, "/echo")
		want := []string{wsframe.Name}
		if general {
			want = []string{wsframe.Name, "keepalive", gws.AppName}
		}
		if got := <-names; !slices.Equal(got, want) {
			t.Fatalf("pipeline after the upgrade %v, want %v", got, want)
		}
		for _, m := range []struct {
			op   ws.OpCode
			data string
		}{{ws.OpText, "héllo"}, {ws.OpBinary, "\x00\xff"}, {ws.OpText, ""}} {
			p.send(m.op, []byte(m.data))
			f, err := p.read()
			if err != nil || f.Header.OpCode != m.op || string(f.Payload) != m.data {
				t.Fatalf("echo of %q: %v %q %v", m.data, f.Header.OpCode, f.Payload, err)
			}
		}
		p.send(ws.OpPing, []byte("are you there"))
		if f, err := p.read(); err != nil || f.Header.OpCode != ws.OpPong || string(f.Payload) != "are you there" {
			t.Fatalf("ping answered with %v %q %v", f.Header.OpCode, f.Payload, err)
		}
		p.send(ws.OpClose, ws.NewCloseFrameBody(4001, "bye"))
		if f, err := p.read(); err != nil || f.Header.OpCode != ws.OpClose {
			t.Fatalf("close answered with %v %v", f.Header.OpCode, err)
		}
		if c := waitClose(t, closes); c.code != 4001 || c.reason != "bye" {
			t.Fatalf("OnClose %+v, want 4001 bye", c)
		}

		bad := dialRaw(t, addr, "/echo")
		<-names
		bad.send(ws.OpText, []byte{0xff, 'x'})
		f, err := bad.read()
		if err != nil || f.Header.OpCode != ws.OpClose {
			t.Fatalf("invalid UTF-8 answered with %v %v", f.Header.OpCode, err)
		}
		if code, _ := ws.ParseCloseFrameData(f.Payload); code != ws.StatusInvalidFramePayloadData {
			t.Fatalf("invalid UTF-8 closed with %d", code)
		}
		if c := waitClose(t, closes); c.code != ws.StatusInvalidFramePayloadData {
			t.Fatalf("OnClose after invalid UTF-8 %+v", c)
		}

		gone := dialRaw(t, addr, "/echo")
		<-names
		gone.c.Close()
		if c := waitClose(t, closes); c.code != ws.StatusAbnormalClosure {
			t.Fatalf("OnClose after a vanished peer %+v", c)
		}

		last := dialRaw(t, addr, "/echo")
		<-names
		if n := s.Conns(); n != 1 {
			t.Fatalf("Conns = %d, want 1", n)
		}
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			_ = s.Shutdown(ctx)
		}()
		f, err = last.read()
		if err != nil || f.Header.OpCode != ws.OpClose {
			t.Fatalf("shutdown sent %v %v", f.Header.OpCode, err)
		}
		if code, reason := ws.ParseCloseFrameData(f.Payload); code != ws.StatusGoingAway || reason != "server shutting down" {
			t.Fatalf("shutdown closed with %d %q", code, reason)
		}
		last.send(ws.OpClose, f.Payload[:2])
		if c := waitClose(t, closes); c.code != ws.StatusGoingAway {
			t.Fatalf("OnClose after shutdown %+v", c)
		}
	})
}

// Keepalive in both chains: a peer that answers pings stays, one that
// stops answering gets close 1001 "ping timeout".
func TestFusedAndGeneralKeepalive(t *testing.T) {
	bothChains(t, func(t *testing.T, general bool) {
		addr, names, closes, _ := chainServer(t, general, 50*time.Millisecond, 2*time.Second)
		p := dialRaw(t, addr, "/echo")
		<-names
		for i := range 3 {
			f, err := p.read()
			if err != nil || f.Header.OpCode != ws.OpPing || len(f.Payload) != 8 {
				t.Fatalf("frame %d: %v %q %v, want a ping", i, f.Header.OpCode, f.Payload, err)
			}
			p.send(ws.OpPong, f.Payload)
		}
		// Silent now: the next ping goes unanswered.
		if f, err := p.read(); err != nil || f.Header.OpCode != ws.OpPing {
			t.Fatalf("want one more ping, got %v %v", f.Header.OpCode, err)
		}
		f, err := p.read()
		if err != nil || f.Header.OpCode != ws.OpClose {
			t.Fatalf("a silent peer got %v %v, want a close", f.Header.OpCode, err)
		}
		if code, reason := ws.ParseCloseFrameData(f.Payload); code != ws.StatusGoingAway || reason != "ping timeout" {
			t.Fatalf("closed with %d %q", code, reason)
		}
		if c := waitClose(t, closes); c.code != ws.StatusAbnormalClosure {
			t.Fatalf("OnClose after a ping timeout %+v", c)
		}
	})
}

// A client dialled without DialConfig.Handlers runs fused, with
// Handlers on the general chain; both echo, ping a silent server, give up
// on it with 1001 "ping timeout" and report 1006 to OnClose.
func TestDialFusedAndGeneral(t *testing.T) {
	bothChains(t, func(t *testing.T, general bool) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		pings := make(chan []byte, 16)
		go func() { // echoes data frames, never answers a ping
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			if _, err := (ws.Upgrader{Protocol: func(p []byte) bool { return string(p) == "v1" }}).Upgrade(c); err != nil {
				return
			}
			for {
				f, err := ws.ReadFrame(c)
				if err != nil {
					return
				}
				f = ws.UnmaskFrameInPlace(f)
				switch f.Header.OpCode {
				case ws.OpPing:
					pings <- f.Payload
				case ws.OpText, ws.OpBinary:
					if ws.WriteFrame(c, ws.NewFrame(f.Header.OpCode, true, f.Payload)) != nil {
						return
					}
				case ws.OpClose:
					_ = ws.WriteFrame(c, ws.NewCloseFrame(f.Payload))
					return
				}
			}
		}()
		names := make(chan []string, 1)
		got := make(chan string, 4)
		closes := make(chan closeInfo, 1)
		cfg := gws.DialConfig{
			Handler: gws.Funcs{
				Open:    func(c *gws.Conn) { names <- c.Channel().Pipeline().Names() },
				Message: func(c *gws.Conn, _ gws.MessageType, data []byte) { got <- string(data) },
				Close:   func(c *gws.Conn, code gws.StatusCode, reason string) { closes <- closeInfo{code, reason} },
			},
			Subprotocols: []string{"v1"},
			PingInterval: 100 * time.Millisecond,
			PongTimeout:  time.Second,
		}
		want := []string{wsframe.Name}
		if general {
			cfg.Handlers = func(*pipeline.Pipeline, *upgrade.ClientHandshake) error { return nil }
			want = []string{wsframe.Name, "keepalive", gws.AppName}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		c, hs, err := gws.Dial(ctx, "ws://"+l.Addr().String()+"/", cfg)
		if err != nil {
			t.Fatal(err)
		}
		if hs.Subprotocol != "v1" || c.Subprotocol() != "v1" || c.Handshake() != nil {
			t.Fatalf("subprotocol %q / %q, handshake %v", hs.Subprotocol, c.Subprotocol(), c.Handshake())
		}
		if n := <-names; !slices.Equal(n, want) {
			t.Fatalf("client pipeline %v, want %v", n, want)
		}
		if err := c.WriteText("héllo"); err != nil {
			t.Fatal(err)
		}
		select {
		case m := <-got:
			if m != "héllo" {
				t.Fatalf("echo %q", m)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("no echo")
		}
		select {
		case p := <-pings:
			if len(p) != 8 {
				t.Fatalf("ping payload %q", p)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("the client never pinged")
		}
		if ci := waitClose(t, closes); ci.code != ws.StatusAbnormalClosure {
			t.Fatalf("OnClose after an unanswered ping %+v", ci)
		}
	})
}
