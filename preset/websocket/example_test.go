package websocket_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/gnetty/gnetty/bootstrap"
	"github.com/gnetty/gnetty/preset/websocket"
)

// An echo server on a free port in one call, and a client (gobwas/ws)
// that sends two messages and closes.
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

	conn, br, _, err := ws.Dial(context.Background(), "ws://"+srv.Addrs()[0].String()+"/echo")
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	var rw io.ReadWriter = conn
	if br != nil { // frames that came with the handshake response
		rw = struct {
			io.Reader
			io.Writer
		}{io.MultiReader(br, conn), conn}
	}
	read := func() {
		msg, op, err := wsutil.ReadServerData(rw)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s %q\n", map[ws.OpCode]string{ws.OpText: "text", ws.OpBinary: "binary"}[op], msg)
	}
	read()
	_ = wsutil.WriteClientText(conn, []byte("hello"))
	read()
	_ = wsutil.WriteClientBinary(conn, []byte{1, 2, 3})
	read()
	_ = wsutil.WriteClientMessage(conn, ws.OpClose, ws.NewCloseFrameBody(ws.StatusNormalClosure, "bye"))
	_, _, err = wsutil.ReadServerData(rw)
	fmt.Println("closed:", strings.Contains(fmt.Sprint(err), "1000"))
	// Output:
	// text "welcome to /echo"
	// text "hello"
	// binary "\x01\x02\x03"
	// closed: true
}
