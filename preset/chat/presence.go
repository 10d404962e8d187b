package chat

import (
	"context"
	"time"
)

// heartbeat keeps this node's presence alive and reaps crashed nodes'
// users from the rooms this node has members in, announcing their logout.
func (b *redisBackend) heartbeat(ctx context.Context) {
	defer close(b.done)
	s := b.s
	t := time.NewTicker(s.cfg.PresenceTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := b.presence.beat(ctx); err != nil {
			s.cfg.Logger.Warn("chat: redis heartbeat failed", "err", err)
			continue
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
}
