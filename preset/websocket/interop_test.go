package websocket_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gorilla "github.com/gorilla/websocket"

	"github.com/gnetty/gnetty/handler/ws/upgrade"
	"github.com/gnetty/gnetty/internal/nodetest"
	"github.com/gnetty/gnetty/internal/tlstest"
	gws "github.com/gnetty/gnetty/preset/websocket"
)

// gorillaServer serves the paths of tests/interop/ws_server.mjs with
// gorilla/websocket, and a few refusals and broken answers.
func gorillaServer(t *testing.T, certs *tlstest.Certs) string {
	up := gorilla.Upgrader{EnableCompression: true, Subprotocols: []string{"chat.v1"}, WriteBufferSize: 1024}
	echo := func(c *gorilla.Conn) {
		for {
			typ, data, err := c.ReadMessage()
			if err != nil {
				return
			}
			if err := c.WriteMessage(typ, data); err != nil {
				return
			}
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		if c, err := up.Upgrade(w, r, nil); err == nil {
			defer c.Close()
			echo(c)
		}
	})
	mux.HandleFunc("/protocol", func(w http.ResponseWriter, r *http.Request) {
		if c, err := up.Upgrade(w, r, nil); err == nil {
			defer c.Close()
			_ = c.WriteMessage(gorilla.TextMessage, []byte("protocol "+c.Subprotocol()))
			echo(c)
		}
	})
	mux.HandleFunc("/fragments", func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		for {
			typ, data, err := c.ReadMessage()
			if err != nil {
				return
			}
			// A write buffer of 1 KiB: the message leaves as many frames.
			mw, err := c.NextWriter(typ)
			if err != nil {
				return
			}
			for off := 0; off < len(data); off += 1000 {
				_, _ = mw.Write(data[off:min(off+1000, len(data))])
			}
			if mw.Close() != nil {
				return
			}
		}
	})
	mux.HandleFunc("/ping", func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		var pongs atomic.Int32
		c.SetPongHandler(func(string) error {
			if pongs.Add(1) == 3 {
				return c.WriteMessage(gorilla.TextMessage, []byte("pongs 3"))
			}
			return nil
		})
		for i := range 3 {
			_ = c.WriteControl(gorilla.PingMessage, []byte(fmt.Sprint("p", i)), time.Now().Add(10*time.Second))
		}
		echo(c)
	})
	mux.HandleFunc("/close", func(w http.ResponseWriter, r *http.Request) {
		if c, err := up.Upgrade(w, r, nil); err == nil {
			defer c.Close()
			_ = c.WriteMessage(gorilla.CloseMessage, gorilla.FormatCloseMessage(4000, "bye"))
			echo(c) // until the client's answer
		}
	})
	mux.HandleFunc("/page", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("a plain page")) })
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/echo", http.StatusFound) })
	mux.HandleFunc("/auth", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", "Bearer")
		http.Error(w, "log in first", http.StatusUnauthorized)
	})
	hijack := func(answer func(key string) string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			conn, rw, err := w.(http.Hijacker).Hijack()
			if err != nil {
				return
			}
			defer conn.Close()
			_, _ = rw.WriteString(answer(r.Header.Get("Sec-WebSocket-Key")))
			_ = rw.Flush()
			_, _ = rw.ReadByte() // until the client gives up
		}
	}
	mux.HandleFunc("/bad-accept", hijack(func(string) string {
		return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
	}))
	mux.HandleFunc("/unoffered", hijack(func(key string) string {
		return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
			upgrade.AcceptKey([]byte(key)) + "\r\nSec-WebSocket-Protocol: chat.v9\r\n\r\n"
	}))
	srv := httptest.NewUnstartedServer(mux)
	if certs != nil {
		srv.TLS = certs.ServerConfig()
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// nodeServer starts tests/interop/ws_server.mjs.
func nodeServer(t *testing.T, certs *tlstest.Certs) string {
	var env []string
	if certs != nil {
		env = []string{"CERT=" + certs.CertFile, "KEY=" + certs.KeyFile}
	}
	res := nodetest.Start(t, "ws_server.mjs", env...)
	return fmt.Sprintf("127.0.0.1:%v", res["port"])
}

// TestInteropServers runs Dial against gorilla/websocket and Node's ws,
// over ws:// and wss:// (a test CA), with and without permessage-deflate.
func TestInteropServers(t *testing.T) {
	certs := tlstest.New(t)
	for _, server := range []struct {
		name  string
		start func(*testing.T, *tlstest.Certs) string
	}{{"gorilla", gorillaServer}, {"node ws", nodeServer}} {
		for _, secure := range []bool{false, true} {
			var c *tlstest.Certs
			scheme := "ws"
			if secure {
				c, scheme = certs, "wss"
			}
			base := scheme + "://" + server.start(t, c)
			for _, compress := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s %s compression %v", server.name, scheme, compress), func(t *testing.T) {
					cfg := gws.DialConfig{Compression: compress, ContextTakeover: true}
					if secure {
						cfg.TLS = certs.ClientConfig()
					}
					exercise(t, base, cfg)
				})
			}
		}
	}
}

func exercise(t *testing.T, base string, cfg gws.DialConfig) {
	dial := func(path string, protocols ...string) (*gws.Conn, *upgrade.ClientHandshake, *inbox) {
		t.Helper()
		b := newInbox()
		cfg := cfg
		cfg.Handler, cfg.Subprotocols = b, protocols
		c, hs, err := gws.Dial(context.Background(), base+path, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if hs.Compressed != cfg.Compression {
			t.Fatalf("compressed %v: %v", hs.Compressed, hs.Response.Header)
		}
		return c, hs, b
	}

	// Echo: text, binary, 1 MiB, and a stream of similar messages (which
	// context takeover compresses across messages), in order; then a
	// close the client starts.
	c, hs, b := dial("/protocol", "chat.v2", "chat.v1")
	if hs.Subprotocol != "chat.v1" {
		t.Fatalf("subprotocol %q", hs.Subprotocol)
	}
	want := []string{"1:protocol chat.v1", "1:hello", "2:\x00\x01\x02\xfa", "1:" + strings.Repeat("x", 1<<20)}
	_ = c.WriteText("hello")
	_ = c.WriteBinary([]byte{0, 1, 2, 250})
	_ = c.WriteText(strings.Repeat("x", 1<<20))
	for i := range 50 {
		m := fmt.Sprintf(`{"type":"message","room":"general","id":%d,"text":"see you at noon in the usual room"}`, i)
		want = append(want, "1:"+m)
		_ = c.WriteText(m)
	}
	b.wait(t, "the echoes", func() bool { return len(b.msgs) >= len(want) })
	for i := range want {
		if b.msgs[i] != want[i] {
			t.Fatalf("message %d: %.80q, want %.80q", i, b.msgs[i], want[i])
		}
	}
	c.Close(gws.StatusNormalClosure, "done")
	b.wait(t, "the close", func() bool { return len(b.closes) == 1 })
	if !strings.HasPrefix(b.closes[0], "1000") {
		t.Fatalf("closed %q", b.closes)
	}

	// Fragmented messages from the server, reassembled.
	c, _, b = dial("/fragments")
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	_ = c.WriteBinary(big)
	b.wait(t, "the fragmented echo", func() bool { return len(b.msgs) == 1 })
	if b.msgs[0] != "2:"+string(big) {
		t.Fatalf("reassembled %d bytes", len(b.msgs[0]))
	}
	c.Close(gws.StatusNormalClosure, "")

	// The server's pings are answered.
	_, _, b = dial("/ping")
	b.wait(t, "the server to count the pongs", func() bool { return len(b.msgs) == 1 })
	if b.msgs[0] != "1:pongs 3" {
		t.Fatalf("%q", b.msgs)
	}

	// A close the server starts.
	_, _, b = dial("/close")
	b.wait(t, "the server's close", func() bool { return len(b.closes) == 1 })
	if b.closes[0] != "4000 bye" {
		t.Fatalf("closed %q", b.closes)
	}
}

// Refusals and broken answers from a gorilla/net/http server end Dial
// with a HandshakeError that says why.
func TestInteropRefusals(t *testing.T) {
	base := "ws://" + gorillaServer(t, nil)
	for _, tc := range []struct {
		path, protocol string
		status         int
		reason, body   string
	}{
		{path: "/page", status: 200, reason: "OK", body: "a plain page"},
		{path: "/redirect", status: 302, reason: "Found to /echo"},
		{path: "/auth", status: 401, reason: "Unauthorized", body: "log in first"},
		{path: "/nowhere", status: 404, body: "404 page not found"},
		{path: "/bad-accept", status: 101, reason: "wrong Sec-WebSocket-Accept"},
		{path: "/unoffered", protocol: "chat.v1", status: 101, reason: "a subprotocol not offered: chat.v9"},
		{path: "/unoffered", status: 101, reason: "a subprotocol not offered: chat.v9"},
	} {
		var protocols []string
		if tc.protocol != "" {
			protocols = []string{tc.protocol}
		}
		_, _, err := gws.Dial(context.Background(), base+tc.path, gws.DialConfig{Subprotocols: protocols})
		var he *upgrade.HandshakeError
		if !errors.As(err, &he) || he.Status != tc.status || !strings.Contains(he.Reason, tc.reason) || !strings.Contains(string(he.Body), tc.body) {
			t.Errorf("%s: %v (body %q)", tc.path, err, func() []byte {
				if he != nil {
					return he.Body
				}
				return nil
			}())
		}
		if tc.status == 401 && he != nil && he.Header.Get("WWW-Authenticate") != "Bearer" {
			t.Errorf("401 header %v", he.Header)
		}
	}
	// Nothing listening.
	if _, _, err := gws.Dial(context.Background(), "ws://"+closedAddr(t)+"/", gws.DialConfig{}); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("no server: %v", err)
	}
	// A server that accepts and never answers: the handshake times out.
	_, _, err := gws.Dial(context.Background(), "ws://"+silentServer(t)+"/", gws.DialConfig{HandshakeTimeout: 300 * time.Millisecond})
	var he *upgrade.HandshakeError
	if err == nil || !(errors.As(err, &he) && strings.Contains(he.Reason, "no answer") || errors.Is(err, context.DeadlineExceeded)) {
		t.Fatalf("a silent server: %v", err)
	}
}

// silentServer accepts connections, reads, and never answers.
func silentServer(t *testing.T) string {
	srv := httptest.NewUnstartedServer(nil)
	l := srv.Listener
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = bufio.NewReader(c).ReadString(0)
			}()
		}
	}()
	return l.Addr().String()
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	srv := httptest.NewUnstartedServer(nil)
	addr := srv.Listener.Addr().String()
	srv.Listener.Close()
	return addr
}
