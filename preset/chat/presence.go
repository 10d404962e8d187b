package chat

import (
	"context"
	"time"
)

// heartbeat keeps this node's presence alive and reaps crashed nodes'
// users from the rooms this node has members in, announcing their logout;
// and every second it checks Redis's health (checkHealth).
func (b *redisBackend) heartbeat(ctx context.Context) {
	defer close(b.done)
	beat := time.NewTicker(b.s.cfg.PresenceTTL / 3)
	defer beat.Stop()
	health := time.NewTicker(time.Second)
	defer health.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-health.C:
			b.checkHealth(ctx)
		case <-beat.C:
			b.beat(ctx)
		}
	}
}

// beat refreshes this node's presence and reaps dead nodes' users.
func (b *redisBackend) beat(ctx context.Context) {
	s := b.s
	if err := b.presence.beat(ctx); err != nil {
		s.cfg.Logger.Warn("chat: redis heartbeat failed", "err", err)
		return
	}
	for _, name := range s.localRooms() {
		_, dead, err := b.presence.list(ctx, name)
		if err != nil || len(dead) == 0 {
			continue
		}
		for _, u := range b.presence.reap(ctx, name, dead) {
			s.announce(name, "logout", u.Name)
		}
	}
}
