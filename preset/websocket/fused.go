package websocket

import (
	"github.com/gnetty/gnetty/codec/wsframe"
	"github.com/gnetty/gnetty/handler/ws/keepalive"
	"github.com/gnetty/gnetty/handler/ws/upgrade"
	"github.com/gnetty/gnetty/pipeline"
)

// fusedConn is an upgraded server connection when nothing sits between
// the frame codec and the application (Config.Handlers is nil): the codec,
// keepalive, the application's adapter and the Conn are one struct in
// one pipeline slot (wsframe.Name), one allocation instead of eight (the
// codec, its decoder, the keepalive handler and its timer and closure,
// the adapter, the Conn, two more pipeline contexts). A message goes from
// the codec to OnMessage by one direct call; keepalive's deadline is a
// record in the loop's timer heap, re-armed without allocating.
//
// The general chain (wsframe.Codec, keepalive.Handler, Config.Handlers'
// handlers, adapter) behaves the same; it is used when Config.Handlers
// (DialConfig.Handlers on a client) is set. A client dialled without
// DialConfig.Handlers runs fused too.
//
// Every method runs on the connection's loop.
type fusedConn struct {
	wsframe.Codec
	ka   keepalive.State
	app  app
	conn Conn
	ctx  *pipeline.Context
}

var (
	_ pipeline.ReadHandler         = (*fusedConn)(nil)
	_ pipeline.WriteHandler        = (*fusedConn)(nil)
	_ pipeline.ReadCompleteHandler = (*fusedConn)(nil)
	_ pipeline.UserEventHandler    = (*fusedConn)(nil)
	_ pipeline.InactiveHandler     = (*fusedConn)(nil)
	_ pipeline.AddedHandler        = (*fusedConn)(nil)
	_ pipeline.RemovedHandler      = (*fusedConn)(nil)
	_ wsframe.Receiver             = (*fusedConn)(nil)
)

func newFusedConn(r *route, fc wsframe.Config, hs *upgrade.Handshake) *fusedConn {
	f := &fusedConn{app: app{r: r}}
	f.Codec.Init(fc, f)
	f.ka.Init(&r.ka, f)
	f.conn.hs = hs
	return f
}

// HandlerAdded records the context and starts keepalive (the channel is
// active: the handler is installed by the upgrade).
func (f *fusedConn) HandlerAdded(ctx *pipeline.Context) {
	f.ctx = ctx
	f.conn.ch = ctx.Channel()
	if ctx.Channel().IsActive() {
		f.ka.Start(ctx.EventLoop())
	}
}

// HandlerRemoved stops keepalive and hands on what the decoder holds.
func (f *fusedConn) HandlerRemoved(ctx *pipeline.Context) {
	f.ka.Stop(ctx.EventLoop())
	f.Codec.HandlerRemoved(ctx)
}

// RunTask is keepalive's deadline: ping, or give up on a silent peer.
func (f *fusedConn) RunTask() { f.ka.Tick(f.ctx, f) }

// HandleWrite frames what the application writes, after the slow-consumer
// check when the route has one (Config.SlowConsumer).
func (f *fusedConn) HandleWrite(ctx *pipeline.Context, msg any) {
	if s := f.app.r.slow; s != nil {
		if f.app.slowClosed {
			pipeline.Release(msg)
			return
		}
		if !s.Admit(ctx, msg) {
			f.app.slowClosed = true
			f.Codec.HandleWrite(ctx, s.CloseFrame())
			ctx.Flush()
			ctx.Close()
			return
		}
	}
	f.Codec.HandleWrite(ctx, msg)
}

// HandleReadComplete counts a read as a sign of life.
func (f *fusedConn) HandleReadComplete(ctx *pipeline.Context) {
	f.ka.Seen(ctx.EventLoop())
	ctx.FireReadComplete()
}

// ReceiveMessage is the codec's message, straight to OnMessage.
func (f *fusedConn) ReceiveMessage(ctx *pipeline.Context, m *wsframe.Message) {
	if f.app.code == 0 {
		return // before OnOpen: nothing can come first (and none after OnClose)
	}
	f.app.message(&f.conn, m)
}

// ReceiveEvent is the codec's events: pings and pongs for keepalive, the
// close code for OnClose.
func (f *fusedConn) ReceiveEvent(ctx *pipeline.Context, ev any) {
	switch e := ev.(type) {
	case wsframe.PongReceived:
		f.ka.Pong(ctx.EventLoop())
	case wsframe.PingReceived:
		f.ka.Seen(ctx.EventLoop())
	case wsframe.CloseReceived:
		f.app.code, f.app.reason = e.Code, e.Reason
	case *wsframe.CloseError:
		f.app.code, f.app.reason = e.Code, e.Reason
	}
}

// HandleUserEvent opens the connection on the upgrade's event and says
// goodbye (1001) on a shutdown.
func (f *fusedConn) HandleUserEvent(ctx *pipeline.Context, ev any) {
	switch e := ev.(type) {
	case *upgrade.Handshake:
		f.app.open(&f.conn)
		return
	case *upgrade.ClientHandshake:
		f.app.openClient(&f.conn, e)
		return
	case pipeline.ShutdownEvent:
		// The codec closes after the peer answers (or its close timeout).
		f.Codec.HandleWrite(ctx, wsframe.Close{Code: StatusGoingAway, Reason: "server shutting down"})
		ctx.Flush()
		return
	}
	ctx.FireUserEvent(ev)
}

// HandleInactive stops keepalive and runs OnClose.
func (f *fusedConn) HandleInactive(ctx *pipeline.Context) {
	f.ka.Stop(ctx.EventLoop())
	if f.app.code != 0 && !f.conn.closed.Load() {
		f.app.closed(&f.conn)
	}
	ctx.FireInactive()
}
