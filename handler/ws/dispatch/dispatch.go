package dispatch

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sort"
	"strings"

	"github.com/gobwas/ws"

	"github.com/gnetty/gnetty/codec/jsonmsg"
	"github.com/gnetty/gnetty/codec/wsframe"
	"github.com/gnetty/gnetty/executor"
	"github.com/gnetty/gnetty/pipeline"
)

// Name is the pipeline slot name of the Dispatcher in the presets.
const Name = "dispatch"

// ErrStop, returned by a handler, ends the chain without an error reply.
var ErrStop = errors.New("dispatch: stop")

// Error codes of error replies.
const (
	CodeInvalidJSON    = "invalid_json"
	CodeBadRequest     = "bad_request"
	CodeUnknownEvent   = "unknown_event"
	CodeInvalidPayload = "invalid_payload"
	CodeTooLong        = "too_long"
	CodeHandlerError   = "handler_error"
	CodeInternal       = "internal"
	CodeBusy           = "busy"
)

// Config configures a Dispatcher; zero values mean the defaults.
type Config struct {
	// Key is the field holding the event name; default "event".
	Key string
	// MaxMessageSize refuses larger messages with too_long; default 64 KiB.
	MaxMessageSize int
	// ErrorReply builds an error message; default
	// {"<Key>":"error","code":code,"msg":msg}.
	ErrorReply func(code, msg string) any
	// Write sends an encoded reply to a channel; default a WebSocket text
	// message.
	Write func(ch *pipeline.Channel, data []byte)
	// Logger; default the channel's.
	Logger *slog.Logger
}

// errorReply encodes {"<key>":"error","code":...,"msg":...} with its
// fields always in that order (a map would shuffle them per message).
type errorReply struct{ key, code, msg string }

// MarshalJSON implements json.Marshaler.
func (e errorReply) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 32+len(e.key)+len(e.code)+len(e.msg))
	b = append(b, '{')
	b, _ = jsonmsg.Append(b, e.key)
	b = append(b, `:"error","code":`...)
	b, _ = jsonmsg.Append(b, e.code)
	b = append(b, `,"msg":`...)
	b, _ = jsonmsg.Append(b, e.msg)
	return append(b, '}'), nil
}

// Ctx is what a handler gets with its message.
type Ctx struct {
	// Event is the event name.
	Event string
	// Raw is the whole message, valid only during the call (copied for
	// executor handlers).
	Raw []byte
	// Pipeline is the handler context when the handler runs on the loop,
	// nil on an executor.
	Pipeline *pipeline.Context

	ch *pipeline.Channel
	d  *Dispatcher
}

// Channel returns the sender's channel.
func (c *Ctx) Channel() *pipeline.Channel { return c.ch }

// Reply encodes v as JSON and sends it to the sender.
func (c *Ctx) Reply(v any) error { return c.d.Send(c.ch, v) }

// Error answers the sender with an error reply.
func (c *Ctx) Error(code, msg string) { c.d.replyError(c.ch, code, msg) }

// Dispatcher is the pipeline handler for WebSocket text messages
// (*wsframe.Message); Lines gives one for line protocols. Build it with
// New.
type Dispatcher struct {
	pipeline.Inbound[*wsframe.Message]
	cfg    Config
	routes map[string][]*route
}

type route struct {
	event string
	order int
	exec  *executor.Executor
	call  func(c *Ctx, data []byte) (decoded bool, err error)
}

// Option configures one registration.
type Option func(*route)

// Order places a handler among the handlers of its event (lower first;
// equal orders keep registration order).
func Order(n int) Option { return func(r *route) { r.order = n } }

// OnExecutor runs the event's handlers on e, in order per channel. An
// event is bound to an executor as a whole: its first handler's option
// decides.
func OnExecutor(e *executor.Executor) Option { return func(r *route) { r.exec = e } }

var _ pipeline.ReadHandler = (*Dispatcher)(nil)

// New returns an empty dispatcher.
func New(cfg Config) *Dispatcher {
	if cfg.Key == "" {
		cfg.Key = "event"
	}
	if cfg.MaxMessageSize <= 0 {
		cfg.MaxMessageSize = 64 << 10
	}
	if cfg.ErrorReply == nil {
		key := cfg.Key
		cfg.ErrorReply = func(code, msg string) any { return errorReply{key: key, code: code, msg: msg} }
	}
	if cfg.Write == nil {
		cfg.Write = func(ch *pipeline.Channel, data []byte) {
			ch.WriteAndFlush(wsframe.AcquireMessage(ws.OpText, data))
		}
	}
	d := &Dispatcher{cfg: cfg, routes: map[string][]*route{}}
	d.Inbound = pipeline.InboundOf[*wsframe.Message](d)
	return d
}

// On registers fn for event: the message is decoded into a new T first.
func On[T any](d *Dispatcher, event string, fn func(c *Ctx, msg *T) error, opts ...Option) {
	r := &route{event: event, call: func(c *Ctx, data []byte) (bool, error) {
		msg := new(T)
		if err := jsonmsg.Decode(data, msg); err != nil {
			return false, err
		}
		return true, fn(c, msg)
	}}
	r.order = len(d.routes[event])
	for _, o := range opts {
		o(r)
	}
	rs := append(d.routes[event], r)
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].order < rs[j].order })
	d.routes[event] = rs
}

// Events returns the registered event names.
func (d *Dispatcher) Events() []string {
	var out []string
	for e := range d.routes {
		out = append(out, e)
	}
	sort.Strings(out)
	return out
}

// Send encodes v and writes it to ch. Safe from any goroutine.
func (d *Dispatcher) Send(ch *pipeline.Channel, v any) error {
	data, err := jsonmsg.Append(nil, v)
	if err != nil {
		return err
	}
	d.cfg.Write(ch, data)
	return nil
}

// Broadcast encodes v once and writes the same frame to every channel.
// Safe from any goroutine.
func (d *Dispatcher) Broadcast(chans []*pipeline.Channel, v any) error {
	data, err := jsonmsg.Append(nil, v)
	if err != nil {
		return err
	}
	p := wsframe.Prepare(ws.OpText, data)
	for _, ch := range chans {
		ch.WriteAndFlush(p)
	}
	return nil
}

func (d *Dispatcher) logger(ch *pipeline.Channel) *slog.Logger {
	if d.cfg.Logger != nil {
		return d.cfg.Logger
	}
	return ch.Logger()
}

func (d *Dispatcher) replyError(ch *pipeline.Channel, code, msg string) {
	msg = strings.ToValidUTF8(msg, "\uFFFD") // it may quote the peer's bytes; it goes out as text
	_ = d.Send(ch, d.cfg.ErrorReply(code, msg))
}

// HandleMessage dispatches a text message; binary messages pass on, and
// so does anything that is not a *wsframe.Message (through the
// Dispatcher's Inbound).
func (d *Dispatcher) HandleMessage(ctx *pipeline.Context, m *wsframe.Message) {
	if m.Op != ws.OpText {
		ctx.FireRead(m)
		return
	}
	d.Dispatch(ctx, ctx.Channel(), m.Data)
}

// Lines returns a handler that dispatches string messages through d, for
// line protocols (after frame.StringCodec); other messages pass on. Add
// it instead of d itself: p.AddLast(dispatch.Name, d.Lines()).
func (d *Dispatcher) Lines() pipeline.MessageFunc[string] {
	return func(ctx *pipeline.Context, line string) { d.Dispatch(ctx, ctx.Channel(), []byte(line)) }
}

// Dispatch routes one message; ctx may be nil off the loop. data is only
// read during the call.
func (d *Dispatcher) Dispatch(ctx *pipeline.Context, ch *pipeline.Channel, data []byte) {
	if len(data) > d.cfg.MaxMessageSize {
		d.replyError(ch, CodeTooLong, fmt.Sprintf("message of %d bytes is over the %d limit", len(data), d.cfg.MaxMessageSize))
		return
	}
	name, err := jsonmsg.Peek(data, d.cfg.Key)
	switch {
	case errors.Is(err, jsonmsg.ErrNoKey), errors.Is(err, jsonmsg.ErrNotString):
		d.replyError(ch, CodeBadRequest, fmt.Sprintf("message needs a string %q field", d.cfg.Key))
		return
	case err != nil:
		d.replyError(ch, CodeInvalidJSON, "message is not valid JSON")
		return
	}
	routes := d.routes[string(name)]
	if len(routes) == 0 {
		d.replyError(ch, CodeUnknownEvent, fmt.Sprintf("unknown %s %q", d.cfg.Key, name))
		return
	}
	event := routes[0].event // interned: no allocation per message
	if e := routes[0].exec; e != nil {
		raw := append([]byte(nil), data...)
		if err := e.Submit(ch.ID(), func() { d.run(nil, ch, event, raw, routes) }); err != nil {
			d.replyError(ch, CodeBusy, "server busy, try again")
		}
		return
	}
	d.run(ctx, ch, event, data, routes)
}

func (d *Dispatcher) run(ctx *pipeline.Context, ch *pipeline.Channel, event string, data []byte, routes []*route) {
	c := &Ctx{Event: event, Raw: data, Pipeline: ctx, ch: ch, d: d}
	for _, r := range routes {
		decoded, err := d.call(c, r, data)
		switch {
		case err == nil:
			continue
		case errors.Is(err, ErrStop):
			return
		case !decoded:
			if errors.Is(err, jsonmsg.ErrSyntax) || !jsonmsg.API.Valid(data) {
				d.replyError(ch, CodeInvalidJSON, "message is not valid JSON")
				return
			}
			// The decoder's text (Go type names, raw input bytes) is for the
			// log, not for the peer.
			d.logger(ch).Debug("dispatch: invalid payload", "event", event, "err", err, "channel", ch.ID())
			d.replyError(ch, CodeInvalidPayload, fmt.Sprintf("%q has a field of the wrong type", event))
			return
		case errors.Is(err, errPanic):
			d.replyError(ch, CodeInternal, "internal error")
			return
		default:
			d.logger(ch).Info("dispatch: handler error", "event", event, "err", err, "channel", ch.ID())
			d.replyError(ch, CodeHandlerError, err.Error())
			return
		}
	}
}

var errPanic = errors.New("dispatch: handler panic")

func (d *Dispatcher) call(c *Ctx, r *route, data []byte) (decoded bool, err error) {
	defer func() {
		if p := recover(); p != nil {
			pipeline.LogPanic(d.logger(c.ch), "dispatch: handler panic", p, debug.Stack(), "event", c.Event)
			decoded, err = true, errPanic
		}
	}()
	return r.call(c, data)
}
