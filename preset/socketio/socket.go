package socketio

import (
	"bytes"
	"errors"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/gnetty/gnetty/codec/jsonmsg"
	"github.com/gnetty/gnetty/pipeline"
)

// Errors of emits and acknowledgements.
var (
	ErrDisconnected = errors.New("socketio: socket disconnected")
	ErrAckTimeout   = errors.New("socketio: acknowledgement timed out")
	ErrReserved     = errors.New("socketio: reserved event name")
	ErrAcked        = errors.New("socketio: event already acknowledged")
)

// EventHandler handles one event from the client.
type EventHandler func(s *Socket, e *Event)

// Event is an event from the client.
type Event struct {
	Name string
	Args *Args

	args  Args // Args points here: one allocation for both
	sock  *Socket
	id    int64
	acked atomic.Bool
}

// WantsAck reports whether the client waits for an acknowledgement.
func (e *Event) WantsAck() bool { return e.id >= 0 }

// Ack answers the client's acknowledgement callback with args, once.
// Safe for concurrent use: a handler may ack later from a goroutine.
func (e *Event) Ack(args ...any) error {
	if e.id < 0 {
		return nil
	}
	if !e.acked.CompareAndSwap(false, true) {
		return ErrAcked
	}
	sock := e.sock
	enc, err := encodeEvent(pAck, sock.n.name, e.id, "", args)
	if err != nil {
		return err
	}
	return sock.deliver(enc)
}

// Socket is one client in one namespace.
//
// # Concurrency
//
// Emit, EmitWithAck, Join, Leave, Rooms, In, To, Broadcast and Disconnect
// are safe for concurrent use. On, OnAny and OnDisconnect, and Data, belong
// to the socket's loop: call them in the connection handler or in the
// socket's event handlers.
type Socket struct {
	n    *Namespace
	s    *session
	id   string
	pid  string
	auth []byte

	// Data is the application's, kept across a recovered reconnection
	// (socket.data). Touch it on the socket's loop only.
	Data any

	connected atomic.Bool
	recovered bool

	// loop-only
	handlers     map[string]handlerEntry
	anyHandler   EventHandler
	onDisconnect []func(s *Socket, reason string)
	acks         map[int64]*pendingAck
	nextAck      int64
	restoreRooms []string
	missed       []*encoded

	rooms map[string]struct{} // guarded by n.mu
}

type handlerEntry struct {
	name string
	h    EventHandler
}

type pendingAck struct {
	reply func(args *Args, err error)
	timer pipeline.Timer
}

func newSocket(n *Namespace, s *session, auth []byte) *Socket {
	sock := &Socket{n: n, s: s, auth: auth, id: newSessionID(), rooms: map[string]struct{}{}, handlers: map[string]handlerEntry{}}
	if n.rec != nil {
		sock.pid = newSessionID()
	}
	return sock
}

// ID returns the socket's ID (socket.id), which is also the name of a
// room only it is in.
func (s *Socket) ID() string { return s.id }

// SessionID returns the Engine.IO session's ID (socket.conn.id).
func (s *Socket) SessionID() string { return s.s.id }

// Namespace returns the socket's namespace.
func (s *Socket) Namespace() *Namespace { return s.n }

// Handshake returns what the session's first request carried.
func (s *Socket) Handshake() *Handshake { return s.s.hs }

// Auth returns the auth payload of the client's connect (raw JSON, or
// nil when none was sent).
func (s *Socket) Auth() []byte { return s.auth }

// Transport returns the session's transport, "polling" or "websocket".
// Call it on the socket's loop.
func (s *Socket) Transport() string { return s.s.transport }

// Recovered reports whether this socket is a recovered session (same ID,
// rooms and data, missed broadcasts replayed).
func (s *Socket) Recovered() bool { return s.recovered }

// Connected reports whether the socket is still connected.
func (s *Socket) Connected() bool { return s.connected.Load() }

// On sets the handler of an event (on the socket's loop).
func (s *Socket) On(event string, h EventHandler) { s.handlers[event] = handlerEntry{event, h} }

// OnAny sets the handler of events that have no handler of their own.
func (s *Socket) OnAny(h EventHandler) { s.anyHandler = h }

// OnDisconnect adds a handler for the socket's disconnection, with the
// Node server's reasons: "client namespace disconnect", "server namespace
// disconnect", "transport close", "transport error", "ping timeout",
// "parse error", "forced close", "forced server close", "server shutting
// down".
func (s *Socket) OnDisconnect(f func(s *Socket, reason string)) {
	s.onDisconnect = append(s.onDisconnect, f)
}

// deliver sends a packet to this socket's client from any goroutine.
func (s *Socket) deliver(e *encoded) error {
	if !s.connected.Load() {
		return ErrDisconnected
	}
	sess := s.s
	if sess.home.InLoop() {
		sess.sendMessage(e)
		return nil
	}
	sess.home.Execute(func() { sess.sendMessage(e) })
	return nil
}

// Emit sends an event to this socket's client. []byte arguments (also
// inside []any and map[string]any) travel as binary attachments. With
// recovery on, the event is kept for replay and carries its offset as a
// last argument, as the Node server's socket.emit does.
func (s *Socket) Emit(event string, args ...any) error {
	if reserved[event] {
		return ErrReserved
	}
	rec := s.n.rec
	var offset string
	if rec != nil {
		offset = rec.nextOffset()
		args = append(args[:len(args):len(args)], offset)
	}
	e, err := encodeEvent(pEvent, s.n.name, -1, event, args)
	if err != nil {
		return err
	}
	if rec != nil {
		rec.log(offset, []string{s.id}, nil, e)
	}
	return s.deliver(e)
}

// EmitWithAck sends an event that the client acknowledges: reply runs on
// the socket's loop with the client's arguments, or with ErrAckTimeout
// after timeout (0: no timeout), or ErrDisconnected.
func (s *Socket) EmitWithAck(timeout time.Duration, reply func(args *Args, err error), event string, args ...any) error {
	if reserved[event] {
		return ErrReserved
	}
	if !s.connected.Load() {
		return ErrDisconnected
	}
	sess := s.s
	sess.run(func() {
		if !s.connected.Load() {
			reply(nil, ErrDisconnected)
			return
		}
		id := s.nextAck
		s.nextAck++
		e, err := encodeEvent(pEvent, s.n.name, id, event, args)
		if err != nil {
			reply(nil, err)
			return
		}
		pa := &pendingAck{reply: reply}
		if timeout > 0 {
			pa.timer = sess.home.Schedule(timeout, func() {
				if s.acks[id] == pa {
					delete(s.acks, id)
					reply(nil, ErrAckTimeout)
				}
			})
		}
		if s.acks == nil {
			s.acks = map[int64]*pendingAck{}
		}
		s.acks[id] = pa
		sess.sendMessage(e)
	})
	return nil
}

// Join puts the socket in rooms.
func (s *Socket) Join(rooms ...string) {
	n := s.n
	n.mu.Lock()
	defer n.mu.Unlock()
	if !s.connected.Load() {
		return
	}
	for _, r := range rooms {
		s.rooms[r] = struct{}{}
		m := n.rooms[r]
		if m == nil {
			m = map[*Socket]struct{}{}
			n.rooms[r] = m
		}
		m[s] = struct{}{}
	}
}

// Leave takes the socket out of room.
func (s *Socket) Leave(room string) {
	n := s.n
	n.mu.Lock()
	defer n.mu.Unlock()
	n.leave(s, room)
}

// leave runs with n.mu held.
func (n *Namespace) leave(s *Socket, room string) {
	delete(s.rooms, room)
	if m := n.rooms[room]; m != nil {
		delete(m, s)
		if len(m) == 0 {
			delete(n.rooms, room)
		}
	}
}

// Rooms returns the socket's rooms (its own ID's included).
func (s *Socket) Rooms() []string {
	s.n.mu.RLock()
	defer s.n.mu.RUnlock()
	out := make([]string, 0, len(s.rooms))
	for r := range s.rooms {
		out = append(out, r)
	}
	return out
}

// In reports whether the socket is in room.
func (s *Socket) In(room string) bool {
	s.n.mu.RLock()
	defer s.n.mu.RUnlock()
	_, ok := s.rooms[room]
	return ok
}

// To returns a broadcast to rooms that skips this socket.
func (s *Socket) To(rooms ...string) Broadcast {
	return Broadcast{n: s.n, except: []string{s.id}}.To(rooms...)
}

// Broadcast returns a broadcast to the whole namespace but this socket.
func (s *Socket) Broadcast() Broadcast { return Broadcast{n: s.n, except: []string{s.id}} }

// Disconnect takes the socket out of its namespace (the client sees "io
// server disconnect"); with close, the whole session ends.
func (s *Socket) Disconnect(close bool) {
	sess := s.s
	sess.run(func() {
		if close {
			for _, sock := range sess.sockets {
				sess.sendMessage(encodeRaw(pDisconnect, sock.n.name, nil))
				sock.onClose("server namespace disconnect")
			}
			sess.close("forced server close", true)
			return
		}
		if !s.connected.Load() {
			return
		}
		sess.sendMessage(encodeRaw(pDisconnect, s.n.name, nil))
		s.onClose("server namespace disconnect")
	})
}

// onEvent runs an event's handler (on the loop).
func (s *Socket) onEvent(p *packet, atts [][]byte) {
	var stack [8][]byte
	elems, err := jsonmsg.SplitArray(p.data, stack[:0])
	if err != nil || len(elems) == 0 {
		s.s.close("parse error", false)
		return
	}
	first := elems[0]
	var entry handlerEntry
	if first[0] == '"' && bytes.IndexByte(first, '\\') < 0 {
		entry = s.handlers[string(first[1:len(first)-1])] // no allocation
	}
	if entry.h == nil {
		name := eventName(first)
		if entry = s.handlers[name]; entry.h == nil {
			if s.anyHandler == nil {
				return
			}
			entry = handlerEntry{name: name, h: s.anyHandler}
		}
	}
	e := &Event{Name: entry.name, sock: s, id: p.id}
	e.args.fill(elems[1:], atts)
	e.Args = &e.args
	entry.h(s, e)
}

// eventName decodes an event name: a JSON string, or a number (which the
// Node server accepts too).
func eventName(raw []byte) string {
	var name string
	if jsonAPI.Unmarshal(raw, &name) == nil {
		return name
	}
	var num float64
	if jsonAPI.Unmarshal(raw, &num) == nil {
		return strconv.FormatFloat(num, 'f', -1, 64)
	}
	return ""
}

// onAck hands the client's acknowledgement to its waiting reply.
func (s *Socket) onAck(p *packet, atts [][]byte) {
	pa := s.acks[p.id]
	if pa == nil {
		return
	}
	delete(s.acks, p.id)
	if pa.timer != nil {
		pa.timer.Stop()
	}
	args, err := newArgs(p.data, false, atts)
	if err != nil {
		s.s.close("parse error", false)
		return
	}
	pa.reply(args, nil)
}

// recoverable are the reasons after which a session is kept for
// recovery, as the Node server's.
var recoverable = map[string]bool{
	"transport error": true, "transport close": true, "forced close": true,
	"ping timeout": true, "server shutting down": true, "forced server close": true,
}

// onClose ends the socket (on the loop).
func (s *Socket) onClose(reason string) {
	if !s.connected.Swap(false) {
		return
	}
	n := s.n
	sess := s.s
	if sess.sockets[n.name] == s {
		delete(sess.sockets, n.name)
	}
	n.mu.Lock()
	rooms := make([]string, 0, len(s.rooms))
	for r := range s.rooms {
		rooms = append(rooms, r)
		n.leave(s, r)
	}
	if n.sockets[s.id] == s {
		delete(n.sockets, s.id)
	}
	n.mu.Unlock()
	if n.rec != nil && recoverable[reason] {
		n.rec.save(&saved{sid: s.id, pid: s.pid, rooms: rooms, data: s.Data})
	}
	acks := s.acks
	s.acks = nil
	for _, pa := range acks {
		if pa.timer != nil {
			pa.timer.Stop()
		}
		pa.reply(nil, ErrDisconnected)
	}
	for _, f := range s.onDisconnect {
		f(s, reason)
	}
}
