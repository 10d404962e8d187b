package socketio_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	gorilla "github.com/gorilla/websocket"

	"github.com/gnetty/gnetty/bootstrap"
	"github.com/gnetty/gnetty/preset/socketio"
)

// An echo server with acknowledgements, and a raw Engine.IO WebSocket
// client that shows the packets on the wire (a real application uses
// socket.io-client).
func Example() {
	srv, err := socketio.New(socketio.Config{
		Addrs:  []string{"127.0.0.1:0"},
		Logger: slog.New(slog.DiscardHandler),
		Server: bootstrap.Config{Workers: 1},
	})
	if err != nil {
		panic(err)
	}
	srv.Of("/").OnConnection(func(s *socketio.Socket) {
		s.Join("lobby")
		s.On("echo", func(s *socketio.Socket, e *socketio.Event) {
			_ = e.Ack(e.Args.Values()...)
		})
		s.On("shout", func(s *socketio.Socket, e *socketio.Event) {
			msg, _ := e.Args.String(0)
			_ = s.Namespace().To("lobby").Emit("heard", strings.ToUpper(msg))
		})
	})
	if err := srv.Start(); err != nil {
		panic(err)
	}
	defer srv.Shutdown(context.Background())

	c, _, err := gorilla.DefaultDialer.Dial("ws://"+srv.Addrs()[0].String()+"/socket.io/?EIO=4&transport=websocket", nil)
	if err != nil {
		panic(err)
	}
	defer c.Close()
	read := func() string {
		_, m, err := c.ReadMessage()
		if err != nil {
			panic(err)
		}
		return string(m)
	}
	open := read()
	fmt.Println("open:", open[:1], strings.Contains(open, `"upgrades":[]`))
	_ = c.WriteMessage(gorilla.TextMessage, []byte("40"))
	fmt.Println("connected:", strings.HasPrefix(read(), `40{"sid":"`))
	_ = c.WriteMessage(gorilla.TextMessage, []byte(`421["echo","hi",{"n":1}]`))
	fmt.Println(read())
	_ = c.WriteMessage(gorilla.TextMessage, []byte(`42["shout","hello"]`))
	fmt.Println(read())
	// Output:
	// open: 0 true
	// connected: true
	// 431["hi",{"n":1}]
	// 42["heard","HELLO"]
}
