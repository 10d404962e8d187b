// Package idle fires user events when a channel has not read, written, or
// done either for a while: Netty's IdleStateHandler.
//
//	p.AddLast(idle.Name, idle.New(idle.Config{ReaderIdle: 60 * time.Second}))
//
// Then a handler further on takes *idle.Event:
//
//	func (h *app) HandleUserEvent(ctx *pipeline.Context, ev any) {
//		if e, ok := ev.(idle.Event); ok && e.State == idle.ReaderIdle {
//			ctx.Close()
//		}
//	}
//
// | Config     | Event fires when nothing has been...                   |
// |------------|--------------------------------------------------------|
// | ReaderIdle | read for that long (counted from the end of the last read) |
// | WriterIdle | flushed to the transport for that long                 |
// | AllIdle    | read or flushed for that long                          |
//
// 0 disables a kind. While the channel stays idle the event repeats every
// period; First is true for the first event after activity. Timers run on
// the channel's loop clock (EventLoop.Now), so tests drive them with a
// fake clock.
//
// # Concurrency
//
// One Handler per channel; its methods run on the channel's loop.
package idle
