package siobench

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/gnetty/gnetty/bootstrap"
	"github.com/gnetty/gnetty/preset/socketio"
)

// serveGnetty runs the gnetty side: the same three events as the Node
// script.
func serveGnetty(addr string) error {
	srv, err := socketio.New(socketio.Config{
		Addrs:  []string{addr},
		Logger: slog.New(slog.DiscardHandler),
		Server: bootstrap.Config{Workers: 1},
	})
	if err != nil {
		return err
	}
	root := srv.Of("/")
	root.OnConnection(func(s *socketio.Socket) {
		s.On("echo", func(s *socketio.Socket, e *socketio.Event) { _ = e.Ack(e.Args.Values()...) })
		s.On("join", func(s *socketio.Socket, e *socketio.Event) {
			room, _ := e.Args.String(0)
			s.Join(room)
			_ = e.Ack("ok")
		})
		s.On("pub", func(s *socketio.Socket, e *socketio.Event) {
			var m struct {
				Room string `json:"room"`
			}
			_ = e.Args.Decode(0, &m)
			_ = root.To(m.Room).Emit("msg", e.Args.Values()[0])
		})
	})
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return srv.Serve(ctx)
}
