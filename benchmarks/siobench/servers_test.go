package siobench

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	zsocket "github.com/zishang520/socket.io/v2/socket"

	"github.com/gnetty/gnetty/bootstrap"
	"github.com/gnetty/gnetty/preset/socketio"
)

// serveGnetty runs the gnetty side: the same three events as the Node
// script.
func serveGnetty(addr string) error {
	delay, _ := time.ParseDuration(os.Getenv("SIOB_WRITE_DELAY"))
	srv, err := socketio.New(socketio.Config{
		WriteDelay: delay,
		Addrs:      []string{addr},
		Logger:     slog.New(slog.DiscardHandler),
		Server:     bootstrap.Config{Workers: 1},
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

// serveZishang runs github.com/zishang520/socket.io (a Go port of the
// Node server, on net/http with a goroutine per connection) with the
// same events.
func serveZishang(addr string) error {
	io := zsocket.NewServer(nil, nil)
	io.On("connection", func(clients ...any) {
		client := clients[0].(*zsocket.Socket)
		client.On("echo", func(args ...any) {
			if ack, ok := args[len(args)-1].(zsocket.Ack); ok {
				ack(args[:len(args)-1], nil)
			}
		})
		client.On("join", func(args ...any) {
			room, _ := args[0].(string)
			client.Join(zsocket.Room(room))
			if ack, ok := args[len(args)-1].(zsocket.Ack); ok {
				ack([]any{"ok"}, nil)
			}
		})
		client.On("pub", func(args ...any) {
			m, _ := args[0].(map[string]any)
			room, _ := m["room"].(string)
			_ = io.To(zsocket.Room(room)).Emit("msg", m)
		})
	})
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", io.ServeHandler(nil))
	hs := &http.Server{Addr: addr, Handler: mux}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		_ = hs.Close()
	}()
	if err := hs.ListenAndServe(); err != http.ErrServerClosed {
		return err
	}
	return nil
}
