package crossnode

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gobwas/ws"

	"github.com/gnetty/gnetty/bootstrap"
	"github.com/gnetty/gnetty/codec/http1"
	"github.com/gnetty/gnetty/handler/ws/upgrade"
	"github.com/gnetty/gnetty/layer"
	gws "github.com/gnetty/gnetty/preset/websocket"
)

// serve runs one node: members at /room/<n> join the room's group in the
// layer (Redis when url is set, else local), a publisher at /pub/<n>
// sends each message it gets to the room's group.
func serve(name, addr, url string, cluster bool) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	var l layer.Layer = layer.NewLocal()
	if url != "" {
		c, err := layer.DialRedis(url, cluster)
		if err != nil {
			return err
		}
		defer c.Close()
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		rl, err := layer.NewRedis(cctx, layer.RedisConfig{Client: c, Node: name, Logger: slog.New(slog.DiscardHandler)})
		cancel()
		if err != nil {
			return err
		}
		defer rl.Close()
		l = rl
	}
	member := gws.Funcs{
		// Joining may subscribe through Redis (a network round trip): off
		// the event loop.
		Open: func(c *gws.Conn) {
			l.Register(c.Channel())
			room := c.Handshake().Param("room")
			go func() { _ = l.GroupAdd(room, c.Channel()) }()
		},
		Close: func(c *gws.Conn, _ ws.StatusCode, _ string) {
			room := c.Handshake().Param("room")
			go func() { _ = l.GroupDiscard(room, c.Channel()) }()
		},
	}
	pub := gws.Funcs{Message: func(c *gws.Conn, typ gws.MessageType, data []byte) {
		_ = l.GroupSend(c.Handshake().Param("room"), layer.Message{Text: typ == gws.Text, Data: data})
	}}
	s, err := gws.New(gws.Config{
		Addrs:   []string{addr},
		Routes:  map[string]gws.Handler{"/room/{room}": member, "/pub/{room}": pub},
		Upgrade: upgrade.Config{CheckOrigin: func(string, *http1.Request) bool { return true }},
		Server:  bootstrap.Config{Workers: 1, Logger: slog.New(slog.DiscardHandler)},
	})
	if err != nil {
		return err
	}
	return s.Serve(ctx)
}
