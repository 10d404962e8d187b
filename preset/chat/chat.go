// Package chat is the chat preset: a real multi-room chat service in one
// call on the WebSocket preset, speaking the protocol in PROTOCOL.md
// beside this file: session login, rooms with presence, per-room sequence numbers,
// cumulative acks with retry, history on join and on request (recovery
// after a reconnect), limits, a page served from the binary, Prometheus
// metrics and graceful shutdown.
//
//	srv, err := chat.New(chat.Config{Addr: "127.0.0.1:8080", Store: store})
//	err = srv.Serve(ctx)
//
// # Concurrency
//
// Message handlers run on the connection's event loop; everything that
// touches the store runs on an executor, in order per room, so a room's
// sequence numbers, its stored history and its broadcasts agree. Rooms are
// shared between loops under a mutex.
package chat

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/gobwas/ws"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"

	"github.com/gnetty/gnetty/bootstrap"
	"github.com/gnetty/gnetty/codec/http1"
	"github.com/gnetty/gnetty/codec/wsframe"
	"github.com/gnetty/gnetty/handler/ack"
	"github.com/gnetty/gnetty/handler/dispatch"
	"github.com/gnetty/gnetty/handler/executor"
	"github.com/gnetty/gnetty/handler/layer"
	"github.com/gnetty/gnetty/handler/session"
	"github.com/gnetty/gnetty/handler/session/redisstore"
	"github.com/gnetty/gnetty/handler/slowconsumer"
	"github.com/gnetty/gnetty/handler/wsupgrade"
	"github.com/gnetty/gnetty/pipeline"
	"github.com/gnetty/gnetty/preset/websocket"
)

// Config configures the chat; zero values mean the defaults.
type Config struct {
	// Addr to listen on; default 127.0.0.1:8080.
	Addr string
	// Store keeps users and history; default a MemoryStore.
	Store Store
	// Limits.
	MaxNameLen        int           // default 32 characters
	MaxMessageLen     int           // default 2000 characters
	MessagesPerSecond float64       // per connection, default 10 (burst 20)
	MaxRoomsPerConn   int           // default 10
	MaxMembersPerRoom int           // default 10000
	MaxQueueBytes     int           // slow-consumer limit, default 1 MiB
	HistoryOnJoin     int           // messages sent on join, default 50
	AckTimeout        time.Duration // default 5 s
	AckRetries        int           // default 3
	// Workers is the number of event loops (default one per CPU).
	Workers int
	// Logger; default slog.Default().
	Logger *slog.Logger
	// Registry for metrics; default a new one (served on /metrics).
	Registry *prometheus.Registry
	// Redis, when set, shares the chat between nodes: rooms through the
	// Redis channel layer, history and sequence numbers in Redis (Store is
	// then a RedisStore), presence with per-node heartbeats, sessions.
	Redis *redis.Client
	// Node names this node (default random); PresenceTTL bounds how long
	// a crashed node's users stay online (default 15 s).
	Node        string
	PresenceTTL time.Duration
	// TrustedProxies, when set, are the addresses of TLS-terminating
	// proxies in front of the chat: their "X-Forwarded-Proto: https"
	// makes the session cookie Secure.
	TrustedProxies []netip.Prefix
	// AllowedOrigins are the origins (scheme://host[:port]) besides the
	// chat's own that may POST /login and /logout from a browser; every
	// other cross-site POST is refused with 403 (login CSRF).
	AllowedOrigins []string
}

func (c *Config) normalize() {
	if c.Addr == "" {
		c.Addr = "127.0.0.1:8080"
	}
	if c.Store == nil {
		c.Store = NewMemoryStore()
	}
	if c.MaxNameLen <= 0 {
		c.MaxNameLen = 32
	}
	if c.MaxMessageLen <= 0 {
		c.MaxMessageLen = 2000
	}
	if c.MessagesPerSecond <= 0 {
		c.MessagesPerSecond = 10
	}
	if c.MaxRoomsPerConn <= 0 {
		c.MaxRoomsPerConn = 10
	}
	if c.MaxMembersPerRoom <= 0 {
		c.MaxMembersPerRoom = 10000
	}
	if c.MaxQueueBytes <= 0 {
		c.MaxQueueBytes = slowconsumer.DefaultLimit
	}
	if c.HistoryOnJoin <= 0 {
		c.HistoryOnJoin = 50
	}
	if c.AckTimeout <= 0 {
		c.AckTimeout = 5 * time.Second
	}
	if c.AckRetries <= 0 {
		c.AckRetries = 3
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Registry == nil {
		c.Registry = prometheus.NewRegistry()
	}
	if c.PresenceTTL <= 0 {
		c.PresenceTTL = 15 * time.Second
	}
}

// Avatars is the allow-list of avatar keys (the page draws them); any
// other value is replaced by the first.
var Avatars = []string{"cat", "dog", "fox", "owl", "panda", "frog", "bear", "koala"}

// Server is a running chat. Start, Addrs, Stats and Conns come from the
// embedded websocket.Server.
//
// # Concurrency
//
// Every method is safe for concurrent use. Start, Serve and Shutdown may
// race: a Shutdown that comes first wins, and the chat's own resources
// (executor, sessions, layer, store) are closed exactly once, after the
// connections. The Registry's metrics are read from any goroutine.
type Server struct {
	*websocket.Server
	cfg      Config
	store    Store
	sessions *session.Manager
	names    names
	exec     *executor.Executor
	d        *dispatch.Dispatcher
	slow     *slowconsumer.Stats
	m        metrics
	layer    layer.Layer
	rlayer   *layer.Redis   // nil on a single node
	rstore   *RedisStore    // nil on a single node
	presence *presenceStore // nil on a single node
	stopBeat context.CancelFunc
	beatDone chan struct{}

	finishOnce sync.Once
	finishErr  error

	janitorStop, janitorDone chan struct{} // the BoltStore's session janitor
	stopping                 atomic.Bool   // Shutdown began: /healthz says so

	mu        sync.Mutex
	rooms     map[string]*room
	epochs    map[string]string               // each room's epoch as last delivered here
	bySession map[string]map[*member]struct{} // this node's connections per session ID
}

type room struct {
	name    string
	members map[*member]struct{}
	last    uint64 // last sequence number (guarded by the room's executor key)
	epoch   string // the numbering's epoch (likewise)
	loaded  bool
}

type member struct {
	ch      *pipeline.Channel
	sid     string // sessionKey of the session the connection was opened with
	user    User
	rooms   map[string]bool
	limiter *rate.Limiter
	acks    atomic.Bool // the client acks: its messages take part in retry
	history atomic.Bool // a history request is being served

	refused      int // refusals since refusedSince (on the loop)
	refusedSince time.Time
}

var memberKey = pipeline.NewAttrKey[*member]("chat.member")

// statusTryAgainLater (1013) closes a reader too slow for its queue.
const statusTryAgainLater ws.StatusCode = 1013

// New builds the chat server (not yet listening).
func New(cfg Config) (*Server, error) {
	cfg.normalize()
	s := &Server{cfg: cfg, store: cfg.Store, rooms: map[string]*room{}, bySession: map[string]map[*member]struct{}{}, epochs: map[string]string{}, slow: &slowconsumer.Stats{}}
	if cfg.Redis != nil {
		rl, err := layer.NewRedis(context.Background(), layer.RedisConfig{Client: cfg.Redis, Node: cfg.Node, Logger: cfg.Logger, Tap: s.track,
			Sequence: &layer.Sequence{Of: seqOf, Read: s.readLog, Head: s.logHead}})
		if err != nil {
			return nil, err
		}
		s.layer, s.rlayer = rl, rl
		s.rstore = NewRedisStore(RedisStoreConfig{Client: cfg.Redis})
		s.store = s.rstore
		s.presence = &presenceStore{c: cfg.Redis, node: rl.Node(), ttl: cfg.PresenceTTL}
		s.names = redisNames{c: cfg.Redis}
		s.sessions = session.New(session.Config{Store: redisstore.New(redisstore.Config{Client: cfg.Redis}),
			TrustProxy: len(cfg.TrustedProxies) > 0, TrustedProxies: cfg.TrustedProxies})
		if err := s.presence.beat(context.Background()); err != nil {
			_ = rl.Close()
			return nil, fmt.Errorf("chat: redis: %w", err)
		}
		var bctx context.Context
		bctx, s.stopBeat = context.WithCancel(context.Background())
		s.beatDone = make(chan struct{})
		go s.heartbeat(bctx)
	} else {
		l := layer.NewLocal()
		l.Tap = s.track
		s.layer = l
		scfg := session.Config{TrustProxy: len(cfg.TrustedProxies) > 0, TrustedProxies: cfg.TrustedProxies}
		if bs, ok := cfg.Store.(*BoltStore); ok {
			// Sessions and names live in the same file as the history, so
			// a restart logs nobody out.
			scfg.Store, s.names = bs, boltNames{s: bs}
			s.janitorStop, s.janitorDone = make(chan struct{}), make(chan struct{})
			go s.collectSessions(bs)
		} else {
			s.names = &memoryNames{m: map[string]string{}}
		}
		s.sessions = session.New(scfg)
	}
	s.exec = executor.New(executor.Config{Workers: 4})
	s.m = newMetrics(cfg.Registry, s)
	s.d = dispatch.New(dispatch.Config{Key: "type", MaxMessageSize: cfg.MaxMessageLen*6 + 1024, Logger: cfg.Logger})
	s.routes()
	ws, err := websocket.New(websocket.Config{
		Addrs:  []string{cfg.Addr},
		Routes: map[string]websocket.Handler{"/ws/chat/{room}": (*handler)(s)},
		HTTP:   s.httpRoutes,
		Upgrade: wsupgrade.Config{
			Authorize: func(ctx *pipeline.Context, req *http1.Request) (int, string) {
				if !validRoom(req.Param("room")) {
					return 400, "bad room name" // refused before the upgrade, not closed after it
				}
				switch sess, err := session.FromChannelErr(ctx.Channel()); {
				case errors.Is(err, session.ErrUnavailable):
					return 503, "sessions unavailable, try again" // not "log in": the session may be fine
				case sess == nil:
					return 401, "log in first"
				}
				return 0, ""
			},
			OnRefused: func(status int, reason string) {
				s.m.handshakeFailures.WithLabelValues(reason).Inc()
			},
			Compression: true,
		},
		Sessions: s.sessions,
		Handlers: func(p *pipeline.Pipeline, hs *wsupgrade.Handshake) error {
			slow := slowconsumer.New(slowconsumer.Config{Limit: cfg.MaxQueueBytes, Code: statusTryAgainLater, Stats: s.slow})
			if err := p.AddAfter(wsframe.Name, slowconsumer.Name, slow); err != nil {
				return err
			}
			if err := p.AddLast(ack.Name, ack.New(ack.Config{Timeout: cfg.AckTimeout, MaxRetries: cfg.AckRetries})); err != nil {
				return err
			}
			return p.AddLast(dispatch.Name, s.d)
		},
		Server: bootstrap.Config{Workers: cfg.Workers, Logger: cfg.Logger},
	})
	if err != nil {
		s.close()
		return nil, err
	}
	s.Server = ws
	return s, nil
}

// collectSessions deletes expired sessions from the BoltStore every
// minute, until close.
func (s *Server) collectSessions(bs *BoltStore) {
	defer close(s.janitorDone)
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		if n, err := bs.collectSessions(time.Now()); err != nil {
			s.cfg.Logger.Warn("chat: collecting expired sessions", "err", err)
		} else if n > 0 {
			s.cfg.Logger.Debug("chat: expired sessions collected", "n", n)
		}
		select {
		case <-s.janitorStop:
			return
		case <-t.C:
		}
	}
}

func (s *Server) close() {
	if s.janitorStop != nil {
		close(s.janitorStop)
		<-s.janitorDone
		s.janitorStop = nil
	}
	s.exec.Close()
	s.sessions.Close()
	if s.stopBeat != nil {
		s.stopBeat()
		<-s.beatDone
		s.stopBeat = nil
	}
	_ = s.layer.Close()
}

// heartbeat keeps this node's presence alive and reaps crashed nodes'
// users from the rooms this node has members in, announcing their logout.
func (s *Server) heartbeat(ctx context.Context) {
	defer close(s.beatDone)
	t := time.NewTicker(s.cfg.PresenceTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := s.presence.beat(ctx); err != nil {
			s.cfg.Logger.Warn("chat: redis heartbeat failed", "err", err)
			continue
		}
		s.mu.Lock()
		var rooms []string
		for name, r := range s.rooms {
			if len(r.members) > 0 {
				rooms = append(rooms, name)
			}
		}
		s.mu.Unlock()
		for _, name := range rooms {
			_, dead, err := s.presence.list(ctx, name)
			if err != nil || len(dead) == 0 {
				continue
			}
			for _, u := range s.presence.reap(ctx, name, dead) {
				s.announce(name, "logout", u.Name)
			}
		}
	}
}

// Serve runs until ctx ends (or Shutdown is called), then shuts down
// gracefully: every connection gets close 1001, the executor drains
// (history flushed), the store closes. Safe for concurrent use with
// Shutdown; after Shutdown it returns bootstrap.ErrServerClosed.
func (s *Server) Serve(ctx context.Context) error {
	served := make(chan struct{})
	defer close(served)
	go func() {
		select {
		case <-ctx.Done():
			s.stopping.Store(true) // as the shutdown begins: a balancer stops sending
		case <-served:
		}
	}()
	err := s.Server.Serve(ctx)
	if errors.Is(err, bootstrap.ErrServerClosed) {
		return err
	}
	return s.finish(err)
}

// Shutdown stops the server (see Serve for what it flushes). Safe for
// concurrent use with Serve and itself: the executor, sessions, layer
// and store are closed once, after the connections.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopping.Store(true)
	return s.finish(s.Server.Shutdown(ctx))
}

// finish closes what the chat owns, once, and returns err or else the
// store's close error.
func (s *Server) finish(err error) error {
	s.finishOnce.Do(func() {
		s.close()
		s.finishErr = s.store.Close()
	})
	if err == nil {
		err = s.finishErr
	}
	return err
}

// A session's connections form a layer group, so that a logout on any
// node reaches them on every node.
const sessionGroupPrefix = "session:"

// sessionKeyOf names a session without revealing its ID (group names
// travel through Redis): the first 128 bits of its SHA-256, in hex.
func sessionKeyOf(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:16])
}

func sessionGroup(key string) string { return sessionGroupPrefix + key }

// endSession tells every node that session id has ended: its members get
// a system notice, then each node closes its connections of that session
// (in track, which sees the group message on every node).
func (s *Server) endSession(id string) {
	b, _ := json.Marshal(notice{Type: "system", Msg: "logged out"})
	if err := s.layer.GroupSend(sessionGroup(sessionKeyOf(id)), layer.Message{Text: true, Data: b}); err != nil {
		s.m.lost.Inc()
	}
}

// closeSession closes this node's connections of the session named key
// (1000, "logged out").
func (s *Server) closeSession(key string) {
	s.mu.Lock()
	var chs []*pipeline.Channel
	for m := range s.bySession[key] {
		chs = append(chs, m.ch)
	}
	s.mu.Unlock()
	for _, ch := range chs {
		ch.WriteAndFlush(closeFrame(ws.StatusNormalClosure, "logged out"))
	}
}

// Rooms returns the number of rooms this node keeps state for: those
// with members here (a room is forgotten when its last member leaves; its
// history stays in the store). Safe for concurrent use.
func (s *Server) Rooms() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return max(len(s.rooms), len(s.epochs))
}

func roomKey(name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return h.Sum64()
}

func validRoom(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for _, r := range name {
		if !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// out messages
type presence struct {
	Type     string `json:"type"`
	Msg      string `json:"msg"`
	Room     string `json:"room"`
	UserList []User `json:"user_list"`
	Count    int    `json:"count"`
}

type chatMsg struct {
	Type string `json:"type"`
	Msg
}

type historyMsg struct {
	Type     string `json:"type"`
	Room     string `json:"room"`
	Messages []Msg  `json:"messages"`
	Last     uint64 `json:"last"`
	// Epoch of the room's numbering: a client whose epoch differs starts
	// the room over (its ids are from before the store lost its data).
	Epoch string `json:"epoch"`
	// More: after a page asked with since > 0, newer messages follow;
	// after the newest page (since 0) or one asked with before, older
	// ones exist.
	More bool `json:"more"`
}

// historyQuery is one page of history: after since (oldest first; since
// 0 with no before: the newest page), or before an id.
type historyQuery struct {
	since, before uint64
	limit         int
	epoch         string // the client's; another than the room's means since and before are void
}

type notice struct {
	Type string `json:"type"`
	Msg  string `json:"msg"`
	User *User  `json:"user,omitempty"`
}

// in messages
type inMsg struct {
	Type  string `json:"type"`
	Msg   string `json:"msg"`
	Room  string `json:"room"`
	Since uint64 `json:"since"`
	ID    uint64 `json:"id"`
	// history paging
	Before uint64 `json:"before"`
	Limit  int    `json:"limit"`
	// Epoch is the client's idea of the room's epoch (history, join, ack).
	Epoch string `json:"epoch"`
}

func (s *Server) send(ch *pipeline.Channel, v any) {
	b, _ := json.Marshal(v)
	s.m.out.Inc()
	ch.WriteAndFlush(wsframe.AcquireMessage(ws.OpText, b))
}

// broadcast sends v to every member of room, on every node, encoded once
// per node.
func (s *Server) broadcast(room string, v any) []byte {
	b, _ := json.Marshal(v)
	if err := s.layer.GroupSend(room, layer.Message{Text: true, Data: b}); err != nil {
		s.m.lost.Inc()
	}
	s.m.broadcasts.Inc()
	return b
}

// announce tells room who came or went, with the online list (the union
// over nodes with Redis). It may block on Redis: call it off the loop.
func (s *Server) announce(room, typ, name string) {
	var list []User
	count := 0
	if s.presence != nil {
		users, _, err := s.presence.list(context.Background(), room)
		if err != nil {
			s.cfg.Logger.Warn("chat: presence", "room", room, "err", err)
		}
		seen := map[string]bool{}
		for _, u := range users {
			if !seen[u.Name] {
				seen[u.Name] = true
				list = append(list, u)
			}
		}
		sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
		count = len(list)
		if len(list) > maxUserList {
			list = list[:maxUserList]
		}
	} else {
		s.mu.Lock()
		if r := s.rooms[room]; r != nil {
			list, count = s.userList(r), s.online(r)
		}
		s.mu.Unlock()
	}
	if list == nil || count > maxUserList {
		list = []User{}
	}
	s.broadcast(room, presence{Type: typ, Msg: name, Room: room, UserList: list, Count: count})
}

// online counts the distinct users in r.
func (s *Server) online(r *room) int {
	seen := map[string]bool{}
	for m := range r.members {
		seen[m.user.Name] = true
	}
	return len(seen)
}

func (s *Server) userList(r *room) []User {
	seen := map[string]bool{}
	var out []User
	for m := range r.members {
		if !seen[m.user.Name] {
			seen[m.user.Name] = true
			out = append(out, m.user)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	if len(out) > maxUserList {
		out = out[:maxUserList]
	}
	return out
}

// maxUserList caps the user_list of presence events (count stays exact).
// In rooms bigger than that, presence broadcasts carry the count only and
// the newcomer alone gets the list: a full list on every join would make a
// big room's presence traffic quadratic in bytes.
const maxUserList = 100

// join adds m to room name and tells everyone; it answers the member with
// an error when a limit refuses it.
func (s *Server) join(m *member, name string, q historyQuery) bool {
	if !validRoom(name) {
		s.send(m.ch, errMsg("bad_room", "room names are 1 to 64 letters, digits, - or _"))
		return false
	}
	if m.rooms[name] {
		return true
	}
	if len(m.rooms) >= s.cfg.MaxRoomsPerConn {
		s.send(m.ch, errMsg("too_many_rooms", fmt.Sprintf("at most %d rooms per connection", s.cfg.MaxRoomsPerConn)))
		return false
	}
	s.mu.Lock()
	r := s.rooms[name]
	if r == nil {
		r = &room{name: name, members: map[*member]struct{}{}}
		s.rooms[name] = r
	}
	if len(r.members) >= s.cfg.MaxMembersPerRoom {
		s.mu.Unlock()
		s.send(m.ch, errMsg("room_full", fmt.Sprintf("room %s is full", name)))
		return false
	}
	r.members[m] = struct{}{}
	m.rooms[name] = true
	s.mu.Unlock()
	_ = s.layer.GroupAdd(name, m.ch)
	conn := strconv.FormatUint(m.ch.ID(), 10)
	u := m.user
	ch := m.ch
	if err := s.exec.Submit(roomKey(name), func() {
		if s.presence != nil {
			if err := s.presence.add(context.Background(), name, conn, u); err != nil {
				s.cfg.Logger.Warn("chat: presence", "room", name, "err", err)
			}
		}
		s.announce(name, "login", u.Name)
	}); err != nil {
		s.send(ch, errMsg(dispatch.CodeBusy, "server busy, try again"))
	}
	// The join's own backlog follows the announcement on the room's queue
	// (a join costs tokens and rooms per connection are capped).
	// A join with since (a reconnect resuming the room) gets the page after
	// it; a fresh one the last HistoryOnJoin messages.
	q.limit = s.cfg.HistoryOnJoin
	if q.since > 0 {
		q.limit = HistoryPageMax
	}
	if err := s.exec.Submit(roomKey(name), func() { s.send(ch, s.readHistory(name, q)) }); err != nil {
		s.send(ch, errMsg(dispatch.CodeBusy, "server busy, try again"))
	}
	return true
}

func (s *Server) leave(m *member, name string) {
	s.mu.Lock()
	r := s.rooms[name]
	if r == nil || !m.rooms[name] {
		s.mu.Unlock()
		return
	}
	delete(r.members, m)
	delete(m.rooms, name)
	if len(r.members) == 0 {
		delete(s.rooms, name) // its sequence is reloaded from the store if the room comes back
		delete(s.epochs, name)
	}
	s.mu.Unlock()
	_ = s.layer.GroupDiscard(name, m.ch)
	conn := strconv.FormatUint(m.ch.ID(), 10)
	who := m.user.Name
	_ = s.exec.Submit(roomKey(name), func() {
		if s.presence != nil {
			_ = s.presence.remove(context.Background(), name, conn)
		}
		s.announce(name, "logout", who)
	})
}

// sendHistory reads and sends a page of history off the loop, on the
// executor queue of m's connection (not of the room), so one connection's
// requests never wait behind another's, nor hold up a room's posts. The
// caller has claimed m's history slot (startHistory); it is freed here.
func (s *Server) sendHistory(m *member, name string, q historyQuery) {
	ch := m.ch
	if err := s.exec.Submit(ch.ID(), func() {
		reply := s.readHistory(name, q)
		m.history.Store(false) // before the reply: a client that asks again on receipt is never refused
		s.send(ch, reply)
	}); err != nil {
		m.history.Store(false)
		s.send(ch, errMsg(dispatch.CodeBusy, "server busy, try again"))
	}
}

// errorMsg is an error reply; its fields keep their order on the wire.
type errorMsg struct {
	Type string `json:"type"`
	Code string `json:"code"`
	Msg  string `json:"msg"`
}

// readHistory reads a page of history and returns the reply (a history
// page, or an error message); it blocks on the store: call it on the
// executor.
func (s *Server) readHistory(name string, q historyQuery) any {
	epoch, err := s.store.Epoch(name)
	if err != nil {
		s.cfg.Logger.Error("chat: history", "room", name, "err", err)
		return errMsg("internal", "history unavailable")
	}
	if q.epoch != "" && epoch != "" && q.epoch != epoch {
		q.since, q.before = 0, 0 // the client's ids belong to an older numbering: the newest page
	}
	// One message more than the page tells whether there are more.
	var msgs []Msg
	more := false
	switch {
	case q.before > 0:
		msgs, err = s.store.Before(name, q.before, q.limit+1)
		if len(msgs) > q.limit {
			msgs, more = msgs[1:], true
		}
	case q.since == 0:
		msgs, err = s.store.History(name, 0, q.limit+1)
		if len(msgs) > q.limit {
			msgs, more = msgs[1:], true // older ones exist: page back with before
		}
	default:
		msgs, err = s.store.History(name, q.since, q.limit+1)
		if len(msgs) > q.limit {
			msgs, more = msgs[:q.limit], true
		}
	}
	if err != nil {
		s.cfg.Logger.Error("chat: history", "room", name, "err", err)
		return errMsg("internal", "history unavailable")
	}
	last, _ := s.store.LastID(name)
	if msgs == nil {
		msgs = []Msg{}
	}
	return historyMsg{Type: "history", Room: name, Messages: msgs, Last: last, Epoch: epoch, More: more}
}

func errMsg(code, msg string) errorMsg { return errorMsg{Type: "error", Code: code, Msg: msg} }

func closeFrame(code ws.StatusCode, reason string) wsframe.Close {
	return wsframe.Close{Code: code, Reason: reason}
}

func (s *Server) routes() {
	dispatch.On(s.d, "user", func(c *dispatch.Ctx, in *inMsg) error {
		m, _ := memberKey.Get(c.Channel())
		s.m.in.Inc()
		if !s.allow(m, "user") {
			return nil
		}
		text := strings.TrimSpace(in.Msg)
		if text == "" || utf8.RuneCountInString(text) > s.cfg.MaxMessageLen {
			s.refuse(m, "too_long", fmt.Sprintf("messages are 1 to %d characters", s.cfg.MaxMessageLen))
			return nil
		}
		name := in.Room
		if name == "" {
			for r := range m.rooms {
				if name == "" || r < name {
					name = r
				}
			}
		}
		if !m.rooms[name] {
			s.refuse(m, "not_in_room", "join the room first")
			return nil
		}
		s.post(m, name, text, time.Now())
		return nil
	})
	dispatch.On(s.d, "join", func(c *dispatch.Ctx, in *inMsg) error {
		m, _ := memberKey.Get(c.Channel())
		if s.allow(m, "join") {
			s.join(m, in.Room, historyQuery{since: in.Since, epoch: in.Epoch})
		}
		return nil
	})
	dispatch.On(s.d, "leave", func(c *dispatch.Ctx, in *inMsg) error {
		m, _ := memberKey.Get(c.Channel())
		if s.allow(m, "leave") {
			s.leave(m, in.Room)
		}
		return nil
	})
	dispatch.On(s.d, "history", func(c *dispatch.Ctx, in *inMsg) error {
		m, _ := memberKey.Get(c.Channel())
		if !s.allow(m, "history") {
			return nil
		}
		if !m.rooms[in.Room] {
			s.refuse(m, "not_in_room", "join the room first")
			return nil
		}
		q := historyQuery{since: in.Since, before: in.Before, limit: HistoryPageMax, epoch: in.Epoch}
		if in.Limit > 0 && in.Limit < HistoryPageMax {
			q.limit = in.Limit
		}
		if in.Before > 0 && in.Since > 0 {
			s.refuse(m, "bad_request", "give since or before, not both")
			return nil
		}
		if s.startHistory(m) {
			s.sendHistory(m, in.Room, q)
		}
		return nil
	})
	dispatch.On(s.d, "ack", func(c *dispatch.Ctx, in *inMsg) error {
		m, _ := memberKey.Get(c.Channel())
		m.acks.Store(true)
		s.mu.Lock()
		current := s.epochs[in.Room]
		s.mu.Unlock()
		if in.Epoch != "" && current != "" && in.Epoch != current {
			return nil // an ack of an older numbering: its ids are not today's
		}
		if t := ack.FromChannel(c.Channel()); t != nil {
			t.AckUpTo(ackGroup(in.Room, current), in.ID)
		}
		return nil
	})
}

// post numbers, stores and broadcasts a message, in order per room.
func (s *Server) post(m *member, name, text string, received time.Time) {
	from := m.user
	if s.rstore != nil {
		s.postRedis(m, name, text, received)
		return
	}
	if err := s.exec.Submit(roomKey(name), func() {
		s.mu.Lock()
		r := s.rooms[name]
		s.mu.Unlock()
		if r == nil {
			// Everyone left since the post was queued: number it from the
			// store, which holds every earlier post of the room (they ran
			// before this job on the room's queue).
			r = &room{name: name}
		}
		if !r.loaded {
			r.last, _ = s.store.LastID(name)
			r.epoch, _ = s.store.Epoch(name)
			if r.epoch == "" {
				r.epoch = newEpoch()
			}
			r.loaded = true
		}
		r.last++
		msg := Msg{ID: r.last, Epoch: r.epoch, Room: name, From: from.Name, Avatar: from.Avatar, Text: text, Time: time.Now().UTC()}
		if err := s.store.Append(msg); err != nil {
			r.last--
			s.cfg.Logger.Error("chat: store", "room", name, "err", err)
			s.send(m.ch, errMsg("internal", "message not stored"))
			return
		}
		s.broadcast(name, chatMsg{Type: "user", Msg: msg})
		s.m.delivery.Observe(time.Since(received).Seconds())
	}); err != nil {
		s.send(m.ch, errMsg(dispatch.CodeBusy, "server busy, try again"))
	}
}

// track keeps every chat message this node delivered pending for the
// local members that ack, so it is sent again (same id) until acked; it
// sees messages from this node and, with Redis, from every other.
func (s *Server) track(group string, m layer.Message) {
	if id, ok := strings.CutPrefix(group, sessionGroupPrefix); ok {
		s.closeSession(id)
		return
	}
	if !bytes.Contains(m.Data, []byte(`"type":"user"`)) {
		return
	}
	var ackers []*pipeline.Channel
	s.mu.Lock()
	if r := s.rooms[group]; r != nil {
		for mm := range r.members {
			if mm.acks.Load() {
				ackers = append(ackers, mm.ch)
			}
		}
	}
	s.mu.Unlock()
	if len(ackers) == 0 {
		return // nobody acks: no need to look inside the message
	}
	var head struct {
		Type  string `json:"type"`
		ID    uint64 `json:"id"`
		Epoch string `json:"epoch"`
	}
	if json.Unmarshal(m.Data, &head) != nil || head.Type != "user" || head.ID == 0 {
		return
	}
	s.mu.Lock()
	if s.rooms[group] != nil { // a room everyone just left is forgotten, epoch included
		s.epochs[group] = head.Epoch
	}
	s.mu.Unlock()
	data := append([]byte(nil), m.Data...)
	ag := ackGroup(group, head.Epoch)
	for _, ch := range ackers {
		ch.Execute(func() {
			if t := ack.FromChannel(ch); t != nil {
				t.Track(ag, head.ID, data)
			}
		})
	}
}

// ackGroup is the ack tracker's group of a room's messages in one epoch,
// so an ack of an old numbering can never acknowledge a new message.
func ackGroup(room, epoch string) string { return room + "\x00" + epoch }

// seqOf tells the Redis layer a chat message's place in its room's
// stream (presence and other notices are not numbered).
func seqOf(group string, m layer.Message) (string, uint64, bool) {
	if strings.HasPrefix(group, sessionGroupPrefix) || !bytes.HasPrefix(m.Data, []byte(`{"type":"user"`)) {
		return "", 0, false
	}
	var head struct {
		ID    uint64 `json:"id"`
		Epoch string `json:"epoch"`
	}
	if json.Unmarshal(m.Data, &head) != nil || head.ID == 0 {
		return "", 0, false
	}
	return head.Epoch, head.ID, true
}

// logHead is a room's current epoch and last id, for the Redis layer.
func (s *Server) logHead(_ context.Context, room string) (string, uint64, error) {
	epoch, err := s.rstore.Epoch(room)
	if err != nil {
		return "", 0, err
	}
	last, err := s.rstore.LastID(room)
	return epoch, last, err
}

// readLog reads a room's stream after id, as published messages, for the
// Redis layer to fill a gap: the stream is the source of truth.
func (s *Server) readLog(ctx context.Context, room string, after uint64) ([]layer.Message, error) {
	msgs, err := s.rstore.History(room, after, HistoryPageMax)
	if err != nil {
		return nil, err
	}
	out := make([]layer.Message, 0, len(msgs))
	for _, msg := range msgs {
		b, _ := json.Marshal(chatMsg{Type: "user", Msg: msg})
		out = append(out, layer.Message{Text: true, Data: b})
	}
	return out, nil
}

// postRedis numbers, stores and publishes a message atomically in Redis;
// every node, this one included, delivers it from its subscription, so all
// see a room's messages in sequence order.
func (s *Server) postRedis(m *member, name, text string, received time.Time) {
	from, ch := m.user, m.ch
	if err := s.exec.Submit(roomKey(name), func() {
		msg := Msg{Room: name, From: from.Name, Avatar: from.Avatar, Text: text, Time: time.Now().UTC()}
		wire, _ := json.Marshal(chatMsg{Type: "user", Msg: msg})
		stored, _ := json.Marshal(msg)
		if _, err := s.rstore.post(context.Background(), name, s.rlayer.GroupTopic(name), wire, stored); err != nil {
			s.m.lost.Inc()
			s.cfg.Logger.Warn("chat: redis post failed", "room", name, "err", err)
			s.send(ch, errMsg("unavailable", "message not sent: storage unavailable, try again"))
			return
		}
		s.m.broadcasts.Inc()
		s.m.delivery.Observe(time.Since(received).Seconds())
	}); err != nil {
		s.send(ch, errMsg(dispatch.CodeBusy, "server busy, try again"))
	}
}

// handler receives connection events from the WebSocket preset.
type handler Server

func (h *handler) OnOpen(c *websocket.Conn) {
	s := (*Server)(h)
	sess := c.Handshake().Session
	u := sessionUser(sess)
	m := &member{ch: c.Channel(), sid: sessionKeyOf(sess.ID), user: u, rooms: map[string]bool{},
		limiter: rate.NewLimiter(rate.Limit(s.cfg.MessagesPerSecond), int(2*s.cfg.MessagesPerSecond))}
	memberKey.Set(c.Channel(), m)
	s.mu.Lock()
	set := s.bySession[m.sid]
	if set == nil {
		set = map[*member]struct{}{}
		s.bySession[m.sid] = set
	}
	set[m] = struct{}{}
	s.mu.Unlock()
	_ = s.layer.GroupAdd(sessionGroup(m.sid), m.ch)
	s.m.conns.Inc()
	s.send(c.Channel(), notice{Type: "handShake", Msg: "connected", User: &u})
	if !s.join(m, c.Handshake().Param("room"), historyQuery{}) {
		c.Close(1008, "cannot join the room")
	}
}

func (h *handler) OnMessage(c *websocket.Conn, typ websocket.MessageType, data []byte) {
	s := (*Server)(h)
	s.send(c.Channel(), errMsg("bad_request", "binary messages are not part of the protocol"))
}

func (h *handler) OnClose(c *websocket.Conn, code ws.StatusCode, reason string) {
	s := (*Server)(h)
	m, ok := memberKey.Get(c.Channel())
	if !ok {
		return
	}
	var rooms []string
	for name := range m.rooms {
		rooms = append(rooms, name)
	}
	for _, name := range rooms {
		s.leave(m, name)
	}
	s.mu.Lock()
	if set := s.bySession[m.sid]; set != nil {
		delete(set, m)
		if len(set) == 0 {
			delete(s.bySession, m.sid)
		}
	}
	s.mu.Unlock()
	_ = s.layer.GroupDiscard(sessionGroup(m.sid), m.ch)
	s.m.conns.Dec()
}

// randomName returns "user" + 8 random characters, as the PHP chat did.
func randomName() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "user" + hex.EncodeToString(b[:])
}

var errBadName = errors.New("chat: bad name")

func (s *Server) cleanName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return randomName(), nil
	}
	if utf8.RuneCountInString(name) > s.cfg.MaxNameLen || !utf8.ValidString(name) {
		return "", errBadName
	}
	for _, r := range name {
		if r < ' ' || r == 0x7f {
			return "", errBadName
		}
	}
	return name, nil
}

func cleanAvatar(a string) string {
	for _, ok := range Avatars {
		if a == ok {
			return a
		}
	}
	return Avatars[0]
}
