package layer

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/redis/go-redis/v9"

	"github.com/gnetty/gnetty/pipeline"
)

// RedisConfig configures a Redis layer.
type RedisConfig struct {
	// Client is the Redis connection. Required: a single server's or a
	// Sentinel set's client (redis.NewClient, redis.NewFailoverClient;
	// plain pub/sub), or a Redis Cluster's (redis.NewClusterClient;
	// sharded pub/sub, SSUBSCRIBE and SPUBLISH, so that a message is
	// copied to the one shard that owns its channel, not to every node of
	// the cluster). DialRedis makes any of them from a URL.
	Client redis.UniversalClient
	// Prefix of the pub/sub channels; default "gnetty".
	Prefix string
	// Node names this node in channel names; default random.
	Node string
	// Encode and Tap as in Local.
	Encode func(Message) any
	Tap    func(group string, m Message, sentTo []*pipeline.Channel)
	// Sequence, when set, makes delivery of numbered group messages
	// gap-free and duplicate-free across Redis faults (see Sequence).
	Sequence *Sequence
	// Logger; default slog.Default().
	Logger *slog.Logger
	// Partitions is, on a Redis Cluster, how many hash-tag partitions the
	// groups are spread over (see HashTag); default 64. Every node and
	// every store sharing the cluster must use the same number.
	Partitions int
}

// Sequence describes groups whose messages are numbered in a durable log
// (a Redis stream, say), so that a node can deliver each of them exactly
// once and in order even when pub/sub drops some: pub/sub is at most once,
// and a node whose subscription broke (a Redis restart, a network blip)
// misses what was published meanwhile.
//
// A node remembers, per group, the epoch and number of the last message it
// delivered. A message numbered at or below it is a duplicate and is
// dropped; one beyond the next is a gap, and the missing messages are read
// from the log and delivered first; and whenever go-redis subscribes to
// the group again after a reconnect, the log is read from there, so
// messages published while the node was away arrive even if nothing else
// is posted. A different epoch means the log started over (Redis lost its
// data): the node starts counting again from that message.
type Sequence struct {
	// Of returns m's epoch and number in group's log, or ok false for a
	// message that is not numbered (delivered as it comes). Nil means the
	// message's own labels: m.Epoch and m.Seq, numbered when Seq > 0.
	Of func(group string, m Message) (epoch string, seq uint64, ok bool)
	// Read returns up to a page of group's logged messages numbered after
	// after, oldest first, as they would have been published. It runs on
	// the layer's receiving goroutine and may block.
	Read func(ctx context.Context, group string, after uint64) ([]Message, error)
	// Head returns the group's current epoch and last number. It is read
	// when a subscription is confirmed: the first time, so that a message
	// missed right after subscribing is noticed and filled; after a
	// reconnect, so that a log that started over is noticed even when
	// nothing is posted afterwards.
	Head func(ctx context.Context, group string) (epoch string, last uint64, err error)
}

type seqState struct {
	known bool   // a baseline has been taken (Head, or the first message)
	epoch string // the numbering's epoch
	last  uint64 // the last number delivered (or the head when subscribing)
	floor uint64 // the head when subscribing: live messages up to it are new here
}

// RedisStats count what crossed Redis. Safe for concurrent use.
type RedisStats struct {
	Published     atomic.Uint64 // messages published
	PublishErrors atomic.Uint64 // publishes lost while Redis was unreachable
	Received      atomic.Uint64 // messages received from other nodes
	Recovered     atomic.Uint64 // numbered messages read back from the log (gaps filled)
	Duplicates    atomic.Uint64 // numbered messages dropped as already delivered
	Resets        atomic.Uint64 // epochs that changed (the log started over)
}

// Redis is a Layer shared by several nodes through Redis pub/sub: every
// node delivers to its own members at once (so local delivery keeps
// working while Redis is away) and publishes to the group's Redis channel;
// the other nodes subscribed to it deliver to theirs. A node subscribes to
// a group's channel only while it has members in the group, and to its own
// channel for messages addressed to its channels by name. go-redis
// reconnects and restores the subscriptions when Redis comes back;
// messages published meanwhile are lost and counted in Stats.
//
// Sends never wait for Redis: a goroutine of the layer publishes what the
// callers queued (in order, what piled up meanwhile in one pipeline), so
// GroupSend and Send are safe on an event loop. Their error says the
// other nodes may miss the message: the queue is full, or the last
// publish failed.
//
// On a Redis Cluster a group's channel is a sharded channel (SSUBSCRIBE,
// SPUBLISH: a message reaches the one shard that owns the channel, not
// every node of the cluster) whose hash tag is the group's partition
// ("<prefix>:group:{p<n>}<group>", see HashTag): a script that keeps the
// group's keys under the same tag can publish to it atomically. The layer
// holds one subscription connection per partition it uses (all of its
// channels in one slot, as Redis requires of one SSUBSCRIBE). When a
// primary fails over, go-redis connects each such subscription to the
// slot's new owner and subscribes again, as after a restart.
type Redis struct {
	cfg     RedisConfig
	local   *Local
	sharded *redis.ClusterClient // set on a Cluster: sharded pub/sub
	ps      *redis.PubSub        // not sharded: the one subscription connection
	in      chan any             // sharded: what every partition's connection received
	parts   map[int]*redis.PubSub
	// partTopics counts each partition's subscribed topics.
	partTopics map[int]int
	topics     map[string]*redis.PubSub // sharded: the connection each channel is subscribed on
	Stats      RedisStats

	mu     sync.Mutex
	counts map[string]int // local members per group
	seqs   map[string]*seqState
	bases  map[string]baseline // what joins read of a log before the node's subscription was confirmed
	cancel context.CancelFunc
	// pubs feeds the publishing goroutine; pubDown: its last publish
	// failed.
	pubs    chan pub
	pubDone chan struct{}
	pubDown atomic.Bool
	// pubMu guards pubClosed against a publish racing Close.
	pubMu     sync.RWMutex
	pubClosed bool
	lctx      context.Context // sharded: ends the shards' forwarding goroutines
	wg        sync.WaitGroup  // sharded: those goroutines
	done      chan struct{}
}

var _ Layer = (*Redis)(nil)

// NewRedis connects the layer; it fails with a clear error when Redis is
// unreachable.
func NewRedis(ctx context.Context, cfg RedisConfig) (*Redis, error) {
	if cfg.Client == nil {
		return nil, errors.New("layer: RedisConfig.Client is required")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "gnetty"
	}
	if cfg.Node == "" {
		var b [6]byte
		_, _ = rand.Read(b[:])
		cfg.Node = hex.EncodeToString(b[:])
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if err := PingAll(ctx, cfg.Client); err != nil {
		return nil, fmt.Errorf("layer: redis (%s) unreachable: %w", DescribeRedis(cfg.Client), err)
	}
	r := &Redis{cfg: cfg, local: NewLocal(), counts: map[string]int{}, seqs: map[string]*seqState{}, bases: map[string]baseline{}, done: make(chan struct{}),
		pubs: make(chan pub, publishQueue), pubDone: make(chan struct{})}
	r.local.Encode, r.local.Tap = cfg.Encode, cfg.Tap
	var lctx context.Context
	lctx, r.cancel = context.WithCancel(context.Background())
	if cc, ok := cfg.Client.(*redis.ClusterClient); ok {
		r.sharded, r.in = cc, make(chan any, 256)
		r.parts, r.topics, r.partTopics = map[int]*redis.PubSub{}, map[string]*redis.PubSub{}, map[int]int{}
		r.lctx = lctx
		if err := r.subscribe(r.nodeTopic(cfg.Node)); err != nil {
			r.cancel()
			r.closeShards()
			return nil, fmt.Errorf("layer: redis subscribe: %w", err)
		}
		go r.loop(lctx, r.in)
		go r.publisher()
		return r, nil
	}
	r.ps = cfg.Client.Subscribe(ctx, r.nodeTopic(cfg.Node))
	if _, err := r.ps.Receive(ctx); err != nil { // the subscription confirmation
		r.cancel()
		_ = r.ps.Close()
		return nil, fmt.Errorf("layer: redis subscribe: %w", err)
	}
	go r.loop(lctx, r.ps.ChannelWithSubscriptions())
	go r.publisher()
	return r, nil
}

// subscribePartition subscribes topic on the connection of its
// partition n, which it makes for the partition's first topic: go-redis
// connects a sharded subscription to the primary of the first channel's
// slot, so the connection is made by that SSUBSCRIBE, before anything
// reads from it (a read first would connect to a random node), and it is
// closed with the partition's last topic (reconnecting with none, it
// would also go to a random node). Its messages go to r.in. Sharded
// only; r.mu held (or the layer not yet shared).
func (r *Redis) subscribePartition(n int, topic string) (*redis.PubSub, error) {
	ctx := context.Background()
	if ps := r.parts[n]; ps != nil {
		return ps, ps.SSubscribe(ctx, topic)
	}
	ps := r.sharded.SSubscribe(ctx) // no connection yet
	if err := ps.SSubscribe(ctx, topic); err != nil {
		_ = ps.Close()
		return nil, err
	}
	r.parts[n] = ps
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		for x := range ps.ChannelWithSubscriptions() {
			select {
			case r.in <- x:
			case <-r.lctx.Done():
				return
			}
		}
	}()
	return ps, nil
}

// HashTag returns the hash tag ("{p<n>}") of name's partition: on a
// Cluster, the group name's channel carries it, and a store that wants to
// publish to a group from a script keeps the group's keys under it (one
// slot). Partitions spread the groups over the cluster's primaries; every
// group of a partition lives in one slot.
func (r *Redis) HashTag(name string) string { return HashTag(name, r.cfg.Partitions) }

// HashTag returns the hash tag of name's partition of n (see
// Redis.HashTag): "{p" + FNV-1a(name) mod n + "}".
func HashTag(name string, n int) string {
	return "{p" + strconv.Itoa(partitionOf(name, n)) + "}"
}

func partitionOf(name string, n int) int {
	if n <= 0 {
		n = DefaultPartitions
	}
	h := uint32(2166136261)
	for i := 0; i < len(name); i++ {
		h ^= uint32(name[i])
		h *= 16777619
	}
	return int(h % uint32(n))
}

// DefaultPartitions is RedisConfig.Partitions's default.
const DefaultPartitions = 64

// subscribe and unsubscribe a topic on its connection; r.mu held.
func (r *Redis) subscribe(topic string) error {
	ctx := context.Background()
	if r.sharded == nil {
		return r.ps.Subscribe(ctx, topic)
	}
	if r.topics[topic] != nil {
		return nil
	}
	ps, err := r.subscribePartition(partitionOf(r.nameInTopic(topic), r.cfg.Partitions), topic)
	if err != nil {
		return err
	}
	r.topics[topic] = ps
	r.partTopics[partitionOf(r.nameInTopic(topic), r.cfg.Partitions)]++
	return nil
}

func (r *Redis) unsubscribe(topic string) error {
	ctx := context.Background()
	if r.sharded == nil {
		return r.ps.Unsubscribe(ctx, topic)
	}
	ps := r.topics[topic]
	if ps == nil {
		return nil
	}
	delete(r.topics, topic)
	n := partitionOf(r.nameInTopic(topic), r.cfg.Partitions)
	if r.partTopics[n]--; r.partTopics[n] > 0 {
		return ps.SUnsubscribe(ctx, topic)
	}
	// The partition's last topic: close its connection (see
	// subscribePartition).
	delete(r.parts, n)
	delete(r.partTopics, n)
	return ps.Close()
}

func (r *Redis) closeShards() error {
	var first error
	for _, ps := range r.parts {
		if err := ps.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (r *Redis) groupTopic(g string) string {
	if r.sharded != nil {
		return r.cfg.Prefix + ":group:" + r.HashTag(g) + g
	}
	return r.cfg.Prefix + ":group:" + g
}

// nameInTopic returns the group or node name of a channel from
// groupTopic or nodeTopic.
func (r *Redis) nameInTopic(channel string) string {
	if _, after, ok := strings.Cut(channel, "}"); ok && r.sharded != nil {
		return after
	}
	return channel
}

// groupOf returns the group a channel from groupTopic names.
func (r *Redis) groupOf(channel string) (string, bool) {
	g, ok := strings.CutPrefix(channel, r.cfg.Prefix+":group:")
	if ok && r.sharded != nil {
		_, g, ok = strings.Cut(g, "}")
	}
	return g, ok
}

// GroupTopic returns the Redis channel a group's messages are published
// on, for code that publishes to it from Redis itself (a Lua script). On a
// Cluster it is a sharded channel (SPUBLISH) whose hash tag is the
// group's partition: a script that publishes to it must keep its keys
// under HashTag(group) (see Sharded).
func (r *Redis) GroupTopic(group string) string { return r.groupTopic(group) }

// Sharded reports whether the layer runs on a Redis Cluster, where group
// channels are sharded channels: publish to them with SPUBLISH.
func (r *Redis) Sharded() bool { return r.sharded != nil }

// PublishRaw publishes payload (an envelope from EnvelopeHeader or
// LabeledEnvelopeHeader and the data) to a group's channel as a script
// would: every node, this one included, delivers it. It is for messages
// stored by a script that could not publish them itself (on a Cluster,
// a channel outside the script's slot).
func (r *Redis) PublishRaw(ctx context.Context, group string, payload []byte) error {
	return r.publishCtx(ctx, r.groupTopic(group), payload)
}

// EnvelopeHeader returns the bytes to put in front of a message published
// to GroupTopic by anything other than a node (a Lua script): the message
// then has no origin, and every node delivers it, the publisher's too.
// The message carries no labels.
func EnvelopeHeader(text bool) []byte {
	flags := byte(0)
	if text {
		flags = 1
	}
	return []byte{flags, 0, 0} // flags, empty origin, empty target
}

// LabeledEnvelopeHeader is EnvelopeHeader for a message with labels: the
// publisher appends, after it, Labels(kind, epoch, seq) and then the
// data. A Lua script that numbers the message builds the labels itself:
// each of kind, epoch and the decimal seq as one length byte and the bytes.
func LabeledEnvelopeHeader(text bool) []byte {
	h := EnvelopeHeader(text)
	h[0] |= flagLabels
	return h
}

// Labels encodes a message's labels for LabeledEnvelopeHeader.
func Labels(kind, epoch string, seq uint64) []byte {
	return appendLabels(nil, Message{Kind: kind, Epoch: epoch, Seq: seq})
}

const flagLabels = 2

func appendLabels(b []byte, m Message) []byte {
	n := strconv.FormatUint(m.Seq, 10)
	b = append(b, byte(len(m.Kind)))
	b = append(b, m.Kind...)
	b = append(b, byte(len(m.Epoch)))
	b = append(b, m.Epoch...)
	b = append(b, byte(len(n)))
	return append(b, n...)
}
func (r *Redis) nodeTopic(n string) string {
	if r.sharded != nil {
		return r.cfg.Prefix + ":node:" + r.HashTag(n) + n
	}
	return r.cfg.Prefix + ":node:" + n
}

// envelope: flags(1) | len(origin)(1) origin | len(target)(1) target |
// [labels, when flags&2: len(kind) kind len(epoch) epoch len(seq) seq] | data
//
// The target of a group message is the channel it skips (GroupSendExcept);
// of a direct message, the channel it goes to.
func (r *Redis) pack(target string, m Message) []byte {
	b := make([]byte, 0, 3+len(r.cfg.Node)+len(target)+len(m.Data)+len(m.Kind)+len(m.Epoch)+24)
	flags := byte(0)
	if m.Text {
		flags = 1
	}
	labeled := m.Kind != "" || m.Epoch != "" || m.Seq != 0
	if labeled {
		flags |= flagLabels
	}
	b = append(b, flags, byte(len(r.cfg.Node)))
	b = append(b, r.cfg.Node...)
	b = append(b, byte(len(target)))
	b = append(b, target...)
	if labeled {
		b = appendLabels(b, m)
	}
	return append(b, m.Data...)
}

// field reads one length-prefixed field off b.
func field(b []byte) (string, []byte, bool) {
	if len(b) < 1 || len(b) < 1+int(b[0]) {
		return "", nil, false
	}
	return string(b[1 : 1+int(b[0])]), b[1+int(b[0]):], true
}

func unpack(b []byte) (origin, target string, m Message, ok bool) {
	if len(b) < 3 {
		return
	}
	flags := b[0]
	m.Text = flags&1 != 0
	if origin, b, ok = field(b[1:]); !ok {
		return
	}
	if target, b, ok = field(b); !ok {
		return
	}
	if flags&flagLabels != 0 {
		var seq string
		if m.Kind, b, ok = field(b); !ok {
			return
		}
		if m.Epoch, b, ok = field(b); !ok {
			return
		}
		if seq, b, ok = field(b); !ok {
			return
		}
		var err error
		if m.Seq, err = strconv.ParseUint(seq, 10, 64); err != nil {
			return "", "", Message{}, false
		}
	}
	m.Data = b
	return origin, target, m, true
}

func (r *Redis) loop(ctx context.Context, ch <-chan any) {
	defer close(r.done)
	for {
		var v any
		select {
		case <-ctx.Done():
			return
		case x, ok := <-ch:
			if !ok {
				return
			}
			v = x
		}
		switch msg := v.(type) {
		case *redis.Subscription:
			// go-redis subscribes again after every reconnect: read what
			// was published while this node was away.
			if g, isGroup := r.groupOf(msg.Channel); isGroup && (msg.Kind == "subscribe" || msg.Kind == "ssubscribe") {
				r.catchUp(ctx, g)
			}
		case *redis.Message:
			origin, target, m, ok := unpack([]byte(msg.Payload))
			if !ok || origin == r.cfg.Node {
				continue
			}
			r.Stats.Received.Add(1)
			if g, isGroup := r.groupOf(msg.Channel); isGroup {
				r.deliver(ctx, g, target, m)
			} else {
				_ = r.local.Send(target, m)
			}
		}
	}
}

// deliver hands a group message to the local members, in log order for
// numbered ones. It runs on the receiving goroutine only.
func (r *Redis) deliver(ctx context.Context, g, except string, m Message) {
	// except is "<node>.<id>": a channel of another node is none of ours.
	if node, id, ok := strings.Cut(except, "."); ok && node == r.cfg.Node {
		except = id
	} else {
		except = ""
	}
	sq := r.cfg.Sequence
	if sq == nil {
		_ = r.local.GroupSendExcept(g, except, m)
		return
	}
	epoch, n, ok := r.seqOf(g, m)
	if !ok {
		_ = r.local.GroupSendExcept(g, except, m)
		return
	}
	st := r.seqState(g)
	switch {
	case st == nil:
		return // no local members any more
	case !st.known:
		st.known, st.epoch, st.last = true, epoch, n // Head could not be read: this message is the baseline
	case st.epoch != epoch:
		if st.epoch == "" && st.last == 0 {
			st.epoch = epoch // the room's first numbering began after this node subscribed
		} else {
			r.reset(g, st, epoch)
		}
		if n > 1 && !r.fill(ctx, g, st) { // the new numbering's first messages may have been missed too
			return
		}
		if n <= st.last {
			return
		}
		st.last = n
	case n <= st.floor:
		// Published after this node subscribed and before it read the
		// head: new here, and never filled (fills start above the floor).
	case n <= st.last:
		r.Stats.Duplicates.Add(1)
		return
	case n > st.last+1:
		if !r.fill(ctx, g, st) {
			return // the log could not be read: the next message or resubscription tries again, m included
		}
		if n <= st.last {
			return // the fill delivered m too
		}
		st.last = n
	default:
		st.last = n
	}
	_ = r.local.GroupSend(g, m)
}

// catchUp runs when go-redis confirms a subscription to g: the first
// time it takes the baseline from the log's head; after a reconnect it
// reads the log from the last message delivered.
func (r *Redis) catchUp(ctx context.Context, g string) {
	sq := r.cfg.Sequence
	st := r.seqState(g)
	if sq == nil || st == nil {
		return
	}
	var epoch string
	var head uint64
	if sq.Head != nil {
		var err error
		if epoch, head, err = sq.Head(ctx, g); err != nil {
			r.cfg.Logger.Warn("layer: reading the group's head failed", "group", g, "err", err)
			return
		}
	}
	if !st.known {
		if sq.Head != nil {
			st.known, st.epoch, st.last, st.floor = true, epoch, head, head
			if b, ok := r.takeBaseline(g); ok && b.last < head && (b.epoch == epoch || b.epoch == "" && b.last == 0) {
				// A join read the log up to b.last before this first
				// subscription was confirmed (the connection broke and
				// came back meanwhile): what was logged since is new here.
				st.last, st.floor = b.last, b.last
				r.fill(ctx, g, st)
			}
		}
		return
	}
	if sq.Head != nil && epoch != "" && epoch != st.epoch {
		r.reset(g, st, epoch)
	}
	r.fill(ctx, g, st)
}

// baseline is a point of a group's log that local members have read.
type baseline struct {
	epoch string
	last  uint64
}

// Baseline tells the layer that a local member of group has the group's
// log up to last under epoch (the backlog it was sent on joining, read
// after GroupAdd): if the node's first subscription to group is confirmed
// only after that (its connection broke and came back meanwhile), the
// messages logged after last are read from the log then, instead of
// being taken for old. The earliest point given wins. Safe for
// concurrent use; it never blocks.
func (r *Redis) Baseline(group, epoch string, last uint64) {
	if r.cfg.Sequence == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.local.Members(group) == 0 {
		return
	}
	if b, ok := r.bases[group]; !ok || last < b.last {
		r.bases[group] = baseline{epoch: epoch, last: last}
	}
}

func (r *Redis) takeBaseline(g string) (baseline, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	b, ok := r.bases[g]
	delete(r.bases, g)
	return b, ok
}

// reset starts counting g again under a new epoch (the log started over).
func (r *Redis) reset(g string, st *seqState, epoch string) {
	r.Stats.Resets.Add(1)
	r.cfg.Logger.Warn("layer: the group's log started over (new epoch)", "group", g, "epoch", epoch, "was", st.epoch)
	st.epoch, st.last, st.floor = epoch, 0, 0
}

// fill delivers g's logged messages after st.last, in order, page by page.
func (r *Redis) fill(ctx context.Context, g string, st *seqState) bool {
	for range 100 { // bounded: 100 pages at the most per gap
		ms, err := r.cfg.Sequence.Read(ctx, g, st.last)
		if err != nil {
			r.cfg.Logger.Warn("layer: reading the group's log to fill a gap failed", "group", g, "after", st.last, "err", err)
			return false
		}
		progressed := false
		for _, m := range ms {
			epoch, n, ok := r.seqOf(g, m)
			if !ok || epoch != st.epoch || n <= st.last {
				continue
			}
			st.last, progressed = n, true
			r.Stats.Recovered.Add(1)
			_ = r.local.GroupSend(g, m)
		}
		if !progressed {
			return true
		}
	}
	return true
}

// seqOf places m in g's log: by Sequence.Of, or by m's own labels.
func (r *Redis) seqOf(g string, m Message) (string, uint64, bool) {
	if of := r.cfg.Sequence.Of; of != nil {
		return of(g, m)
	}
	return m.Epoch, m.Seq, m.Seq > 0
}

// seqState returns g's delivery state while the node has members in g.
func (r *Redis) seqState(g string) *seqState {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.local.Members(g) == 0 {
		return nil
	}
	st := r.seqs[g]
	if st == nil {
		st = &seqState{}
		r.seqs[g] = st
	}
	return st
}

// pub is a message waiting for the publishing goroutine.
type pub struct {
	topic   string
	payload []byte
}

// publishQueue bounds the messages waiting to be published; past it a
// message is dropped and counted (Redis cannot keep up, or is away).
const publishQueue = 8192

// errPublishDown: the last publish failed; the message is queued anyway.
var errPublishDown = errors.New("layer: redis publishing is failing; remote nodes may miss this message")

// errPublishFull: the queue is full; the message is dropped.
var errPublishFull = errors.New("layer: redis publish queue full; remote nodes miss this message")

// publish hands a message to the publishing goroutine, which never lets
// Redis's round trip block the caller (an event loop, often) and sends
// what queued up meanwhile in one pipeline, in order. The error says the
// message may not reach the other nodes: the queue is full (dropped), or
// the last publish failed (queued all the same).
func (r *Redis) publish(topic string, payload []byte) error {
	r.pubMu.RLock()
	defer r.pubMu.RUnlock()
	if r.pubClosed {
		return ErrClosed
	}
	select {
	case r.pubs <- pub{topic: topic, payload: payload}:
	default:
		r.Stats.PublishErrors.Add(1)
		return errPublishFull
	}
	if r.pubDown.Load() {
		return errPublishDown
	}
	return nil
}

// publisher sends the queued messages, up to 256 in one pipeline.
func (r *Redis) publisher() {
	defer close(r.pubDone)
	batch := make([]pub, 0, 256)
	for p := range r.pubs {
		batch = append(batch[:0], p)
	more:
		for len(batch) < cap(batch) {
			select {
			case p, ok := <-r.pubs:
				if !ok {
					break more
				}
				batch = append(batch, p)
			default:
				break more
			}
		}
		r.publishBatch(batch)
	}
}

func (r *Redis) publishBatch(batch []pub) {
	ctx := context.Background()
	if len(batch) == 1 {
		err := r.publishCtx(ctx, batch[0].topic, batch[0].payload)
		r.pubDown.Store(err != nil)
		return
	}
	cmds, err := r.cfg.Client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, m := range batch {
			if r.sharded != nil {
				p.SPublish(ctx, m.topic, m.payload)
			} else {
				p.Publish(ctx, m.topic, m.payload)
			}
		}
		return nil
	})
	failed := 0
	for _, c := range cmds {
		if c.Err() != nil {
			failed++
		}
	}
	if err != nil && failed == 0 {
		failed = len(batch)
	}
	r.pubDown.Store(failed > 0)
	r.Stats.Published.Add(uint64(len(batch) - failed))
	if failed > 0 {
		r.Stats.PublishErrors.Add(uint64(failed))
		r.cfg.Logger.Warn("layer: redis publish failed; remote nodes miss these messages", "messages", failed, "err", err)
	}
}

func (r *Redis) publishCtx(ctx context.Context, topic string, payload []byte) error {
	var err error
	if r.sharded != nil {
		err = r.sharded.SPublish(ctx, topic, payload).Err()
	} else {
		err = r.cfg.Client.Publish(ctx, topic, payload).Err()
	}
	if err != nil {
		r.Stats.PublishErrors.Add(1)
		r.cfg.Logger.Warn("layer: redis publish failed; remote nodes miss this message", "topic", topic, "err", err)
		return err
	}
	r.Stats.Published.Add(1)
	return nil
}

// Node returns this node's name.
func (r *Redis) Node() string { return r.cfg.Node }

// Name implements Layer: "<node>.<channel id>".
func (r *Redis) Name(ch *pipeline.Channel) string { return r.cfg.Node + "." + r.local.Name(ch) }

// Register implements Layer.
func (r *Redis) Register(ch *pipeline.Channel) { r.local.Register(ch) }

// GroupAdd implements Layer; the first local member subscribes the node.
func (r *Redis) GroupAdd(group string, ch *pipeline.Channel) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	before := r.local.Members(group)
	_ = r.local.GroupAdd(group, ch)
	if before == 0 && r.local.Members(group) == 1 {
		return r.subscribe(r.groupTopic(group))
	}
	return nil
}

// Subscribe implements Layer: a subscriber is a local member, so the node
// receives the group's messages from other nodes while it has one.
func (r *Redis) Subscribe(group string, f func(except string, m Message)) (cancel func()) {
	r.mu.Lock()
	before := r.local.Members(group)
	c := r.local.Subscribe(group, func(except string, m Message) {
		// A local channel name ("<id>") as Local sees it; the caller
		// named it "<node>.<id>".
		if except != "" && !strings.Contains(except, ".") {
			except = r.cfg.Node + "." + except
		}
		f(except, m)
	})
	if before == 0 {
		if err := r.subscribe(r.groupTopic(group)); err != nil {
			r.cfg.Logger.Warn("layer: redis subscribe failed", "group", group, "err", err)
		}
	}
	r.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			r.mu.Lock()
			defer r.mu.Unlock()
			c()
			if r.local.Members(group) == 0 {
				delete(r.seqs, group)
				delete(r.bases, group)
				_ = r.unsubscribe(r.groupTopic(group))
			}
		})
	}
}

// GroupDiscard implements Layer; the last local member unsubscribes.
func (r *Redis) GroupDiscard(group string, ch *pipeline.Channel) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.local.Members(group) == 0 {
		return nil
	}
	_ = r.local.GroupDiscard(group, ch)
	if r.local.Members(group) == 0 {
		delete(r.seqs, group) // a later subscription starts from its first message
		delete(r.bases, group)
		return r.unsubscribe(r.groupTopic(group))
	}
	return nil
}

// GroupSend implements Layer: local members at once, other nodes through
// Redis. The error, if any, says the other nodes missed it.
func (r *Redis) GroupSend(group string, m Message) error {
	return r.GroupSendExcept(group, "", m)
}

// GroupSendExcept implements Layer: except is a name from Name, on this
// node or another.
func (r *Redis) GroupSendExcept(group, except string, m Message) error {
	local := ""
	if node, id, ok := strings.Cut(except, "."); ok && node == r.cfg.Node {
		local = id
	}
	_ = r.local.GroupSendExcept(group, local, m)
	return r.publish(r.groupTopic(group), r.pack(except, m))
}

// Send implements Layer.
func (r *Redis) Send(name string, m Message) error {
	node, id, ok := strings.Cut(name, ".")
	if !ok {
		return ErrNoChannel
	}
	if node == r.cfg.Node {
		return r.local.Send(id, m)
	}
	return r.publish(r.nodeTopic(node), r.pack(id, m))
}

// Members implements Layer (local members).
func (r *Redis) Members(group string) int { return r.local.Members(group) }

// Each implements Layer (local members).
func (r *Redis) Each(group string, f func(ch *pipeline.Channel)) { r.local.Each(group, f) }

// Groups implements Layer (groups with local members).
func (r *Redis) Groups() []string { return r.local.Groups() }

// Close unsubscribes and stops the receiving goroutine.
func (r *Redis) Close() error {
	r.pubMu.Lock()
	r.pubClosed = true
	close(r.pubs) // what is queued is still sent
	r.pubMu.Unlock()
	<-r.pubDone
	r.cancel()
	var err error
	if r.sharded != nil {
		r.mu.Lock()
		err = r.closeShards()
		r.mu.Unlock()
		r.wg.Wait()
	} else {
		err = r.ps.Close()
	}
	<-r.done
	_ = r.local.Close()
	return err
}
