package websocket_test

import (
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
	gorilla "github.com/gorilla/websocket"

	"github.com/gnetty/gnetty/bootstrap"
	"github.com/gnetty/gnetty/codec/http1"
	"github.com/gnetty/gnetty/handler/http/router"
	"github.com/gnetty/gnetty/handler/ws/upgrade"
	"github.com/gnetty/gnetty/internal/servertest"
	"github.com/gnetty/gnetty/pipeline"
	gws "github.com/gnetty/gnetty/preset/websocket"
)

type closed struct {
	room string
	code ws.StatusCode
}

func TestRoomsBroadcastAndCloseCodes(t *testing.T) {
	rooms := map[string]*gws.Group{}
	var mu sync.Mutex
	closes := make(chan closed, 100)
	opened := make(chan *gws.Conn, 100)
	chat := gws.Funcs{
		Open: func(c *gws.Conn) {
			mu.Lock()
			g := rooms[c.Handshake().Param("room")]
			if g == nil {
				g = gws.NewGroup()
				rooms[c.Handshake().Param("room")] = g
			}
			mu.Unlock()
			g.Add(c)
			opened <- c
		},
		Message: func(c *gws.Conn, typ gws.MessageType, data []byte) {
			mu.Lock()
			g := rooms[c.Handshake().Param("room")]
			mu.Unlock()
			g.Broadcast(typ, data)
		},
		Close: func(c *gws.Conn, code ws.StatusCode, reason string) {
			mu.Lock()
			rooms[c.Handshake().Param("room")].Remove(c)
			mu.Unlock()
			closes <- closed{room: c.Handshake().Param("room"), code: code}
		},
	}
	s, err := gws.New(gws.Config{
		Addrs:   []string{"127.0.0.1:0"},
		Routes:  map[string]gws.Handler{"/ws/chat/{room}": chat},
		Upgrade: upgrade.Config{CheckOrigin: func(string, *http1.Request) bool { return true }},
		HTTP: func(r *router.Router) error {
			return r.Handle("GET", "/healthz", func(ctx *pipeline.Context, req *http1.Request) {
				router.Reply(ctx, req, 200, "text/plain", []byte("ok"))
			})
		},
		Server: bootstrap.Config{Workers: 2, Logger: slog.New(slog.DiscardHandler)},
	})
	run(t, s, err)
	addr := s.Addrs()[0].String()
	dial := func(room string) *gorilla.Conn {
		c, _, err := gorilla.DefaultDialer.Dial("ws://"+addr+"/ws/chat/"+room, nil)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		<-opened
		return c
	}
	var kitchen []*gorilla.Conn
	for range 20 {
		kitchen = append(kitchen, dial("kitchen"))
	}
	garden := dial("garden")
	if err := kitchen[0].WriteMessage(gorilla.TextMessage, []byte("dinner!")); err != nil {
		t.Fatal(err)
	}
	for i, c := range kitchen {
		if _, msg, err := c.ReadMessage(); err != nil || string(msg) != "dinner!" {
			t.Fatalf("kitchen member %d: %q %v", i, msg, err)
		}
	}
	_ = garden.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if _, msg, err := garden.ReadMessage(); err == nil {
		t.Fatalf("garden got a kitchen message %q", msg)
	}
	if s.Conns() != 21 {
		t.Fatalf("Conns = %d", s.Conns())
	}

	kitchen[1].WriteControl(gorilla.CloseMessage, gorilla.FormatCloseMessage(4005, "leaving"), time.Now().Add(time.Second))
	kitchen[1].ReadMessage()
	select {
	case c := <-closes:
		if c.room != "kitchen" || c.code != 4005 {
			t.Fatalf("OnClose %+v", c)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("OnClose not called")
	}
	kitchen[2].Close() // abrupt: no close frame
	select {
	case c := <-closes:
		if c.code != ws.StatusAbnormalClosure {
			t.Fatalf("abrupt close reported %d", c.code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("OnClose not called for an abrupt close")
	}
}

func TestConnWritesFromGoroutinesInOrder(t *testing.T) {
	got := make(chan *gws.Conn, 1)
	s, err := gws.New(gws.Config{
		Addrs:   []string{"127.0.0.1:0"},
		Routes:  map[string]gws.Handler{"/": gws.Funcs{Open: func(c *gws.Conn) { got <- c }}},
		Upgrade: upgrade.Config{CheckOrigin: func(string, *http1.Request) bool { return true }},
		Server:  bootstrap.Config{Workers: 1, Logger: slog.New(slog.DiscardHandler)},
	})
	run(t, s, err)
	c, _, err := gorilla.DefaultDialer.Dial("ws://"+s.Addrs()[0].String()+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	conn := <-got
	go func() {
		for i := range 1000 {
			if i%2 == 0 {
				_ = conn.WriteText(fmt.Sprint(i))
			} else {
				_ = conn.WriteBinary([]byte(fmt.Sprint(i)))
			}
		}
		conn.Close(ws.StatusNormalClosure, "done")
	}()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for i := range 1000 {
		typ, msg, err := c.ReadMessage()
		wantTyp := gorilla.TextMessage
		if i%2 == 1 {
			wantTyp = gorilla.BinaryMessage
		}
		if err != nil || string(msg) != fmt.Sprint(i) || typ != wantTyp {
			t.Fatalf("message %d: %d %q %v", i, typ, msg, err)
		}
	}
	_, _, err = c.ReadMessage()
	if ce, ok := err.(*gorilla.CloseError); !ok || ce.Code != 1000 || ce.Text != "done" {
		t.Fatalf("close: %v", err)
	}
	if err := conn.WriteText("late"); err != nil && err != gws.ErrClosed {
		t.Fatalf("write after close: %v", err)
	}
}

// run starts s (built with err) and shuts it down at the end of the test.
func run(t *testing.T, s *gws.Server, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	servertest.Start(t, s)
}
