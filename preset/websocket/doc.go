// Package websocket is the standard WebSocket preset: one call assembles
// the whole chain of the design card on a gnetty server,
//
//	http codec -> aggregator -> idle-state -> [sessions] -> router -> ws handshake
//	  after the upgrade: ws frame codec -> ping/pong keepalive -> your handler
//
// and hands the application a Conn per connection. When Config.Handlers
// is nil, the three after the upgrade are one fused handler in the
// codec's slot (wsframe.Name): codec, keepalive, adapter and Conn in one
// struct, a message handed from the codec to OnMessage by one call, 0
// allocations a message; with Config.Handlers the chain is the general
// one, wsframe.Name -> keepalive.Name -> [your handlers] -> AppName. Both
// behave the same; add handlers through Config.Handlers, not at run time.
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
//
// # Dialling
//
// Dial is the client side: it opens a ws:// or wss:// connection on
// gnet's client event loops (bootstrap.DefaultClient, or DialConfig.Client) and
// hands the same Handler and Conn to the application:
//
//	c, hs, err := websocket.Dial(ctx, "wss://example.com/chat", websocket.DialConfig{
//		Handler:      websocket.Funcs{Message: onMessage},
//		Subprotocols: []string{"chat.v1"},
//		Compression:  true,
//	})
//	err = c.WriteText("hello")
//
// The client chain is
//
//	[tlsh, wss://] -> http1 client codec -> ws handshaker
//	  after the 101: ws frame codec (client: masked) -> keepalive -> your handler
//
// and, as on the server, the three after the 101 are one fused handler
// when DialConfig.Handlers is nil.
//
// A refused handshake is an *upgrade.HandshakeError with the server's
// status, header and the start of its body; hs carries the server's 101,
// the subprotocol and the compression agreed. The client answers pings,
// sends its own (PingInterval), and with DialConfig.Reconnect dials again
// with backoff and jitter after a lost connection. An idle client
// connection holds no goroutine: it is a socket on an event loop.
package websocket
