package layer

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/redis/go-redis/v9"

	"github.com/gnetty/gnetty/pipeline"
)

// RedisConfig configures a Redis layer.
type RedisConfig struct {
	// Client is the Redis connection. Required.
	Client *redis.Client
	// Prefix of the pub/sub channels; default "gnetty".
	Prefix string
	// Node names this node in channel names; default random.
	Node string
	// Encode and Tap as in Local.
	Encode func(Message) any
	Tap    func(group string, m Message)
	// Logger; default slog.Default().
	Logger *slog.Logger
}

// RedisStats count what crossed Redis. Safe for concurrent use.
type RedisStats struct {
	Published     atomic.Uint64 // messages published
	PublishErrors atomic.Uint64 // publishes lost while Redis was unreachable
	Received      atomic.Uint64 // messages received from other nodes
}

// Redis is a Layer shared by several nodes through Redis pub/sub: every
// node delivers to its own members at once (so local delivery keeps
// working while Redis is away) and publishes to the group's Redis channel;
// the other nodes subscribed to it deliver to theirs. A node subscribes to
// a group's channel only while it has members in the group, and to its own
// channel for messages addressed to its channels by name. go-redis
// reconnects and restores the subscriptions when Redis comes back;
// messages published meanwhile are lost and counted in Stats.
type Redis struct {
	cfg   RedisConfig
	local *Local
	ps    *redis.PubSub
	Stats RedisStats

	mu     sync.Mutex
	counts map[string]int // local members per group
	cancel context.CancelFunc
	done   chan struct{}
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
	if err := cfg.Client.Ping(ctx).Err(); err != nil {
		return nil, fmt.Errorf("layer: redis at %s unreachable: %w", cfg.Client.Options().Addr, err)
	}
	r := &Redis{cfg: cfg, local: NewLocal(), counts: map[string]int{}, done: make(chan struct{})}
	r.local.Encode, r.local.Tap = cfg.Encode, cfg.Tap
	r.ps = cfg.Client.Subscribe(ctx, r.nodeTopic(cfg.Node))
	if _, err := r.ps.Receive(ctx); err != nil { // the subscription confirmation
		_ = r.ps.Close()
		return nil, fmt.Errorf("layer: redis subscribe: %w", err)
	}
	var lctx context.Context
	lctx, r.cancel = context.WithCancel(context.Background())
	go r.loop(lctx)
	return r, nil
}

func (r *Redis) groupTopic(g string) string { return r.cfg.Prefix + ":group:" + g }

// GroupTopic returns the Redis channel a group's messages are published
// on, for code that publishes to it from Redis itself (a Lua script).
func (r *Redis) GroupTopic(group string) string { return r.groupTopic(group) }

// EnvelopeHeader returns the bytes to put in front of a message published
// to GroupTopic by anything other than a node (a Lua script): the message
// then has no origin, and every node delivers it, the publisher's too.
func EnvelopeHeader(text bool) []byte {
	flags := byte(0)
	if text {
		flags = 1
	}
	return []byte{flags, 0, 0} // flags, empty origin, empty target
}
func (r *Redis) nodeTopic(n string) string { return r.cfg.Prefix + ":node:" + n }

// envelope: flags(1) | len(origin)(1) origin | len(target)(1) target | data
func (r *Redis) pack(target string, m Message) []byte {
	b := make([]byte, 0, 3+len(r.cfg.Node)+len(target)+len(m.Data))
	flags := byte(0)
	if m.Text {
		flags = 1
	}
	b = append(b, flags, byte(len(r.cfg.Node)))
	b = append(b, r.cfg.Node...)
	b = append(b, byte(len(target)))
	b = append(b, target...)
	return append(b, m.Data...)
}

func unpack(b []byte) (origin, target string, m Message, ok bool) {
	if len(b) < 3 {
		return
	}
	m.Text = b[0]&1 != 0
	n := int(b[1])
	if len(b) < 2+n+1 {
		return
	}
	origin = string(b[2 : 2+n])
	b = b[2+n:]
	t := int(b[0])
	if len(b) < 1+t {
		return
	}
	target = string(b[1 : 1+t])
	m.Data = b[1+t:]
	return origin, target, m, true
}

func (r *Redis) loop(ctx context.Context) {
	defer close(r.done)
	ch := r.ps.Channel()
	groupPrefix := r.cfg.Prefix + ":group:"
	for {
		select {
		case <-ctx.Done():
			return
		case msg, ok := <-ch:
			if !ok {
				return
			}
			origin, target, m, ok := unpack([]byte(msg.Payload))
			if !ok || origin == r.cfg.Node {
				continue
			}
			r.Stats.Received.Add(1)
			if g, isGroup := strings.CutPrefix(msg.Channel, groupPrefix); isGroup {
				_ = r.local.GroupSend(g, m)
			} else {
				_ = r.local.Send(target, m)
			}
		}
	}
}

func (r *Redis) publish(topic string, payload []byte) error {
	if err := r.cfg.Client.Publish(context.Background(), topic, payload).Err(); err != nil {
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
		return r.ps.Subscribe(context.Background(), r.groupTopic(group))
	}
	return nil
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
		return r.ps.Unsubscribe(context.Background(), r.groupTopic(group))
	}
	return nil
}

// GroupSend implements Layer: local members at once, other nodes through
// Redis. The error, if any, says the other nodes missed it.
func (r *Redis) GroupSend(group string, m Message) error {
	_ = r.local.GroupSend(group, m)
	return r.publish(r.groupTopic(group), r.pack("", m))
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

// Close unsubscribes and stops the receiving goroutine.
func (r *Redis) Close() error {
	r.cancel()
	err := r.ps.Close()
	<-r.done
	_ = r.local.Close()
	return err
}
