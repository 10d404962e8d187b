package chat

import (
	"context"
	"fmt"

	"github.com/gnetty/gnetty/handler/http/session"
	"github.com/gnetty/gnetty/handler/http/session/redisstore"
	"github.com/gnetty/gnetty/layer"
)

// setupBackend chooses, in this one place, where the chat keeps its state
// for the configuration, and sets all of it together: the message store,
// the directory (names, accounts, each identity's sessions), the
// sessions' store, the channel layer and the backend that numbers and
// fans out posts.
//
//   - Config.Redis: everything in Redis, shared by every node (the
//     RedisStore, redisDirectory, redisstore sessions, the Redis layer
//     with its log-backed sequence, presence with heartbeats).
//   - Config.Store a *BoltStore: history, directory and sessions in one
//     file on this node, so a restart logs nobody out; the local layer.
//   - otherwise: in memory, on this node (Config.Store, a MemoryStore by
//     default).
//
// What they run (heartbeats, the janitor) starts here and stops in close.
func (s *Server) setupBackend() error {
	cfg := s.cfg
	scfg := session.Config{TrustProxy: len(cfg.TrustedProxies) > 0, TrustedProxies: cfg.TrustedProxies}
	switch bs, bolt := cfg.Store.(*BoltStore); {
	case cfg.Redis != nil:
		b := &redisBackend{s: s, health: layer.NewRedisHealth(cfg.Redis),
			store: NewRedisStore(RedisStoreConfig{Client: cfg.Redis, WaitReplicas: cfg.RedisWaitReplicas, WaitTimeout: cfg.RedisWaitTimeout})}
		rl, err := layer.NewRedis(context.Background(), layer.RedisConfig{Client: cfg.Redis, Node: cfg.Node, Logger: cfg.Logger, Tap: s.track,
			Sequence: &layer.Sequence{Of: seqOf, Read: b.readLog, Head: b.logHead}})
		if err != nil {
			return err
		}
		b.layer, s.layer, s.store = rl, rl, b.store
		b.presence = &presenceStore{c: cfg.Redis, node: rl.Node(), ttl: cfg.PresenceTTL, cluster: rl.Sharded()}
		if err := b.presence.beat(context.Background()); err != nil {
			_ = rl.Close()
			return fmt.Errorf("chat: redis: %w", err)
		}
		s.dir = redisDirectory{c: cfg.Redis}
		scfg.Store = redisstore.New(redisstore.Config{Client: cfg.Redis})
		var bctx context.Context
		bctx, b.stop = context.WithCancel(context.Background())
		b.done = make(chan struct{})
		_ = b.health.Check(context.Background()) // who serves at the start: a later change is a failover
		go b.heartbeat(bctx)
		s.backend = b
		s.registerRedisMetrics(b.health)
	case bolt:
		s.useLocalLayer()
		scfg.Store, s.dir = bs, boltDirectory{s: bs}
		s.janitorStop, s.janitorDone = make(chan struct{}), make(chan struct{})
		go s.collectSessions(bs)
	default:
		s.useLocalLayer()
		s.dir = newMemoryDirectory()
	}
	s.sessions = session.New(scfg)
	return nil
}

// useLocalLayer serves one node: the in-memory layer and backend.
func (s *Server) useLocalLayer() {
	l := layer.NewLocal()
	l.Tap = s.track
	s.layer = l
	s.backend = &localBackend{s: s, nums: map[string]*numbering{}}
}
