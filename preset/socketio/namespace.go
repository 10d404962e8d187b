package socketio

import (
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gnetty/gnetty/layer"
	"github.com/gnetty/gnetty/pipeline"
)

// Middleware runs for every socket that connects to a namespace, in the
// order Use added them, before the connection handlers. It calls next
// once: with nil to let the socket in, or with an error to refuse it (the
// client's connect_error gets the error's text, and a *ConnectError's
// Data). next may be called later from any goroutine (after a database
// lookup, say); the middleware itself runs on the session's loop and
// must not block.
type Middleware func(s *Socket, next func(error))

// ConnectError refuses a connection with data for the client's
// connect_error handler (err.data there).
type ConnectError struct {
	Message string
	Data    any
}

func (e *ConnectError) Error() string { return e.Message }

// Namespace is a Socket.IO namespace: its middlewares, connection
// handlers and rooms.
//
// # Concurrency
//
// Every method is safe for concurrent use. Register middlewares and
// connection handlers before Start: they apply to sockets that connect
// after they were added.
type Namespace struct {
	srv  *Server
	name string

	mu          sync.RWMutex
	middlewares []Middleware
	onConnect   []func(*Socket)
	sockets     map[string]*Socket
	rooms       map[string]map[*Socket]struct{}

	rec   *recovery
	group string // the layer group of the namespace's broadcasts
	unsub func()
}

// Of returns the namespace called name ("/chat"), created on first use.
// Create namespaces before Start: with a Redis layer the first call
// subscribes the node to the namespace's channel, a network round trip
// that must not run on an event loop.
func (srv *Server) Of(name string) *Namespace {
	if name == "" || name[0] != '/' {
		name = "/" + name
	}
	srv.nsMu.Lock()
	defer srv.nsMu.Unlock()
	if n := srv.namespaces[name]; n != nil {
		return n
	}
	n := &Namespace{srv: srv, name: name, sockets: map[string]*Socket{}, rooms: map[string]map[*Socket]struct{}{}, group: "socketio#" + name}
	if srv.cfg.Recovery != nil {
		n.rec = newRecovery(srv.cfg.Recovery)
	}
	if srv.cfg.Layer != nil {
		n.unsub = srv.cfg.Layer.Subscribe(n.group, n.fromLayer)
	}
	srv.namespaces[name] = n
	return n
}

func (srv *Server) namespace(name string) *Namespace {
	srv.nsMu.RLock()
	defer srv.nsMu.RUnlock()
	return srv.namespaces[name]
}

// Name returns the namespace's name.
func (n *Namespace) Name() string { return n.name }

// Use adds a middleware.
func (n *Namespace) Use(mw Middleware) {
	n.mu.Lock()
	n.middlewares = append(n.middlewares, mw)
	n.mu.Unlock()
}

// OnConnection adds a connection handler: it runs on the socket's loop
// once the socket is in (register its event handlers there).
func (n *Namespace) OnConnection(f func(s *Socket)) {
	n.mu.Lock()
	n.onConnect = append(n.onConnect, f)
	n.mu.Unlock()
}

// Sockets returns the number of this node's sockets in the namespace.
func (n *Namespace) Sockets() int {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return len(n.sockets)
}

// Socket returns this node's socket with the given ID, or nil.
func (n *Namespace) Socket(id string) *Socket {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.sockets[id]
}

// RoomSize returns the number of this node's sockets in room.
func (n *Namespace) RoomSize(room string) int {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return len(n.rooms[room])
}

// To returns a broadcast to the sockets in any of rooms.
func (n *Namespace) To(rooms ...string) Broadcast { return Broadcast{n: n}.To(rooms...) }

// Except returns a broadcast to every socket but those in rooms.
func (n *Namespace) Except(rooms ...string) Broadcast { return Broadcast{n: n}.Except(rooms...) }

// Emit sends an event to every socket of the namespace, on every node.
func (n *Namespace) Emit(event string, args ...any) error {
	return Broadcast{n: n}.Emit(event, args...)
}

// connect runs the middlewares for a new socket and lets it in (on the
// session's loop).
func (n *Namespace) connect(s *session, auth []byte) {
	sock := newSocket(n, s, auth)
	if n.rec != nil {
		var a struct {
			PID    *string `json:"pid"`
			Offset *string `json:"offset"`
		}
		if len(auth) > 0 && jsonAPI.Unmarshal(auth, &a) == nil && a.PID != nil && a.Offset != nil {
			if saved, missed, ok := n.rec.restore(*a.PID, *a.Offset); ok {
				sock.id, sock.pid, sock.Data, sock.recovered = saved.sid, saved.pid, saved.data, true
				sock.restoreRooms, sock.missed = saved.rooms, missed
			}
		}
	}
	n.mu.RLock()
	mws := n.middlewares
	n.mu.RUnlock()
	if sock.recovered && !n.srv.cfg.Recovery.RunMiddlewares {
		mws = nil
	}
	var i int
	var next func(error)
	next = func(err error) {
		s.run(func() {
			if s.closed.Load() || i < 0 {
				return
			}
			if err != nil {
				i = -1
				m := map[string]any{"message": err.Error()}
				var ce *ConnectError
				if errors.As(err, &ce) && ce.Data != nil {
					m["data"] = ce.Data
				}
				s.sendMessage(encodeRaw(pConnectError, n.name, m))
				return
			}
			if i < len(mws) {
				mw := mws[i]
				i++
				var once atomic.Bool
				mw(sock, func(err error) {
					if once.CompareAndSwap(false, true) {
						next(err)
					}
				})
				return
			}
			i = -1
			n.admit(sock)
		})
	}
	next(nil)
}

// admit puts a socket in the namespace and tells the client (on its loop).
func (n *Namespace) admit(sock *Socket) {
	s := sock.s
	if s.sockets[n.name] != nil {
		return
	}
	s.sockets[n.name] = sock
	sock.connected.Store(true)
	n.mu.Lock()
	n.sockets[sock.id] = sock
	n.mu.Unlock()
	sock.Join(sock.id)
	sock.Join(sock.restoreRooms...)
	sock.restoreRooms = nil
	for _, e := range sock.missed {
		s.sendMessage(e)
	}
	sock.missed = nil
	hello := map[string]string{"sid": sock.id}
	if sock.pid != "" {
		hello["pid"] = sock.pid
	}
	s.sendMessage(encodeRaw(pConnect, n.name, hello))
	n.mu.RLock()
	handlers := n.onConnect
	n.mu.RUnlock()
	for _, f := range handlers {
		if !sock.connected.Load() {
			break
		}
		f(sock)
	}
}

// Broadcast is an emission to many sockets, built by To and Except; the
// packet is encoded once for all of them and for every node.
//
// # Concurrency
//
// A Broadcast is a value: build and emit it from any goroutine.
type Broadcast struct {
	n      *Namespace
	rooms  []string
	except []string
}

// To adds rooms: the broadcast goes to sockets in any of them.
func (b Broadcast) To(rooms ...string) Broadcast {
	b.rooms = append(append([]string(nil), b.rooms...), rooms...)
	return b
}

// Except adds rooms whose sockets are skipped.
func (b Broadcast) Except(rooms ...string) Broadcast {
	b.except = append(append([]string(nil), b.except...), rooms...)
	return b
}

// Emit sends the event. With recovery on, the event carries its offset
// as a last argument, as the Node server's does.
func (b Broadcast) Emit(event string, args ...any) error {
	if reserved[event] {
		return ErrReserved
	}
	n := b.n
	var offset string
	if n.rec != nil {
		offset = n.rec.nextOffset()
		args = append(args[:len(args):len(args)], offset)
	}
	e, err := encodeEvent(pEvent, n.name, -1, event, args)
	if err != nil {
		return err
	}
	if l := n.srv.cfg.Layer; l != nil {
		env, err := jsonAPI.Marshal(envelope{Rooms: b.rooms, Except: b.except, Offset: offset, Text: e.text, Attachments: e.attachments})
		if err != nil {
			return err
		}
		n.deliver(b.rooms, b.except, offset, e)
		return l.GroupSend(n.group, layer.Message{Data: env, Kind: n.srv.origin})
	}
	n.deliver(b.rooms, b.except, offset, e)
	return nil
}

// envelope is a broadcast on its way to the other nodes.
type envelope struct {
	Rooms       []string `json:"r,omitempty"`
	Except      []string `json:"x,omitempty"`
	Offset      string   `json:"o,omitempty"`
	Text        []byte   `json:"t"`
	Attachments [][]byte `json:"a,omitempty"`
}

// fromLayer receives the namespace's broadcasts from the other nodes.
// A broadcast of this server's own was delivered directly, and is left
// alone here (the layer hands it to local subscribers too).
func (n *Namespace) fromLayer(_ string, m layer.Message) {
	if m.Kind == n.srv.origin || !strings.HasPrefix(m.Kind, originPrefix) {
		return
	}
	var env envelope
	if err := jsonAPI.Unmarshal(m.Data, &env); err != nil {
		n.srv.logger.Warn("socketio: malformed broadcast from another node", "namespace", n.name, "err", err)
		return
	}
	n.deliver(env.Rooms, env.Except, env.Offset, &encoded{text: env.Text, attachments: env.Attachments})
}

// deliver sends a broadcast to this node's matching sockets: one task per
// event loop, the packet shared by all.
func (n *Namespace) deliver(rooms, except []string, offset string, e *encoded) {
	type batch struct {
		loop     pipeline.EventLoop
		sessions []*session
	}
	var batches []batch
	add := func(sock *Socket) {
		for _, r := range except {
			if _, in := n.rooms[r][sock]; in {
				return
			}
		}
		l := sock.s.home
		for i := range batches {
			if batches[i].loop == l {
				batches[i].sessions = append(batches[i].sessions, sock.s)
				return
			}
		}
		batches = append(batches, batch{loop: l, sessions: []*session{sock.s}})
	}
	n.mu.RLock()
	if len(rooms) == 0 {
		for _, sock := range n.sockets {
			add(sock)
		}
	} else if len(rooms) == 1 {
		for sock := range n.rooms[rooms[0]] {
			add(sock)
		}
	} else {
		seen := map[*Socket]bool{} // a socket in several of the rooms gets it once
		for _, r := range rooms {
			for sock := range n.rooms[r] {
				if !seen[sock] {
					seen[sock] = true
					add(sock)
				}
			}
		}
	}
	n.mu.RUnlock()
	e.shared = len(batches) > 1 || len(batches) == 1 && len(batches[0].sessions) > 1
	if n.rec != nil && offset != "" {
		n.rec.log(offset, rooms, except, e) // after the last write to e
	}
	for _, b := range batches {
		ss := b.sessions
		send := func() {
			for _, s := range ss {
				s.sendMessage(e)
			}
		}
		if b.loop.InLoop() {
			send()
		} else {
			b.loop.Execute(send)
		}
	}
}

// nextOffset numbers a node's broadcasts for recovery.
func (r *recovery) nextOffset() string {
	return r.prefix + strconv.FormatUint(r.seq.Add(1), 36)
}
