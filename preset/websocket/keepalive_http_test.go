package websocket_test

import (
	"bufio"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/gnetty/gnetty/bootstrap"
	"github.com/gnetty/gnetty/codec/http1"
	"github.com/gnetty/gnetty/handler/http/router"
	"github.com/gnetty/gnetty/internal/servertest"
	"github.com/gnetty/gnetty/pipeline"
	gws "github.com/gnetty/gnetty/preset/websocket"
)

// TestKeepAliveOutlivesTheHandshakeTimeout: the preset's handshake timeout
// is a read timeout, so a keep-alive client that sends a request every
// 200 ms keeps one connection for 2.5 times the timeout; once it stops,
// the connection is closed.
func TestKeepAliveOutlivesTheHandshakeTimeout(t *testing.T) {
	const timeout = 2 * time.Second
	s, err := gws.New(gws.Config{
		Addrs:            []string{"127.0.0.1:0"},
		HandshakeTimeout: timeout,
		HTTP: func(r *router.Router) error {
			return r.Handle("GET", "/ping", func(ctx *pipeline.Context, req *http1.Request) {
				router.Reply(ctx, req, 200, "text/plain", []byte("pong"))
			})
		},
		Server: bootstrap.Config{Workers: 1, Logger: slog.New(slog.DiscardHandler)},
	})
	if err != nil {
		t.Fatal(err)
	}
	addr := servertest.Start(t, s)
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	start := time.Now()
	for i := 0; time.Since(start) < timeout*5/2; i++ {
		if _, err := c.Write([]byte("GET /ping HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
			t.Fatalf("request %d after %v: %v", i, time.Since(start), err)
		}
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("request %d after %v: %v %v", i, time.Since(start), resp, err)
		}
		resp.Body.Close()
		time.Sleep(200 * time.Millisecond) // the client's pace, not a wait for the server
	}
	// Idle now: the server closes within the timeout (bounded generously).
	_ = c.SetReadDeadline(time.Now().Add(timeout + 10*time.Second))
	if _, err := br.ReadByte(); err == nil {
		t.Fatal("the server sent bytes to an idle connection")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("an idle keep-alive connection was never closed")
	}
}
