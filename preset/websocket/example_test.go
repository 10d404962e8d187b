package websocket_test

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/gnetty/gnetty/bootstrap"
	"github.com/gnetty/gnetty/preset/websocket"
)

// An echo server on a free port in one call, and a client (Dial) that
// sends two messages and closes.
func Example() {
	echo := websocket.Funcs{
		Open: func(c *websocket.Conn) { _ = c.WriteText("welcome to " + c.Handshake().Path) },
		Message: func(c *websocket.Conn, typ websocket.MessageType, data []byte) {
			_ = c.WriteMessage(typ, data) // data is valid only until we return; WriteMessage copies
		},
	}
	srv, err := websocket.New(websocket.Config{
		Addrs:  []string{"127.0.0.1:0"},
		Routes: map[string]websocket.Handler{"/echo": echo},
		Server: bootstrap.Config{Workers: 1, Logger: slog.New(slog.DiscardHandler)},
	})
	if err != nil {
		panic(err)
	}
	if err := srv.Start(); err != nil {
		panic(err)
	}
	defer srv.Shutdown(context.Background())

	// The client's callbacks run on its event loop: hand what arrives to
	// this goroutine.
	events := make(chan string, 8)
	c, hs, err := websocket.Dial(context.Background(), "ws://"+srv.Addrs()[0].String()+"/echo", websocket.DialConfig{
		Handler: websocket.Funcs{
			Message: func(c *websocket.Conn, typ websocket.MessageType, data []byte) {
				events <- fmt.Sprintf("%s %q", map[websocket.MessageType]string{websocket.Text: "text", websocket.Binary: "binary"}[typ], data)
			},
			Close: func(c *websocket.Conn, code websocket.StatusCode, reason string) {
				events <- fmt.Sprint("closed: ", code)
			},
		},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println("status:", hs.Response.Status)
	fmt.Println(<-events)
	_ = c.WriteText("hello")
	fmt.Println(<-events)
	_ = c.WriteBinary([]byte{1, 2, 3})
	fmt.Println(<-events)
	c.Close(websocket.StatusNormalClosure, "bye")
	fmt.Println(<-events)
	// Output:
	// status: 101
	// text "welcome to /echo"
	// text "hello"
	// binary "\x01\x02\x03"
	// closed: 1000
}
