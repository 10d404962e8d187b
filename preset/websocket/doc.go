// Package websocket is the standard WebSocket preset: one call assembles
// the whole chain of the design card on a gnetty server,
//
//	http codec -> aggregator -> idle-state -> [sessions] -> router -> ws handshake
//	  after the upgrade: ws frame codec -> ping/pong keepalive -> your handler
//
// and hands the application a Conn per connection:
//
//	srv, err := websocket.New(websocket.Config{
//		Addrs:  []string{"127.0.0.1:9001"},
//		Routes: map[string]websocket.Handler{"/": echo},
//	})
//	err = srv.Serve(ctx)
//
// Conn's WriteText, WriteBinary, WritePrepared and Close are safe from any
// goroutine. Group broadcasts a message to many connections, encoding it
// once. A graceful shutdown sends close 1001 to every connection and waits
// for the close handshakes.
package websocket
