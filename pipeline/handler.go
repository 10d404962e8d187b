package pipeline

// A handler is any value that implements one or more of the event
// interfaces below. Adding it to a Pipeline type-asserts it once and records
// which events it takes; every other event passes it by at no cost. A
// handler that implements none of them is rejected with ErrNotHandler.
//
// Inbound events (from the network towards the application) travel from
// the head of the pipeline to its tail; outbound operations (from the
// application towards the network) travel from the tail to the head. A
// handler passes an event on with the matching Context method (FireRead,
// Write, ...); one that does not, ends it there.
//
// Every method runs on the channel's event loop, one at a time, so a
// handler that belongs to one channel needs no locks. A handler value added
// to several channels' pipelines is called from several loops at once and
// must then be stateless or synchronised.
//
// A panic in a handler is recovered by the channel: it is reported as a
// *PanicError to the error handlers and closes that channel only, the way
// net/http recovers a panicking handler and closes its connection.
type Handler = any

// ReadHandler takes inbound messages. Bytes received from the network
// arrive as *Bytes, valid only until HandleRead returns.
type ReadHandler interface{ HandleRead(ctx *Context, msg any) }

// ReadCompleteHandler is told when the transport has delivered everything
// it read in one go (Netty's channelReadComplete): the place to flush.
type ReadCompleteHandler interface{ HandleReadComplete(ctx *Context) }

// ActiveHandler is told when the channel is connected.
type ActiveHandler interface{ HandleActive(ctx *Context) }

// InactiveHandler is told when the channel has closed.
type InactiveHandler interface{ HandleInactive(ctx *Context) }

// UserEventHandler takes user events: idle state, handshake complete,
// ShutdownEvent and anything an application fires.
type UserEventHandler interface{ HandleUserEvent(ctx *Context, ev any) }

// ErrorHandler takes errors raised by handlers before it.
type ErrorHandler interface{ HandleError(ctx *Context, err error) }

// WritabilityHandler is told when the channel's outbound buffer crossed a
// water mark: IsWritable turned false above the high mark, true again below
// the low one.
type WritabilityHandler interface {
	HandleWritabilityChanged(ctx *Context, writable bool)
}

// WriteHandler takes outbound messages.
type WriteHandler interface{ HandleWrite(ctx *Context, msg any) }

// FlushHandler takes outbound flush requests.
type FlushHandler interface{ HandleFlush(ctx *Context) }

// CloseHandler takes outbound close requests.
type CloseHandler interface{ HandleClose(ctx *Context) }

// AddedHandler is told once the handler has been linked into a pipeline.
type AddedHandler interface{ HandlerAdded(ctx *Context) }

// RemovedHandler is told once the handler has been unlinked from its
// pipeline (by Remove, Replace, or because the channel closed). A decoder
// passes the bytes it still holds to the next handler here.
type RemovedHandler interface{ HandlerRemoved(ctx *Context) }

// The Func adapters below are one per single-method interface, as
// net/http's HandlerFunc is: alike by design, each a type of its own.

// ReadFunc adapts a function to a ReadHandler.
type ReadFunc func(ctx *Context, msg any)

// HandleRead calls f(ctx, msg).
func (f ReadFunc) HandleRead(ctx *Context, msg any) { f(ctx, msg) }

// WriteFunc adapts a function to a WriteHandler.
type WriteFunc func(ctx *Context, msg any)

// HandleWrite calls f(ctx, msg).
func (f WriteFunc) HandleWrite(ctx *Context, msg any) { f(ctx, msg) }

// UserEventFunc adapts a function to a UserEventHandler.
type UserEventFunc func(ctx *Context, ev any)

// HandleUserEvent calls f(ctx, ev).
func (f UserEventFunc) HandleUserEvent(ctx *Context, ev any) { f(ctx, ev) }

// ErrorFunc adapts a function to an ErrorHandler.
type ErrorFunc func(ctx *Context, err error)

// HandleError calls f(ctx, err).
func (f ErrorFunc) HandleError(ctx *Context, err error) { f(ctx, err) }

// ActiveFunc adapts a function to an ActiveHandler.
type ActiveFunc func(ctx *Context)

// HandleActive calls f(ctx).
func (f ActiveFunc) HandleActive(ctx *Context) { f(ctx) }

// InactiveFunc adapts a function to an InactiveHandler.
type InactiveFunc func(ctx *Context)

// HandleInactive calls f(ctx).
func (f InactiveFunc) HandleInactive(ctx *Context) { f(ctx) }

// ReadCompleteFunc adapts a function to a ReadCompleteHandler.
type ReadCompleteFunc func(ctx *Context)

// HandleReadComplete calls f(ctx).
func (f ReadCompleteFunc) HandleReadComplete(ctx *Context) { f(ctx) }

// WritabilityFunc adapts a function to a WritabilityHandler.
type WritabilityFunc func(ctx *Context, writable bool)

// HandleWritabilityChanged calls f(ctx, writable).
func (f WritabilityFunc) HandleWritabilityChanged(ctx *Context, writable bool) { f(ctx, writable) }

// FlushFunc adapts a function to a FlushHandler.
type FlushFunc func(ctx *Context)

// HandleFlush calls f(ctx).
func (f FlushFunc) HandleFlush(ctx *Context) { f(ctx) }

// CloseFunc adapts a function to a CloseHandler.
type CloseFunc func(ctx *Context)

// HandleClose calls f(ctx).
func (f CloseFunc) HandleClose(ctx *Context) { f(ctx) }

// AddedFunc adapts a function to an AddedHandler.
type AddedFunc func(ctx *Context)

// HandlerAdded calls f(ctx).
func (f AddedFunc) HandlerAdded(ctx *Context) { f(ctx) }

// RemovedFunc adapts a function to a RemovedHandler.
type RemovedFunc func(ctx *Context)

// HandlerRemoved calls f(ctx).
func (f RemovedFunc) HandlerRemoved(ctx *Context) { f(ctx) }

// event masks: which events a context takes.
const (
	maskRead uint16 = 1 << iota
	maskReadComplete
	maskActive
	maskInactive
	maskUserEvent
	maskError
	maskWritability
	maskWrite
	maskFlush
	maskClose

	maskInbound  = maskRead | maskReadComplete | maskActive | maskInactive | maskUserEvent | maskError | maskWritability
	maskOutbound = maskWrite | maskFlush | maskClose
)

// MessageHandler takes inbound messages of one type T. Wrap it with
// Inbound (or embed an Inbound in it) to add it to a pipeline.
type MessageHandler[T any] interface{ HandleMessage(ctx *Context, msg T) }

// Inbound is Netty's SimpleChannelInboundHandler<T> done with generics:
// its HandleRead gives the messages that are a T to the MessageHandler and
// passes every other message on to the next handler, untouched. The
// "type-assert the message, else pass it on" opening is written here once.
//
// Embed it in a handler struct and set it in the constructor, so the
// struct keeps its other event methods and is added as itself:
//
//	type Router struct {
//		pipeline.Inbound[*http1.Request]
//		...
//	}
//
//	func New() *Router {
//		r := &Router{}
//		r.Inbound = pipeline.InboundOf[*http1.Request](r) // r.HandleMessage
//		return r
//	}
//
// The zero Inbound passes everything on. For a plain function there is
// MessageFunc. Like every handler method, HandleRead runs on the channel's
// event loop.
type Inbound[T any] struct{ h MessageHandler[T] }

// InboundOf returns the Inbound that hands messages of type T to h.
func InboundOf[T any](h MessageHandler[T]) Inbound[T] { return Inbound[T]{h: h} }

// HandleRead gives msg to the MessageHandler if it is a T, and passes it
// on otherwise.
func (in Inbound[T]) HandleRead(ctx *Context, msg any) {
	if m, ok := msg.(T); ok && in.h != nil {
		in.h.HandleMessage(ctx, m)
		return
	}
	ctx.FireRead(msg)
}

// MessageFunc adapts a function over messages of type T to a handler:
// messages of another type pass on untouched.
//
//	p.AddLast("app", pipeline.MessageFunc[*http1.Request](func(ctx *pipeline.Context, req *http1.Request) { ... }))
type MessageFunc[T any] func(ctx *Context, msg T)

// HandleMessage calls f(ctx, msg).
func (f MessageFunc[T]) HandleMessage(ctx *Context, msg T) { f(ctx, msg) }

// HandleRead calls f with msg if it is a T, and passes it on otherwise.
func (f MessageFunc[T]) HandleRead(ctx *Context, msg any) {
	if m, ok := msg.(T); ok {
		f(ctx, m)
		return
	}
	ctx.FireRead(msg)
}
