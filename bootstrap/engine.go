package bootstrap

import (
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/gnetty/gnetty/pipeline"
)

// engine is the gnet.EventHandler shared by Server and Client: it turns
// gnet callbacks into channel events.
type engine struct {
	gnet.BuiltinEventEngine

	logger    *slog.Logger
	chCfg     pipeline.Config
	init      func(ch *pipeline.Channel)
	maxConns  int64
	maxUnread int
	epoch     time.Time

	draining atomic.Bool
	active   atomic.Int64
	accepted atomic.Uint64
	rejected atomic.Uint64
	writes   atomic.Uint64
	idle     chan struct{} // closed when active drops to 0 while draining
	idleOnce sync.Once

	mu    sync.Mutex
	loops map[gnet.EventLoop]*loop

	booted chan gnet.Engine
}

func newEngine(logger *slog.Logger, chCfg pipeline.Config, init func(*pipeline.Channel), maxConns, maxUnread int) *engine {
	return &engine{
		logger:    logger,
		chCfg:     chCfg,
		init:      init,
		maxConns:  int64(maxConns),
		maxUnread: maxUnread,
		epoch:     time.Now(),
		idle:      make(chan struct{}),
		loops:     make(map[gnet.EventLoop]*loop),
		booted:    make(chan gnet.Engine, 1),
	}
}

func (e *engine) OnBoot(eng gnet.Engine) gnet.Action {
	e.booted <- eng
	return gnet.None
}

// loopFor returns the loop state of el, creating it on first use (on el's
// own goroutine).
func (e *engine) loopFor(el gnet.EventLoop) *loop {
	e.mu.Lock()
	defer e.mu.Unlock()
	l := e.loops[el]
	if l == nil {
		l = newLoop(e, el)
		e.loops[el] = l
	}
	return l
}

func (e *engine) allLoops() []*loop {
	e.mu.Lock()
	defer e.mu.Unlock()
	ls := make([]*loop, 0, len(e.loops))
	for _, l := range e.loops {
		ls = append(ls, l)
	}
	return ls
}

// admit counts a new connection in, unless draining or at the limit.
func (e *engine) admit() bool {
	if e.draining.Load() {
		return false
	}
	for {
		n := e.active.Load()
		if e.maxConns > 0 && n >= e.maxConns {
			return false
		}
		if e.active.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// dialRequest travels in a dialled connection's gnet context until OnOpen.
type dialRequest struct {
	init func(ch *pipeline.Channel)
	ch   *pipeline.Channel
}

func (e *engine) OnOpen(gc gnet.Conn) ([]byte, gnet.Action) {
	init := e.init
	req, _ := gc.Context().(*dialRequest)
	if req != nil {
		init = req.init
		// gnet keeps the enrolment context in a second, concurrency-safe
		// slot too: clear it, or every dial's initializer (and all it
		// captured) lives as long as the connection.
		gc.SetSafeContext(nil)
		e.active.Add(1)
	} else if !e.admit() {
		e.rejected.Add(1)
		return nil, gnet.Close
	}
	e.accepted.Add(1)
	l := e.loopFor(gc.EventLoop())
	l.begin()
	c := &conn{c: gc, l: l, local: gc.LocalAddr(), remote: gc.RemoteAddr()}
	l.current = c
	defer func() { l.current = nil }()
	gc.SetContext(c)
	pipeline.InitChannel(&c.ch, c, &e.chCfg) // one config for all (normalized by config.go)
	l.conns[c] = struct{}{}
	if req != nil {
		req.ch = &c.ch
	}
	func() {
		defer c.ch.Recover()
		if init != nil {
			init(&c.ch)
		}
	}()
	if !c.closing {
		c.ch.Activate()
	}
	l.flushDirty()
	return nil, gnet.None
}

func (e *engine) OnTraffic(gc gnet.Conn) gnet.Action {
	c, ok := gc.Context().(*conn)
	if !ok {
		_, _ = gc.Discard(-1)
		return gnet.Close
	}
	c.l.begin()
	c.l.current = c
	defer func() { c.l.current = nil }()
	buf, _ := gc.Peek(-1)
	if n := c.ch.Receive(buf); n > 0 {
		_, _ = gc.Discard(n)
	}
	if e.maxUnread > 0 && gc.InboundBuffered() > e.maxUnread && !c.closing {
		func() {
			defer c.ch.Recover()
			c.ch.Pipeline().FireError(ErrTooMuchUnread)
		}()
		c.Close()
	}
	c.flush() // its own writes now, even if another callback of this pass deferred it
	c.l.flushDirty()
	return gnet.None
}

func (e *engine) OnClose(gc gnet.Conn, err error) gnet.Action {
	c, ok := gc.Context().(*conn)
	if !ok {
		return gnet.None
	}
	c.l.begin()
	c.closed = true
	c.drop()
	delete(c.l.conns, c)
	c.ch.Deactivate(closeCause(err))
	if e.active.Add(-1) == 0 && e.draining.Load() {
		e.idleOnce.Do(func() { close(e.idle) })
	}
	c.l.flushDirty()
	return gnet.None
}

// closeCause keeps the errors worth reporting: a peer that hangs up or
// resets is an ordinary close.
func closeCause(err error) error {
	switch {
	case err == nil,
		errors.Is(err, io.EOF),
		errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE):
		return nil
	}
	return err
}

// ErrTooMuchUnread is raised, before the channel is closed, when more than
// Config.MaxUnreadBytes received bytes are left unconsumed by the pipeline.
var ErrTooMuchUnread = pipeline.PeerError(errors.New("bootstrap: too many unconsumed inbound bytes"))
