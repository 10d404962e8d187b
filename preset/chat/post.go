package chat

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gnetty/gnetty/codec/jsonmsg"
	"github.com/gnetty/gnetty/handler/ws/dispatch"
	"github.com/gnetty/gnetty/layer"
)

// Kinds of numbered messages, as the layer labels them.
const (
	kindUser = "user" // a room's message
	kindDM   = "dm"   // a direct message
)

// A post is one message on its way to the store and its readers.
type post struct {
	kind     string   // kindUser or kindDM
	key      string   // where it is numbered and stored: the room, or dmRoom(from, to)
	groups   []string // the layer groups it goes to: the room, or both users
	msg      Msg      // ID and Epoch are the backend's to set
	received time.Time
	sender   *member // nil for the publish API
	// done, when set, is told the outcome (the publish API answers with it).
	done func(Msg, error)
}

// backend numbers, stores and fans out posts, and keeps the online
// lists: one node's (localBackend) or several nodes' through Redis
// (redisBackend). Its methods block: call them on the executor.
type backend interface {
	// publish numbers and stores p.msg and delivers it to p.groups, on
	// every node. A cid the sender used within CIDWindow stores nothing:
	// publish returns the message stored then, and dup true.
	publish(p *post) (m Msg, dup bool, err error)
	// enter and exit record that conn (this node's connection) is in room
	// as u, or no longer.
	enter(room, conn string, u User) error
	exit(room, conn string) error
	// online returns room's distinct users by name (the first
	// maxUserList) and how many there are.
	online(room string) ([]User, int, error)
	// rooms lists the rooms with members on any node, with how many
	// distinct users each has.
	rooms() ([]RoomInfo, error)
	// close stops what the backend runs (heartbeats).
	close()
}

// submitPost runs p on its key's executor queue (so a room's or a
// conversation's messages are numbered in the order they came) and
// answers the sender when it is refused, duplicated or fails.
func (s *Server) submitPost(p *post) {
	if err := s.exec.Submit(roomKey(p.key), func() { s.runPost(p) }); err != nil && p.sender != nil {
		s.send(p.sender, errMsg(dispatch.CodeBusy, "server busy, try again"))
	}
}

func (s *Server) runPost(p *post) {
	m, dup, err := s.backend.publish(p)
	switch {
	case errors.Is(err, errUnavailable):
		s.m.lost.Inc()
		s.cfg.Logger.Warn("chat: post failed", "key", p.key, "err", err)
		if p.sender != nil {
			s.send(p.sender, errMsg("unavailable", "message not sent: storage unavailable, try again"))
		}
	case err != nil:
		s.cfg.Logger.Error("chat: store", "key", p.key, "err", err)
		if p.sender != nil {
			s.send(p.sender, errMsg("internal", "message not stored"))
		}
	case dup:
		// A resend (after a reconnect, say) of what is stored already: the
		// sender gets the stored message again, with its id; nobody else
		// sees it twice.
		if p.sender != nil {
			s.sendRaw(p.sender, wire(p.kind, m))
		}
	default:
		s.m.broadcasts.Inc()
		s.m.delivery.Observe(time.Since(p.received).Seconds())
	}
	if p.done != nil {
		p.done(m, err)
	}
}

// wire is a numbered message as its readers get it.
func wire(kind string, m Msg) []byte {
	if kind == kindDM {
		m.Room = "" // the conversation's key is the server's business
	}
	b, _ := jsonmsg.API.Marshal(chatMsg{Type: kind, Msg: m})
	return b
}

// labeled is a numbered message for the layer: its labels let the acks
// and Redis's gap filling place it without parsing it.
func labeled(kind string, m Msg) layer.Message {
	return layer.Message{Text: true, Data: wire(kind, m), Kind: kind, Epoch: m.Epoch, Seq: m.ID}
}

// errUnavailable wraps a failure to reach Redis (a post is refused
// "unavailable", to be tried again).
var errUnavailable = errors.New("storage unavailable")

// localBackend is one node's: numbering from the Store, fan-out through
// the local layer, presence from the rooms' members.
type localBackend struct {
	s *Server

	mu   sync.Mutex
	nums map[string]*numbering // per key; reloaded from the store when forgotten
}

// numbering is a key's last id and epoch, guarded by the key's executor
// queue (only that queue's jobs use it).
type numbering struct {
	last  uint64
	epoch string
}

// maxNumberings bounds localBackend.nums: past it the map starts over,
// and each key's numbering is read again from the store, which holds every
// earlier post of the key (they ran before, on the key's queue).
const maxNumberings = 4096

func (b *localBackend) numbering(key string) (*numbering, error) {
	b.mu.Lock()
	n := b.nums[key]
	b.mu.Unlock()
	if n != nil {
		return n, nil
	}
	store := b.s.store
	last, err := store.LastID(key)
	if err != nil {
		return nil, err
	}
	epoch, err := store.Epoch(key)
	if err != nil {
		return nil, err
	}
	if epoch == "" {
		epoch = newEpoch()
	}
	n = &numbering{last: last, epoch: epoch}
	b.mu.Lock()
	if len(b.nums) >= maxNumberings {
		b.nums = map[string]*numbering{}
	}
	b.nums[key] = n
	b.mu.Unlock()
	return n, nil
}

func (b *localBackend) publish(p *post) (Msg, bool, error) {
	store := b.s.store
	if p.msg.CID != "" {
		if m, ok, err := store.Seen(senderOf(p.msg), p.msg.CID); err != nil || ok {
			return m, ok, err
		}
	}
	n, err := b.numbering(p.key)
	if err != nil {
		return Msg{}, false, err
	}
	m := p.msg
	m.ID, m.Epoch = n.last+1, n.epoch
	if err := store.Append(m); err != nil {
		return Msg{}, false, err
	}
	n.last = m.ID
	lm := labeled(p.kind, m)
	for _, g := range p.groups {
		_ = b.s.layer.GroupSend(g, lm)
	}
	return m, false, nil
}

func (b *localBackend) enter(string, string, User) error { return nil } // the rooms' members are the record
func (b *localBackend) exit(string, string) error        { return nil }

func (b *localBackend) online(room string) ([]User, int, error) {
	seen := map[string]bool{}
	var list []User
	for _, m := range b.s.members(room) {
		if !seen[m.user.key()] {
			seen[m.user.key()] = true
			list = append(list, m.user)
		}
	}
	return capList(list), len(list), nil
}

func (b *localBackend) rooms() ([]RoomInfo, error) {
	var out []RoomInfo
	for _, name := range b.s.localRooms() {
		if _, n, _ := b.online(name); n > 0 {
			out = append(out, RoomInfo{Name: name, Members: n})
		}
	}
	return out, nil
}

func (b *localBackend) close() {}

// redisBackend shares rooms between nodes: Redis numbers, stores and
// publishes every post in one script, and keeps the online lists with
// per-node heartbeats.
type redisBackend struct {
	s        *Server
	store    *RedisStore
	layer    *layer.Redis
	presence *presenceStore
	health   *layer.RedisHealth
	stop     context.CancelFunc
	done     chan struct{} // closed by heartbeat
}

func (b *redisBackend) publish(p *post) (Msg, bool, error) {
	m := p.msg
	topics := make([]string, len(p.groups))
	for i, g := range p.groups {
		topics[i] = b.layer.GroupTopic(g)
	}
	publish := func(ctx context.Context, payload []byte) error {
		for _, g := range p.groups {
			if err := b.layer.PublishRaw(ctx, g, payload); err != nil {
				return err
			}
		}
		return nil
	}
	stored, dup, err := b.store.post(context.Background(), p.kind, topics, publish, m)
	if err != nil {
		var rerr redis.Error
		if !errors.As(err, &rerr) {
			err = fmt.Errorf("%w: %w", errUnavailable, err)
		}
		return Msg{}, false, err
	}
	return stored, dup, nil
}

func (b *redisBackend) enter(room, conn string, u User) error {
	return b.presence.add(context.Background(), room, conn, u)
}

func (b *redisBackend) exit(room, conn string) error {
	return b.presence.remove(context.Background(), room, conn)
}

func (b *redisBackend) online(room string) ([]User, int, error) {
	users, _, err := b.presence.list(context.Background(), room)
	seen := map[string]bool{}
	var list []User
	for _, u := range users {
		if !seen[u.key()] {
			seen[u.key()] = true
			list = append(list, u)
		}
	}
	return capList(list), len(list), err
}

func (b *redisBackend) rooms() ([]RoomInfo, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	names, err := b.presence.c.SRandMemberN(ctx, b.presence.roomsKey(), maxDirectory*2).Result()
	if err != nil {
		return nil, err
	}
	var out []RoomInfo
	for _, name := range names {
		users, dead, err := b.presence.list(ctx, name)
		if err != nil {
			return nil, err
		}
		if len(dead) > 0 {
			b.presence.reap(ctx, name, dead)
		}
		seen := map[string]bool{}
		for _, u := range users {
			seen[u.key()] = true
		}
		if len(seen) == 0 {
			b.presence.forget(ctx, name) // no one left on any live node
			continue
		}
		out = append(out, RoomInfo{Name: name, Members: len(seen)})
	}
	return out, nil
}

func (b *redisBackend) close() {
	b.stop()
	<-b.done
}

// checkHealth checks Redis (heartbeat runs it every second) for
// readiness and metrics, and logs a failover as it starts and ends.
func (b *redisBackend) checkHealth(ctx context.Context) {
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	was, before := b.health.Up(), b.health.Failovers.Load()
	err := b.health.Check(cctx)
	cancel()
	switch {
	case err != nil && was && ctx.Err() == nil:
		b.s.cfg.Logger.Warn("chat: redis stopped serving; posts answer unavailable until it is back", "redis", b.health.Status())
	case err == nil && !was:
		b.s.cfg.Logger.Info("chat: redis serves again", "redis", b.health.Status(), "failover", b.health.Failovers.Load() > before)
	case err == nil && b.health.Failovers.Load() > before:
		b.s.cfg.Logger.Info("chat: redis failed over", "redis", b.health.Status())
	}
}

// seqOf tells the Redis layer a room message's place in its room's log,
// from its labels; direct messages go to users' groups, which are not
// logs, and presence and notices are not numbered.
func seqOf(_ string, m layer.Message) (string, uint64, bool) {
	return m.Epoch, m.Seq, m.Kind == kindUser && m.Seq > 0
}

// logHead is a room's current epoch and last id, for the Redis layer.
func (b *redisBackend) logHead(_ context.Context, room string) (string, uint64, error) {
	epoch, err := b.store.Epoch(room)
	if err != nil {
		return "", 0, err
	}
	last, err := b.store.LastID(room)
	return epoch, last, err
}

// readLog reads a room's stream after id, as published messages, for the
// Redis layer to fill a gap: the stream is the source of truth.
func (b *redisBackend) readLog(_ context.Context, room string, after uint64) ([]layer.Message, error) {
	msgs, err := b.store.History(room, after, HistoryPageMax)
	if err != nil {
		return nil, err
	}
	out := make([]layer.Message, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, labeled(kindUser, m))
	}
	return out, nil
}

// connName is how presence names a connection of this node.
func connName(id uint64) string { return strconv.FormatUint(id, 10) }
