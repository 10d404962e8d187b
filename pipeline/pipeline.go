package pipeline

import "fmt"

// Pipeline is a channel's ordered list of named handlers between a fixed
// head (the transport side) and tail (the end of the inbound path).
//
// # Concurrency
//
// Call every Pipeline method only on the channel's event loop: in the
// channel initializer, inside a handler, or in a task on the loop. Changes
// may be made while an event is travelling through the pipeline, from the
// handler that is handling it: an event already past the change point is
// neither lost nor delivered twice, an event passed on from a removed
// handler goes to the handler that followed it, and one passed on from a
// replaced handler goes to its replacement.
type Pipeline struct {
	ch   *Channel
	head Context
	tail Context
}

func (p *Pipeline) init(ch *Channel) {
	p.ch = ch
	p.head = Context{name: "head", p: p, mask: maskOutbound}
	h := headHandler{ch: ch}
	p.head.handler = h
	p.tail = Context{name: "tail", p: p, mask: maskInbound}
	t := tailHandler{ch: ch}
	p.tail.handler = t
	p.tail.read = t
	p.head.next = &p.tail
	p.tail.prev = &p.head
}

// Channel returns the pipeline's channel.
func (p *Pipeline) Channel() *Channel { return p.ch }

func (p *Pipeline) find(name string) *Context {
	for c := p.head.next; c != &p.tail; c = c.next {
		if c.name == name {
			return c
		}
	}
	return nil
}

func (p *Pipeline) newCtx(name string, h any) (*Context, error) {
	if !p.ch.tr.EventLoop().InLoop() {
		return nil, ErrNotInLoop
	}
	if name == "" {
		for i := 0; ; i++ { // the first free "Type#i"
			name = fmt.Sprintf("%T#%d", h, i)
			if p.find(name) == nil {
				break
			}
		}
	} else if p.find(name) != nil {
		return nil, fmt.Errorf("%w: %q", ErrDuplicateName, name)
	}
	c := newContext(p, name, h)
	_, added := h.(AddedHandler)
	_, removed := h.(RemovedHandler)
	if c.mask == 0 && !added && !removed { // lifecycle hooks alone are a handler too
		return nil, fmt.Errorf("%w: %T", ErrNotHandler, h)
	}
	return c, nil
}

func (p *Pipeline) linkAfter(prev, c *Context) {
	c.prev = prev
	c.next = prev.next
	prev.next.prev = c
	prev.next = c
	if a, ok := c.handler.(AddedHandler); ok {
		a.HandlerAdded(c)
	}
}

// AddFirst inserts h right after the head under name ("" generates one).
func (p *Pipeline) AddFirst(name string, h any) error {
	c, err := p.newCtx(name, h)
	if err != nil {
		return err
	}
	p.linkAfter(&p.head, c)
	return nil
}

// AddLast inserts h right before the tail under name ("" generates one).
func (p *Pipeline) AddLast(name string, h any) error {
	c, err := p.newCtx(name, h)
	if err != nil {
		return err
	}
	p.linkAfter(p.tail.prev, c)
	return nil
}

// AddBefore inserts h before the handler named base.
func (p *Pipeline) AddBefore(base, name string, h any) error {
	return p.addBeside(base, name, h, false)
}

// AddAfter inserts h after the handler named base.
func (p *Pipeline) AddAfter(base, name string, h any) error { return p.addBeside(base, name, h, true) }

func (p *Pipeline) addBeside(base, name string, h any, after bool) error {
	b := p.find(base)
	if b == nil {
		return fmt.Errorf("%w: %q", ErrNoSuchHandler, base)
	}
	c, err := p.newCtx(name, h)
	if err != nil {
		return err
	}
	if !after {
		b = b.prev
	}
	p.linkAfter(b, c)
	return nil
}

// Remove unlinks the handler named name and returns it. Its HandlerRemoved
// hook runs before Remove returns.
func (p *Pipeline) Remove(name string) (any, error) {
	if !p.ch.tr.EventLoop().InLoop() {
		return nil, ErrNotInLoop
	}
	c := p.find(name)
	if c == nil {
		return nil, fmt.Errorf("%w: %q", ErrNoSuchHandler, name)
	}
	p.unlink(c)
	return c.handler, nil
}

// unlink takes c out of the list. c keeps its own prev/next so that an
// event travelling through it carries on to its old neighbours.
func (p *Pipeline) unlink(c *Context) {
	c.prev.next = c.next
	c.next.prev = c.prev
	c.removed = true
	if r, ok := c.handler.(RemovedHandler); ok {
		r.HandlerRemoved(c)
	}
}

// Replace puts h, under name ("" keeps the old name), in place of the
// handler named old and returns the old handler. Events the old handler
// passes on after the replacement (a decoder handing over its leftover
// bytes in HandlerRemoved) go to the new handler. The new handler's
// HandlerAdded runs before the old handler's HandlerRemoved.
func (p *Pipeline) Replace(old, name string, h any) (any, error) {
	if !p.ch.tr.EventLoop().InLoop() {
		return nil, ErrNotInLoop
	}
	o := p.find(old)
	if o == nil {
		return nil, fmt.Errorf("%w: %q", ErrNoSuchHandler, old)
	}
	if name == "" {
		name = old
	}
	if name != old && p.find(name) != nil {
		return nil, fmt.Errorf("%w: %q", ErrDuplicateName, name)
	}
	saved := o.name
	o.name = "\x00replaced" // free the name for the new context
	c, err := p.newCtx(name, h)
	if err != nil {
		o.name = saved
		return nil, err
	}
	o.name = saved
	c.prev, c.next = o.prev, o.next
	o.prev.next = c
	o.next.prev = c
	o.prev, o.next = c, c
	o.removed = true
	if a, ok := c.handler.(AddedHandler); ok {
		a.HandlerAdded(c)
	}
	if r, ok := o.handler.(RemovedHandler); ok {
		r.HandlerRemoved(o)
	}
	return o.handler, nil
}

// Get returns the handler named name, or nil.
func (p *Pipeline) Get(name string) any {
	if c := p.find(name); c != nil {
		return c.handler
	}
	return nil
}

// Context returns the context of the handler named name, or nil.
func (p *Pipeline) Context(name string) *Context { return p.find(name) }

// Names returns the handler names from head to tail (head and tail
// excluded).
func (p *Pipeline) Names() []string {
	var names []string
	for c := p.head.next; c != &p.tail; c = c.next {
		names = append(names, c.name)
	}
	return names
}

// removeAll unlinks every handler, tail to head, running RemovedHandler
// hooks. Used when the channel closes.
func (p *Pipeline) removeAll() {
	for c := p.tail.prev; c != &p.head; c = p.tail.prev {
		p.unlink(c)
	}
}

// FireRead starts a read at the head.
func (p *Pipeline) FireRead(msg any) { p.head.FireRead(msg) }

// FireReadComplete starts a read-complete event at the head.
func (p *Pipeline) FireReadComplete() { p.head.FireReadComplete() }

// FireActive starts the active event at the head.
func (p *Pipeline) FireActive() { p.head.FireActive() }

// FireInactive starts the inactive event at the head.
func (p *Pipeline) FireInactive() { p.head.FireInactive() }

// FireUserEvent starts a user event at the head.
func (p *Pipeline) FireUserEvent(ev any) { p.head.FireUserEvent(ev) }

// FireError starts an error event at the head.
func (p *Pipeline) FireError(err error) { p.head.FireError(err) }

// FireWritabilityChanged starts a writability event at the head.
func (p *Pipeline) FireWritabilityChanged(writable bool) { p.head.FireWritabilityChanged(writable) }

// Write starts a write at the tail.
func (p *Pipeline) Write(msg any) { p.tail.Write(msg) }

// Flush starts a flush at the tail.
func (p *Pipeline) Flush() { p.tail.Flush() }

// WriteAndFlush writes msg from the tail and flushes.
func (p *Pipeline) WriteAndFlush(msg any) {
	p.tail.Write(msg)
	p.tail.Flush()
}

// Close starts a close at the tail.
func (p *Pipeline) Close() { p.tail.Close() }

// headHandler hands outbound operations to the transport.
type headHandler struct{ ch *Channel }

func (h headHandler) HandleWrite(_ *Context, msg any) { h.ch.transportWrite(msg) }
func (h headHandler) HandleFlush(_ *Context)          { h.ch.transportFlush() }
func (h headHandler) HandleClose(_ *Context)          { h.ch.closeGracefully() }

// tailHandler ends the inbound path: unhandled messages are dropped,
// errors logged.
type tailHandler struct{ ch *Channel }

func (t tailHandler) HandleRead(_ *Context, msg any) {
	if s := t.ch.sink(); s != nil {
		s.TailRead(msg)
		return
	}
	if b, ok := msg.(*Bytes); ok {
		b.Skip(b.Len())
		return
	}
	t.ch.cfg.Logger.Debug("pipeline: message reached the tail unhandled; dropped",
		"channel", t.ch.id, "type", fmt.Sprintf("%T", msg))
	Release(msg)
}

func (t tailHandler) HandleReadComplete(*Context) {}
func (t tailHandler) HandleActive(*Context)       {}
func (t tailHandler) HandleInactive(*Context)     {}

func (t tailHandler) HandleUserEvent(_ *Context, ev any) {
	if _, ok := ev.(ShutdownEvent); ok {
		// Nobody took the shutdown: close the channel gracefully.
		t.ch.closeGracefully()
	}
	if s := t.ch.sink(); s != nil {
		s.TailUserEvent(ev)
	}
}

func (t tailHandler) HandleError(_ *Context, err error) {
	if s := t.ch.sink(); s != nil {
		s.TailError(err)
		return
	}
	if IsPeerFault(err) {
		peerFaults.Add(1)
		t.ch.cfg.Logger.Debug("pipeline: the peer's fault",
			"channel", t.ch.id, "remote", t.ch.RemoteAddr(), "err", err)
		return
	}
	t.ch.cfg.Logger.Warn("pipeline: error reached the tail unhandled",
		"channel", t.ch.id, "remote", t.ch.RemoteAddr(), "err", err)
}

func (t tailHandler) HandleWritabilityChanged(*Context, bool) {}
