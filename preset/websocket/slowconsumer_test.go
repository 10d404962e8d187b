package websocket_test

import (
	"bytes"
	"log/slog"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/gobwas/ws"
	gorilla "github.com/gorilla/websocket"

	"github.com/gnetty/gnetty/bootstrap"
	"github.com/gnetty/gnetty/codec/http1"
	"github.com/gnetty/gnetty/codec/wsframe"
	"github.com/gnetty/gnetty/handler/ws/slowconsumer"
	"github.com/gnetty/gnetty/handler/ws/upgrade"
	"github.com/gnetty/gnetty/pipeline"
	gws "github.com/gnetty/gnetty/preset/websocket"
)

// A reader that stops reading is disconnected with 1008 once its queue
// passes the limit, while the other member of the group receives every
// message: with the handler added by Config.Handlers, with
// Config.SlowConsumer in a fused connection, and with both.
func TestSlowConsumerIsDroppedOthersKeepReceiving(t *testing.T) {
	for _, way := range []string{"handler", "fused", "config-and-handlers"} {
		t.Run(way, func(t *testing.T) { slowConsumerIsDropped(t, way) })
	}
}

func slowConsumerIsDropped(t *testing.T, way string) {
	stats := &slowconsumer.Stats{}
	room := gws.NewGroup()
	joined := make(chan []string, 2)
	cfg := gws.Config{
		Addrs:   []string{"127.0.0.1:0"},
		Routes:  map[string]gws.Handler{"/": gws.Funcs{Open: func(c *gws.Conn) { room.Add(c); joined <- c.Channel().Pipeline().Names() }, Close: func(c *gws.Conn, _ ws.StatusCode, _ string) { room.Remove(c) }}},
		Upgrade: upgrade.Config{CheckOrigin: func(string, *http1.Request) bool { return true }},
		Server:  bootstrap.Config{Workers: 2, ChannelOptions: bootstrap.ChannelOptions{SocketSendBuffer: 64 << 10}, Logger: slog.New(slog.DiscardHandler)},
	}
	want := []string{wsframe.Name, slowconsumer.Name, "keepalive", gws.AppName}
	switch way {
	case "handler":
		cfg.Handlers = func(p *pipeline.Pipeline, _ *upgrade.Handshake) error {
			return p.AddAfter(wsframe.Name, slowconsumer.Name, slowconsumer.New(slowconsumer.Config{Limit: 1 << 20, Stats: stats}))
		}
	case "fused":
		cfg.SlowConsumer = &slowconsumer.Config{Limit: 1 << 20, Stats: stats}
		want = []string{wsframe.Name}
	default:
		cfg.SlowConsumer = &slowconsumer.Config{Limit: 1 << 20, Stats: stats}
		cfg.Handlers = func(*pipeline.Pipeline, *upgrade.Handshake) error { return nil }
	}
	s, err := gws.New(cfg)
	run(t, s, err)
	addr := s.Addrs()[0].String()
	dialer := gorilla.Dialer{NetDial: func(network, a string) (net.Conn, error) {
		c, err := net.Dial(network, a)
		if err == nil {
			_ = c.(*net.TCPConn).SetReadBuffer(64 << 10)
		}
		return c, err
	}}
	fast, _, err := dialer.Dial("ws://"+addr+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer fast.Close()
	slow, _, err := dialer.Dial("ws://"+addr+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	for range 2 {
		if names := <-joined; !slices.Equal(names, want) {
			t.Fatalf("pipeline %v, want %v", names, want)
		}
	}

	// The broadcaster stays at most `window` messages ahead of the fast
	// reader (256 KiB, far under the 1 MiB limit), however slowly a busy
	// machine runs it; the slow reader reads nothing and passes the limit.
	const n, size, window = 200, 64 << 10, 4
	read := make(chan int, n)
	go func() {
		defer close(read)
		_ = fast.SetReadDeadline(time.Now().Add(60 * time.Second))
		for i := range n {
			if _, _, err := fast.ReadMessage(); err != nil {
				return
			}
			read <- i + 1
		}
	}()
	msg := bytes.Repeat([]byte("m"), size)
	count := 0
	for i := range n {
		for count < i-window+1 {
			c, ok := <-read
			if !ok {
				t.Fatalf("the fast reader stopped after %d of %d messages", count, n)
			}
			count = c
		}
		room.Broadcast(gws.Binary, msg)
	}
	for c := range read {
		count = c
	}
	if count != n {
		t.Fatalf("the fast reader got %d of %d messages", count, n)
	}
	if stats.Disconnected.Load() != 1 {
		t.Fatalf("%d slow consumers disconnected", stats.Disconnected.Load())
	}
	// The slow client, reading now, finds the close frame after what fit.
	_ = slow.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, _, err := slow.ReadMessage()
		if err == nil {
			continue
		}
		ce, ok := err.(*gorilla.CloseError)
		if !ok || ce.Code != gorilla.ClosePolicyViolation {
			t.Fatalf("slow reader ended with %v, want close 1008", err)
		}
		break
	}
}
