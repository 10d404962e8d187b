package chat

import (
	"context"

	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gnetty/gnetty/codec/jsonmsg"

	"github.com/redis/go-redis/v9"

	"github.com/gnetty/gnetty/layer"
)

// RedisStore keeps history in one Redis stream per room (entry IDs are the
// room's sequence numbers, so history since N is an XRANGE) and the
// sequence in a counter, shared by every node. It blocks on the network:
// the chat calls it off the loops.
//
// On a Redis Cluster every key of a room (or a conversation) carries the
// room's partition as its hash tag (layer.HashTag), the same tag as the
// room's sharded channel in the Redis layer, so that posting (counter,
// stream, epoch, cid, publish) stays one atomic script in one slot; on one
// server or a Sentinel set the keys have no tag.
type RedisStore struct {
	c       redis.UniversalClient
	prefix  string
	maxLen  int64
	cluster bool
	parts   int
	wait    int           // replicas a post waits for; 0: none
	waitFor time.Duration // how long it waits for them

	mu       sync.Mutex
	replicas map[string]replicaCount // per primary ("" without a cluster)
}

// replicaCount is a primary's connected replicas as INFO said at a time.
type replicaCount struct {
	n  int
	at time.Time
}

// RedisStoreConfig configures a RedisStore; only Client is required.
type RedisStoreConfig struct {
	// Client is the Redis connection (required): one server's, a
	// Sentinel set's or a Cluster's (see layer.DialRedis).
	Client redis.UniversalClient
	// MaxLen is how many messages a room's stream keeps. Default 10,000.
	MaxLen int64
	// Partitions is, on a Cluster, the Redis layer's number of hash-tag
	// partitions (layer.RedisConfig.Partitions; default 64): the same on
	// every node.
	Partitions int
	// WaitReplicas, when above 0, makes a post wait until that many
	// replicas have it, or every replica connected to the primary when
	// fewer are (Redis's WAIT, on the connection that wrote it), before
	// it is published and acknowledged; a post that is not replicated
	// within WaitTimeout is answered "unavailable" (it may still appear:
	// a retry with its cid finds it). Redis replicates asynchronously, so
	// without it a primary that dies can take posts it acknowledged with
	// it; with it, a failover (which promotes a connected replica) keeps
	// every acknowledged post. A primary left with no replica (after a
	// failover, until one is back) acknowledges from itself alone, so
	// posting resumes. Default 0.
	WaitReplicas int
	// WaitTimeout bounds that wait; default 1 s.
	WaitTimeout time.Duration
}

// NewRedisStore returns a store on Redis.
func NewRedisStore(cfg RedisStoreConfig) *RedisStore {
	if cfg.MaxLen <= 0 {
		cfg.MaxLen = 10000
	}
	if cfg.WaitTimeout <= 0 {
		cfg.WaitTimeout = time.Second
	}
	return &RedisStore{c: cfg.Client, prefix: "gnetty:chat:", maxLen: cfg.MaxLen,
		cluster: layer.TopologyOf(cfg.Client) == layer.Cluster, parts: cfg.Partitions,
		wait: cfg.WaitReplicas, waitFor: cfg.WaitTimeout}
}

// key is the key of what ("seq", "hist", ...) for a room or conversation:
// on a Cluster under the room's hash tag.
func (s *RedisStore) key(room, what string) string {
	if s.cluster {
		return s.prefix + layer.HashTag(room, s.parts) + what + ":" + room
	}
	return s.prefix + what + ":" + room
}

func (s *RedisStore) seqKey(room string) string    { return s.key(room, "seq") }
func (s *RedisStore) streamKey(room string) string { return s.key(room, "hist") }

// SaveUser implements Store.
func (s *RedisStore) SaveUser(u User) error {
	b, _ := jsonmsg.API.Marshal(u)
	return s.c.HSet(context.Background(), s.prefix+"users", nameKey(u.Name), b).Err()
}

// FindUser implements Store.
func (s *RedisStore) FindUser(name string) (User, bool, error) {
	v, err := s.c.HGet(context.Background(), s.prefix+"users", nameKey(name)).Result()
	if errors.Is(err, redis.Nil) {
		return User{}, false, nil
	}
	if err != nil {
		return User{}, false, err
	}
	var u User
	return u, true, jsonmsg.API.Unmarshal([]byte(v), &u)
}

// cidKey is the Redis key remembering a sender's cid for CIDWindow: its
// value is the message's id, a space, and its room.
func (s *RedisStore) cidKey(sender, cid string) string {
	return s.prefix + "cid:" + cidKey(sender, cid)
}

// postCIDKey is where a post's script remembers its cid: cidKey, or on a
// Cluster a key in the room's slot (which Seen, knowing no room, does
// not read: on a Cluster a post's duplicate is caught by its script,
// Append's by Seen).
func (s *RedisStore) postCIDKey(room, sender, cid string) string {
	if s.cluster {
		return s.key(room, "cid") + "\x00" + cidKey(sender, cid)
	}
	return s.cidKey(sender, cid)
}

// Seen implements Store. On a Cluster it finds the cids that Append
// stored; a post's cid lives in its room's slot, where the post script
// itself catches a resend (Seen is given no room to look in).
func (s *RedisStore) Seen(sender, cid string) (Msg, bool, error) {
	ctx := context.Background()
	v, err := s.c.Get(ctx, s.cidKey(sender, cid)).Result()
	if errors.Is(err, redis.Nil) {
		return Msg{}, false, nil
	}
	if err != nil {
		return Msg{}, false, err
	}
	return s.byRef(ctx, v)
}

// byRef reads the message a cid key's value ("<id> <room>") names.
func (s *RedisStore) byRef(ctx context.Context, ref string) (Msg, bool, error) {
	idText, room, ok := strings.Cut(ref, " ")
	if !ok {
		return Msg{}, false, nil
	}
	es, err := s.c.XRange(ctx, s.streamKey(room), idText+"-0", idText+"-0").Result()
	if err != nil || len(es) == 0 {
		return Msg{}, false, err
	}
	ms, err := s.decode(ctx, room, es)
	if err != nil {
		return Msg{}, false, err
	}
	return ms[0], true, nil
}

// Append implements Store (for a message numbered elsewhere).
func (s *RedisStore) Append(m Msg) error {
	b, _ := jsonmsg.API.Marshal(m)
	ctx := context.Background()
	if err := s.c.XAdd(ctx, &redis.XAddArgs{
		Stream: s.streamKey(m.Room), ID: fmt.Sprintf("%d-0", m.ID), MaxLen: s.maxLen, Approx: true, Values: []any{"m", b},
	}).Err(); err != nil {
		return err
	}
	if m.CID != "" {
		if err := s.c.Set(ctx, s.cidKey(senderOf(m), m.CID), fmt.Sprintf("%d %s", m.ID, m.Room), CIDWindow).Err(); err != nil {
			return err
		}
	}
	// The sequence LastID reads moves up to the stored id (never down),
	// and the room gets an epoch if it has none.
	return raiseSeq.Run(ctx, s.c, []string{s.seqKey(m.Room), s.epochKey(m.Room)}, m.ID, m.Epoch).Err()
}

var raiseSeq = redis.NewScript(`
if tonumber(redis.call('GET', KEYS[1]) or '0') < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[1])
end
if ARGV[2] ~= '' then redis.call('SET', KEYS[2], ARGV[2], 'NX') end
return 0`)

func decodeEntries(es []redis.XMessage) ([]Msg, error) {
	out := make([]Msg, 0, len(es))
	for _, e := range es {
		var m Msg
		v, _ := e.Values["m"].(string)
		if err := jsonmsg.API.Unmarshal([]byte(v), &m); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// History implements Store.
func (s *RedisStore) History(room string, since uint64, limit int) ([]Msg, error) {
	ctx := context.Background()
	if since == 0 && limit > 0 {
		es, err := s.c.XRevRangeN(ctx, s.streamKey(room), "+", "-", int64(limit)).Result()
		if err != nil {
			return nil, err
		}
		for i, j := 0, len(es)-1; i < j; i, j = i+1, j-1 {
			es[i], es[j] = es[j], es[i]
		}
		return s.decode(ctx, room, es)
	}
	var es []redis.XMessage
	var err error
	start := fmt.Sprintf("%d-0", since+1)
	if limit > 0 {
		es, err = s.c.XRangeN(ctx, s.streamKey(room), start, "+", int64(limit)).Result()
	} else {
		es, err = s.c.XRange(ctx, s.streamKey(room), start, "+").Result()
	}
	if err != nil {
		return nil, err
	}
	return s.decode(ctx, room, es)
}

// decode decodes a room's entries with their edits.
func (s *RedisStore) decode(ctx context.Context, room string, es []redis.XMessage) ([]Msg, error) {
	ms, err := decodeEntries(es)
	if err != nil {
		return nil, err
	}
	return s.overlay(ctx, room, ms)
}

// Before implements Store.
func (s *RedisStore) Before(room string, before uint64, limit int) ([]Msg, error) {
	if before <= 1 {
		return nil, nil
	}
	ctx := context.Background()
	es, err := s.c.XRevRangeN(ctx, s.streamKey(room), fmt.Sprintf("%d-0", before-1), "-", int64(limit)).Result()
	if err != nil {
		return nil, err
	}
	slices.Reverse(es)
	return s.decode(ctx, room, es)
}

func (s *RedisStore) epochKey(room string) string { return s.key(room, "epoch") }

// editsKey holds a room's edits: the stream's entries never change, so an
// edited or deleted message is its entry overlaid with the edit, field
// id -> the message as it now is.
func (s *RedisStore) editsKey(room string) string { return s.key(room, "edits") }

// overlay replaces the messages of ms that were edited with their edits.
func (s *RedisStore) overlay(ctx context.Context, room string, ms []Msg) ([]Msg, error) {
	if len(ms) == 0 {
		return ms, nil
	}
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = strconv.FormatUint(m.ID, 10)
	}
	vs, err := s.c.HMGet(ctx, s.editsKey(room), ids...).Result()
	if err != nil {
		return nil, err
	}
	for i, v := range vs {
		if str, ok := v.(string); ok {
			var m Msg
			if err := jsonmsg.API.Unmarshal([]byte(str), &m); err != nil {
				return nil, err
			}
			ms[i] = m
		}
	}
	return ms, nil
}

// setEdit stores an edit unless the message was deleted meanwhile (a
// delete is final, whichever node made it).
var setEdit = redis.NewScript(`
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur and string.find(cur, '"deleted":true', 1, true) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1`)

// Edit implements Store: the message as it is (its entry, or its last
// edit) is checked and changed, and the edit stored in the room's edits.
func (s *RedisStore) Edit(room string, id uint64, e Edit) (Msg, error) {
	ctx := context.Background()
	ref := fmt.Sprintf("%d-0", id)
	es, err := s.c.XRange(ctx, s.streamKey(room), ref, ref).Result()
	if err != nil {
		return Msg{}, err
	}
	if len(es) == 0 {
		return Msg{}, ErrNoMessage
	}
	ms, err := decodeEntries(es)
	if err != nil {
		return Msg{}, err
	}
	if ms, err = s.overlay(ctx, room, ms); err != nil {
		return Msg{}, err
	}
	m := ms[0]
	if err := e.apply(&m); err != nil {
		return Msg{}, err
	}
	b, _ := jsonmsg.API.Marshal(m)
	ok, err := setEdit.Run(ctx, s.c, []string{s.editsKey(room)}, strconv.FormatUint(id, 10), string(b)).Int()
	if err != nil {
		return Msg{}, err
	}
	if ok == 0 {
		return Msg{}, ErrDeleted
	}
	return m, nil
}

// Epoch implements Store: one per room, started by postScript (or
// Append) when the room's counter starts from 1.
func (s *RedisStore) Epoch(room string) (string, error) {
	e, err := s.c.Get(context.Background(), s.epochKey(room)).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	return e, err
}

// LastID implements Store.
func (s *RedisStore) LastID(room string) (uint64, error) {
	n, err := s.c.Get(context.Background(), s.seqKey(room)).Uint64()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	return n, err
}

// Close implements Store (the client belongs to the caller).
func (s *RedisStore) Close() error { return nil }

// postScript numbers a message with its key's counter (a room's, or a
// conversation's), appends it to the key's stream and publishes it to each
// topic in one atomic step, so every node sees a key's messages in
// sequence order. The message JSON carries the placeholders "id":0 and
// "epoch":"" (ARGV[1] as published, ARGV[3] as stored); ARGV[4] is the
// Redis layer's labeled envelope header (no origin: every node, this one
// included, delivers it), and the script appends the labels: the kind
// ARGV[6], the epoch and the id.
//
// The key's epoch (KEYS[3]) starts when its counter does: a Redis that
// lost its data numbers from 1 again, under the new epoch ARGV[5].
//
// With a cid (ARGV[7] "1"), KEYS[4] remembers it for ARGV[8] seconds as
// "<id> <key>"; a cid already remembered stores and publishes nothing and
// returns that value, for the sender to get the stored message again.
//
// ARGV[10] is the publishing command: PUBLISH, or SPUBLISH on a Cluster
// (the topics are sharded channels in the keys' slot). With no topics the
// script only numbers and stores, and the caller publishes (after WAIT,
// or to channels in other slots).
var postScript = redis.NewScript(`
if ARGV[7] == '1' then
  local prev = redis.call('GET', KEYS[4])
  if prev then return {0, '', prev} end
end
local id = redis.call('INCR', KEYS[1])
local epoch = redis.call('GET', KEYS[3])
if id == 1 or not epoch then
  epoch = ARGV[5]
  redis.call('SET', KEYS[3], epoch)
end
local msg = (string.gsub(ARGV[1], '"id":0', '"id":' .. id, 1))
msg = (string.gsub(msg, '"epoch":""', '"epoch":"' .. epoch .. '"', 1))
local stored = (string.gsub(ARGV[3], '"id":0', '"id":' .. id, 1))
stored = (string.gsub(stored, '"epoch":""', '"epoch":"' .. epoch .. '"', 1))
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], id .. '-0', 'm', stored)
if ARGV[7] == '1' then
  redis.call('SET', KEYS[4], id .. ' ' .. ARGV[9], 'EX', ARGV[8])
end
local sid = tostring(id)
local labels = string.char(#ARGV[6]) .. ARGV[6] .. string.char(#epoch) .. epoch .. string.char(#sid) .. sid
for i = 5, #KEYS do
  redis.call(ARGV[10], KEYS[i], ARGV[4] .. labels .. msg)
end
return {id, epoch, ''}
`)

// errNotReplicated: WAIT saw fewer replicas than WaitReplicas in time.
var errNotReplicated = errors.New("chat: redis: the post did not reach enough replicas in time")

// post numbers and stores m (in m.Room) and publishes it to topics, with
// postScript; dup: m's cid was seen, and the message stored with it is
// returned. The script publishes itself (atomically, so every node sees a
// key's messages in order) unless the store waits for replicas or, on a
// Cluster, a topic lies in another slot: then it returns the message, and
// publish (here, after WAIT) sends it to the topics, each reader's layer
// putting a room's messages in order again by their numbers.
func (s *RedisStore) post(ctx context.Context, kind string, topics []string, publish func(ctx context.Context, payload []byte) error, m Msg) (Msg, bool, error) {
	m.ID, m.Epoch = 0, ""
	stored, _ := jsonmsg.API.Marshal(m)
	keys := []string{s.seqKey(m.Room), s.streamKey(m.Room), s.epochKey(m.Room), s.postCIDKey(m.Room, senderOf(m), m.CID)}
	inScript := s.wait == 0
	if s.cluster {
		tag := layer.HashTag(m.Room, s.parts)
		for _, t := range topics {
			if !strings.Contains(t, tag) {
				inScript = false // a channel of another slot (a dm's users)
			}
		}
	}
	if inScript {
		keys = append(keys, topics...)
	}
	hasCID := "0"
	if m.CID != "" {
		hasCID = "1"
	}
	pub := "PUBLISH"
	if s.cluster {
		pub = "SPUBLISH"
	}
	res, err := s.runPost(ctx, keys,
		string(wire(kind, m)), strconv.FormatInt(s.maxLen, 10), string(stored), string(layer.LabeledEnvelopeHeader(true)),
		newEpoch(), kind, hasCID, strconv.Itoa(int(CIDWindow/time.Second)), m.Room, pub)
	if err != nil {
		return Msg{}, false, err
	}
	if len(res) != 3 {
		return Msg{}, false, fmt.Errorf("chat: post script answered %v", res)
	}
	if prev, _ := res[2].(string); prev != "" {
		old, ok, err := s.byRef(ctx, prev)
		if err != nil {
			return Msg{}, false, err
		}
		if !ok { // trimmed from the stream since: what the sender needs is its id
			id, _ := strconv.ParseUint(strings.SplitN(prev, " ", 2)[0], 10, 64)
			old = m
			old.ID = id
		}
		return old, true, nil
	}
	id, _ := res[0].(int64)
	m.ID = uint64(id)
	m.Epoch, _ = res[1].(string)
	if !inScript {
		payload := append(layer.LabeledEnvelopeHeader(true), layer.Labels(kind, m.Epoch, m.ID)...)
		if err := publish(ctx, append(payload, wire(kind, m)...)); err != nil {
			return Msg{}, false, err
		}
	}
	return m, false, nil
}

// runPost runs postScript, and with WaitReplicas WAIT after it on the
// same connection (a pipeline on the primary that owns the keys): WAIT
// counts the replicas that have this connection's writes.
func (s *RedisStore) runPost(ctx context.Context, keys []string, args ...any) ([]any, error) {
	if s.wait == 0 {
		return postScript.Run(ctx, s.c, keys, args...).Slice()
	}
	var node redis.Cmdable = s.c
	if cc, ok := s.c.(*redis.ClusterClient); ok {
		m, err := cc.MasterForKey(ctx, keys[0])
		if err != nil {
			return nil, err
		}
		node = m
	}
	want := min(s.wait, s.connectedReplicas(ctx, node, false))
	if want == 0 {
		return postScript.Run(ctx, node, keys, args...).Slice()
	}
	for try := 0; ; try++ {
		var script *redis.Cmd
		var wait *redis.Cmd
		_, err := node.Pipelined(ctx, func(p redis.Pipeliner) error {
			script = postScript.EvalSha(ctx, p, keys, args...)
			wait = p.Do(ctx, "WAIT", want, s.waitFor.Milliseconds())
			return nil
		})
		if err != nil && try == 0 && redis.HasErrorPrefix(script.Err(), "NOSCRIPT") {
			if err := postScript.Load(ctx, node).Err(); err != nil {
				return nil, err
			}
			continue
		}
		if err := script.Err(); err != nil {
			return nil, err
		}
		res, err := script.Slice()
		if err != nil {
			return nil, err
		}
		if n, err := wait.Int64(); err != nil {
			return nil, err
		} else if n < int64(want) {
			// A replica may have gone: what counts is every one connected.
			if now := s.connectedReplicas(ctx, node, true); n < int64(min(s.wait, now)) {
				return nil, fmt.Errorf("%w (%d of %d)", errNotReplicated, n, min(s.wait, now))
			}
		}
		return res, nil
	}
}

// connectedReplicas is how many replicas node's primary has connected,
// from INFO replication, read again when older than a second or when
// fresh. On an error it answers s.wait: the post's own commands fail
// too if the primary is gone, and a hiccup never lowers the bar.
func (s *RedisStore) connectedReplicas(ctx context.Context, node redis.Cmdable, fresh bool) int {
	addr := ""
	if c, ok := node.(*redis.Client); ok && s.cluster {
		addr = c.Options().Addr
	}
	s.mu.Lock()
	rc, ok := s.replicas[addr]
	s.mu.Unlock()
	if ok && !fresh && time.Since(rc.at) < time.Second {
		return rc.n
	}
	info, err := node.Info(ctx, "replication").Result()
	if err != nil {
		return s.wait
	}
	n := 0
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(line, "connected_slaves:"); ok {
			n, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	s.mu.Lock()
	if s.replicas == nil {
		s.replicas = map[string]replicaCount{}
	}
	s.replicas[addr] = replicaCount{n: n, at: time.Now()}
	s.mu.Unlock()
	return n
}

// presence across nodes: one hash per room, field "<node>/<conn>" → user
// JSON, and one heartbeat key per node with a TTL the node refreshes. A
// node's entries count only while its heartbeat lives; a crashed node's
// users vanish from the online list within the TTL, and the first live
// node to notice removes them and announces their logout.
type presenceStore struct {
	c       redis.UniversalClient
	node    string
	ttl     time.Duration
	cluster bool // a room's hash and the directory set live in different slots
}

func (p *presenceStore) roomKey(room string) string { return "gnetty:chat:presence:" + room }
func (p *presenceStore) beatKey(node string) string { return "gnetty:chat:node:" + node }

func (p *presenceStore) beat(ctx context.Context) error {
	return p.c.Set(ctx, p.beatKey(p.node), "1", p.ttl).Err()
}

func (p *presenceStore) roomsKey() string { return "gnetty:chat:rooms" }

func (p *presenceStore) add(ctx context.Context, room, conn string, u User) error {
	b, _ := jsonmsg.API.Marshal(u)
	if err := p.c.HSet(ctx, p.roomKey(room), p.node+"/"+conn, b).Err(); err != nil {
		return err
	}
	return p.c.SAdd(ctx, p.roomsKey(), room).Err() // after the member: a forget in between sees it
}

// forgetRoom takes a room out of the directory when its presence hash is
// empty, atomically (a member added meanwhile keeps it).
var forgetRoom = redis.NewScript(`if redis.call('HLEN', KEYS[1]) == 0 then return redis.call('SREM', KEYS[2], ARGV[1]) end return 0`)

func (p *presenceStore) forget(ctx context.Context, room string) {
	if !p.cluster {
		_ = forgetRoom.Run(ctx, p.c, []string{p.roomKey(room), p.roomsKey()}, room).Err()
		return
	}
	// On a Cluster the two keys are in different slots, where no script
	// reaches both: remove, then put back if a member came meanwhile (add
	// writes the member before the set, so one of the two sees the other).
	if n, err := p.c.HLen(ctx, p.roomKey(room)).Result(); err != nil || n > 0 {
		return
	}
	if err := p.c.SRem(ctx, p.roomsKey(), room).Err(); err != nil {
		return
	}
	if n, err := p.c.HLen(ctx, p.roomKey(room)).Result(); err == nil && n > 0 {
		_ = p.c.SAdd(ctx, p.roomsKey(), room).Err()
	}
}

func (p *presenceStore) remove(ctx context.Context, room, conn string) error {
	return p.c.HDel(ctx, p.roomKey(room), p.node+"/"+conn).Err()
}

// list returns the users of live nodes, and the fields of dead ones.
func (p *presenceStore) list(ctx context.Context, room string) (users []User, dead []string, err error) {
	all, err := p.c.HGetAll(ctx, p.roomKey(room)).Result()
	if err != nil {
		return nil, nil, err
	}
	alive := map[string]bool{}
	for field, v := range all {
		node, _, _ := strings.Cut(field, "/")
		ok, seen := alive[node]
		if !seen {
			n, _ := p.c.Exists(ctx, p.beatKey(node)).Result()
			ok = n == 1
			alive[node] = ok
		}
		if !ok {
			dead = append(dead, field)
			continue
		}
		var u User
		if jsonmsg.API.Unmarshal([]byte(v), &u) == nil {
			users = append(users, u)
		}
	}
	return users, dead, nil
}

// reap removes dead entries; it returns the users this call removed (only
// one node wins each HDEL).
func (p *presenceStore) reap(ctx context.Context, room string, dead []string) []User {
	var gone []User
	for _, f := range dead {
		v, err := p.c.HGet(ctx, p.roomKey(room), f).Result()
		if err != nil {
			continue
		}
		if n, _ := p.c.HDel(ctx, p.roomKey(room), f).Result(); n == 1 {
			var u User
			if jsonmsg.API.Unmarshal([]byte(v), &u) == nil {
				gone = append(gone, u)
			}
		}
	}
	return gone
}
