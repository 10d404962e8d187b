// Package dispatch routes JSON text messages by an event name to typed
// handlers, the way the Netty IM server routes {"event": ...} to methods
// marked @EventHandler(event, order), but typed and without reflection at
// dispatch time:
//
//	d := dispatch.New(dispatch.Config{Key: "type"})
//	dispatch.On(d, "user", func(c *dispatch.Ctx, m *UserMsg) error { ... })
//	dispatch.On(d, "history", loadHistory, dispatch.OnExecutor(blocking)) // off the loop
//	p.AddLast(dispatch.Name, d)
//
// The key is peeked without decoding the message and without allocating;
// the payload (the whole message) is then decoded into the handler's type
// with jsoniter. Several handlers of one event run in their declared Order;
// a handler returning ErrStop ends the chain quietly.
//
// Every failure is answered to the sender as {"<key>":"error","code":...,
// "msg":...} (or the configured shape), logged, and the connection stays
// open: invalid_json, bad_request (no key), unknown_event, invalid_payload
// (does not fit the type), too_long (over MaxMessageSize), handler_error, a
// panic (internal), busy (executor queue full).
//
// # Concurrency
//
// Register every handler before serving; the Dispatcher then serves every
// channel. Handlers run on the channel's loop, or, for events bound to an
// executor, on its workers in order per channel. Ctx.Reply, Ctx.Send and
// Dispatcher.Send/Broadcast are safe from any goroutine.
package dispatch
