// Command wsecho echoes every WebSocket text and binary message at path /,
// with permessage-deflate offered: the reference target for conformance
// tools such as the Autobahn TestSuite.
//
//	go run ./examples/wsecho -addr 127.0.0.1:9001
package main

import (
	"context"
	"flag"
	"log"
	"os"
	"os/signal"
	"syscall"

	"github.com/gnetty/gnetty/bootstrap"
	"github.com/gnetty/gnetty/codec/http1"
	"github.com/gnetty/gnetty/codec/wsframe"
	"github.com/gnetty/gnetty/handler/wsupgrade"
	"github.com/gnetty/gnetty/preset/websocket"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9001", "listen address")
	flag.Parse()
	srv, err := newServer(*addr, bootstrap.Config{})
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := srv.Serve(ctx); err != nil {
		log.Fatal(err)
	}
}

func newServer(addr string, sc bootstrap.Config) (*websocket.Server, error) {
	echo := websocket.Funcs{
		Message: func(c *websocket.Conn, typ websocket.MessageType, data []byte) {
			if typ == websocket.Text {
				_ = c.WriteText(string(data))
			} else {
				_ = c.WriteBinary(data)
			}
		},
	}
	return websocket.New(websocket.Config{
		Addrs:  []string{addr},
		Routes: map[string]websocket.Handler{"/": echo},
		Upgrade: wsupgrade.Config{
			Compression: true,
			CheckOrigin: func(string, *http1.Request) bool { return true }, // a test target
			Frame:       wsframe.Config{MaxMessageSize: 16 << 20},
		},
		Server: sc,
	})
}
