package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/gnetty/gnetty/bootstrap"
	"github.com/gnetty/gnetty/codec/wsframe"
	"github.com/gnetty/gnetty/internal/servertest"
	gws "github.com/gnetty/gnetty/preset/websocket"
)

func start(t *testing.T) (*gws.Server, string) {
	t.Helper()
	return startWith(t, nil)
}

// startWith runs the echo on a free port with opts (TLS) and stops it at
// the end of the test.
func startWith(t *testing.T, tlsCfg *tls.Config) (*gws.Server, string) {
	t.Helper()
	return startDeflate(t, tlsCfg, deflate{takeover: true, memory: wsframe.DefaultDeflateMemory})
}

// startDeflate is startWith with a compression policy of its own.
func startDeflate(t *testing.T, tlsCfg *tls.Config, d deflate) (*gws.Server, string) {
	t.Helper()
	s, err := newServer("127.0.0.1:0", bootstrap.Config{Workers: 2, Logger: slog.New(slog.DiscardHandler)}, tlsCfg, d)
	if err != nil {
		t.Fatal(err)
	}
	return s, servertest.Start(t, s)
}

func TestGorillaClientEcho(t *testing.T) {
	_, addr := start(t)
	for _, compress := range []bool{false, true} {
		d := websocket.Dialer{EnableCompression: compress, HandshakeTimeout: 5 * time.Second}
		c, resp, err := d.Dial("ws://"+addr+"/", nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := resp.Header.Get("Sec-WebSocket-Extensions"); compress != strings.Contains(got, "permessage-deflate") {
			t.Fatalf("compress=%v: extensions %q", compress, got)
		}
		c.EnableWriteCompression(compress)
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		msgs := []struct {
			typ  int
			data []byte
		}{
			{websocket.TextMessage, []byte("hello")},
			{websocket.BinaryMessage, []byte{0, 1, 2, 255}},
			{websocket.TextMessage, []byte(strings.Repeat("héllo wörld ", 10_000))},
			{websocket.BinaryMessage, bytes.Repeat([]byte{7}, 300_000)},
		}
		for _, m := range msgs {
			echoed(t, c, m.typ, m.data)
		}
		// Fragmented write via NextWriter with several writes.
		w, _ := c.NextWriter(websocket.TextMessage)
		for range 5 {
			_, _ = w.Write([]byte("part "))
		}
		_ = w.Close()
		if _, got, err := c.ReadMessage(); err != nil || string(got) != strings.Repeat("part ", 5) {
			t.Fatalf("fragmented: %q %v", got, err)
		}
		// Close handshake: the server echoes our code.
		_ = c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(4000, "done"), time.Now().Add(time.Second))
		_, _, err = c.ReadMessage()
		var ce *websocket.CloseError
		if !asClose(err, &ce) || ce.Code != 4000 {
			t.Fatalf("close echo: %v", err)
		}
		c.Close()
	}
}

func asClose(err error, target **websocket.CloseError) bool {
	ce, ok := err.(*websocket.CloseError)
	if ok {
		*target = ce
	}
	return ok
}

func TestShutdownSendsGoingAway(t *testing.T) {
	s, addr := start(t)
	var conns []*websocket.Conn
	for range 10 {
		c, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/", nil)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	for deadline := time.Now().Add(5 * time.Second); s.Conns() != 10 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done <- s.Shutdown(ctx)
	}()
	for _, c := range conns {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, _, err := c.ReadMessage() // gorilla answers the close frame itself
		ce, ok := err.(*websocket.CloseError)
		if !ok || ce.Code != websocket.CloseGoingAway {
			t.Fatalf("read after shutdown: %v", err)
		}
		c.Close()
	}
	if err := <-done; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
}

func TestHandshakeRefusals(t *testing.T) {
	_, addr := start(t)
	raw := func(req string) string {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_, _ = c.Write([]byte(req))
		_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
		buf := make([]byte, 4096)
		n, _ := c.Read(buf)
		return string(buf[:n])
	}
	base := "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
	for _, tc := range []struct{ name, req, want string }{
		{"bad key", base + "Sec-WebSocket-Key: short\r\n\r\n", "HTTP/1.1 400 "},
		{"no upgrade", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 400 "},
		{"version", strings.Replace(base, "13", "7", 1) + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", "Sec-WebSocket-Version: 13"},
		{"ok", base + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="},
		{"unknown path", strings.Replace(base, "GET / ", "GET /nope ", 1) + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", "HTTP/1.1 404 "},
	} {
		if out := raw(tc.req); !strings.Contains(out, tc.want) {
			t.Errorf("%s: %q", tc.name, out)
		}
	}
}

// TestBytesBehindTheUpgradeAreKept sends the upgrade request and a first
// frame in one write.
func TestBytesBehindTheUpgradeAreKept(t *testing.T) {
	_, addr := start(t)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	frame := []byte{0x81, 0x85, 1, 2, 3, 4}
	payload := []byte("early")
	for i := range payload {
		payload[i] ^= []byte{1, 2, 3, 4}[i%4]
	}
	req := "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
	_, _ = c.Write(append(append([]byte(req), frame...), payload...))
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var got []byte
	buf := make([]byte, 4096)
	for !bytes.Contains(got, []byte("\x81\x05early")) {
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("read %q: %v", got, err)
		}
		got = append(got, buf[:n]...)
	}
}

// echoed writes one message with a gorilla client and checks that the
// same comes back.
func echoed(t *testing.T, c *websocket.Conn, typ int, data []byte) {
	t.Helper()
	if err := c.WriteMessage(typ, data); err != nil {
		t.Fatal(err)
	}
	gotTyp, got, err := c.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	if gotTyp != typ || !bytes.Equal(got, data) {
		t.Fatalf("echo of %d bytes differs (got %d)", len(data), len(got))
	}
}

// TestPipelineWithABadRequestLast: the self-test page and an unknown path
// are answered before the 400 that follows them.
func TestPipelineWithABadRequestLast(t *testing.T) {
	_, addr := start(t)
	servertest.PipelinedThenBad(t, addr, []string{"/page", "/nope", "/page"}, []int{200, 404, 200})
}
