package pipeline

// Context is a handler's place in one pipeline: it fires events on to the
// next handler and starts outbound operations from this position. It is a
// plain struct owned by the pipeline, not a context.Context; one exists for
// each handler while it is in the pipeline, and a handler may keep it for
// later use on the loop (timers, replies).
//
// # Concurrency
//
// Call Context methods only on the channel's event loop (inside a handler,
// or in a task from EventLoop.Execute/Schedule). From other goroutines use
// the Channel's methods documented as safe for concurrent use.
type Context struct {
	name    string
	handler any
	p       *Pipeline
	prev    *Context
	next    *Context
	mask    uint16
	removed bool

	// Reads keep their interface value; every other event (write and
	// flush, once a write; read complete, once a read; active, inactive,
	// user event, error, writability, close) is asserted from handler when
	// it fires, a cached type assertion of a few nanoseconds. That keeps a
	// context at 80 bytes instead of 224 (and a Channel, which holds the
	// head's and the tail's, at 272): it matters with many idle
	// connections.
	read ReadHandler
}

func newContext(p *Pipeline, name string, h any) *Context {
	c := &Context{name: name, handler: h, p: p}
	if x, ok := h.(ReadHandler); ok {
		c.read, c.mask = x, c.mask|maskRead
	}
	if _, ok := h.(ReadCompleteHandler); ok {
		c.mask |= maskReadComplete
	}
	if _, ok := h.(ActiveHandler); ok {
		c.mask |= maskActive
	}
	if _, ok := h.(InactiveHandler); ok {
		c.mask |= maskInactive
	}
	if _, ok := h.(UserEventHandler); ok {
		c.mask |= maskUserEvent
	}
	if _, ok := h.(ErrorHandler); ok {
		c.mask |= maskError
	}
	if _, ok := h.(WritabilityHandler); ok {
		c.mask |= maskWritability
	}
	if _, ok := h.(WriteHandler); ok {
		c.mask |= maskWrite
	}
	if _, ok := h.(FlushHandler); ok {
		c.mask |= maskFlush
	}
	if _, ok := h.(CloseHandler); ok {
		c.mask |= maskClose
	}
	return c
}

// Name returns the handler's name in the pipeline.
func (c *Context) Name() string { return c.name }

// Handler returns the handler this context belongs to.
func (c *Context) Handler() any { return c.handler }

// Pipeline returns the pipeline.
func (c *Context) Pipeline() *Pipeline { return c.p }

// Channel returns the channel.
func (c *Context) Channel() *Channel { return c.p.ch }

// EventLoop returns the channel's event loop.
func (c *Context) EventLoop() EventLoop { return c.p.ch.tr.EventLoop() }

// IsRemoved reports whether the handler has been removed from the
// pipeline. A decoder checks it after firing each message and stops
// decoding once it is true (the rest of its input then belongs to the
// handler after it).
func (c *Context) IsRemoved() bool { return c.removed }

// Propagation walks the list and skips contexts that do not take the
// event or have been removed. A removed context keeps its links, so an
// event passed on from it reaches its old successor (or its replacement);
// one frame per hop keeps deep pipelines cheap.

// The Fire methods and the outbound ones each walk to the next handler
// that takes their event with a loop of their own: written out, not
// shared through a helper, because this is the hot path and the Go
// compiler inlines neither an interface switch nor a closure here.

// FireRead passes msg to the next ReadHandler.
func (c *Context) FireRead(msg any) {
	n := c.next
	for n.mask&maskRead == 0 || n.removed {
		n = n.next
	}
	n.read.HandleRead(n, msg)
}

// FireReadComplete passes the read-complete event on.
func (c *Context) FireReadComplete() {
	n := c.next
	for n.mask&maskReadComplete == 0 || n.removed {
		n = n.next
	}
	n.handler.(ReadCompleteHandler).HandleReadComplete(n)
}

// FireActive passes the active event on.
func (c *Context) FireActive() {
	n := c.next
	for n.mask&maskActive == 0 || n.removed {
		n = n.next
	}
	n.handler.(ActiveHandler).HandleActive(n)
}

// FireInactive passes the inactive event on.
func (c *Context) FireInactive() {
	n := c.next
	for n.mask&maskInactive == 0 || n.removed {
		n = n.next
	}
	n.handler.(InactiveHandler).HandleInactive(n)
}

// FireUserEvent passes a user event on.
func (c *Context) FireUserEvent(ev any) {
	n := c.next
	for n.mask&maskUserEvent == 0 || n.removed {
		n = n.next
	}
	n.handler.(UserEventHandler).HandleUserEvent(n, ev)
}

// FireError passes err to the next ErrorHandler. A handler raises an error
// this way; an error that reaches the tail is logged and the channel stays
// open.
func (c *Context) FireError(err error) {
	n := c.next
	for n.mask&maskError == 0 || n.removed {
		n = n.next
	}
	n.handler.(ErrorHandler).HandleError(n, err)
}

// FireWritabilityChanged passes the writability event on.
func (c *Context) FireWritabilityChanged(writable bool) {
	n := c.next
	for n.mask&maskWritability == 0 || n.removed {
		n = n.next
	}
	n.handler.(WritabilityHandler).HandleWritabilityChanged(n, writable)
}

// Write passes msg to the WriteHandler before this one (towards the head).
// The message is queued in the channel's outbound batch and nothing is
// sent until a Flush: a Write that no Flush follows sends nothing, and
// nothing says so (pipelinetest.Channel.Finish reports it in tests). Use
// WriteAndFlush for a single reply, or Write each reply and Flush once in
// HandleReadComplete, so that one read's replies go out in one system
// call. Ownership of msg passes to the pipeline: a []byte must not be
// modified after Write.
func (c *Context) Write(msg any) {
	n := c.prev
	for n.mask&maskWrite == 0 || n.removed {
		n = n.prev
	}
	n.handler.(WriteHandler).HandleWrite(n, msg)
}

// Flush asks for everything written so far to be sent. The transport sends
// it at the end of the current loop callback, in one writev.
func (c *Context) Flush() {
	n := c.prev
	for n.mask&maskFlush == 0 || n.removed {
		n = n.prev
	}
	n.handler.(FlushHandler).HandleFlush(n)
}

// Close asks for the channel to be closed from this position. The head
// flushes what was written, waits until the output has drained (bounded by
// the channel's CloseTimeout), then closes the connection.
func (c *Context) Close() {
	n := c.prev
	for n.mask&maskClose == 0 || n.removed {
		n = n.prev
	}
	n.handler.(CloseHandler).HandleClose(n)
}

// WriteAndFlush is Write followed by Flush.
func (c *Context) WriteAndFlush(msg any) {
	c.Write(msg)
	c.Flush()
}
