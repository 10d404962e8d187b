// Package redisstore keeps sessions in Redis, so a login on one node is
// valid on every node sharing the Redis: each session is one key holding
// its JSON data, expiring with the session.
//
// It blocks on the network: session.Manager calls it off the event loops.
package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gnetty/gnetty/handler/session"
)

// Store is a session.Store on Redis.
type Store struct {
	c      *redis.Client
	prefix string
	now    func() time.Time
}

var _ session.Store = (*Store)(nil)

// New returns a store using keys prefix+id (prefix "" means
// "gnetty:session:"); now is the clock (nil: time.Now).
func New(c *redis.Client, prefix string, now func() time.Time) *Store {
	if prefix == "" {
		prefix = "gnetty:session:"
	}
	if now == nil {
		now = time.Now
	}
	return &Store{c: c, prefix: prefix, now: now}
}

// Load implements session.Store.
func (s *Store) Load(ctx context.Context, id string) (*session.Data, error) {
	b, err := s.c.Get(ctx, s.prefix+id).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, session.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	var d session.Data
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// Save implements session.Store.
func (s *Store) Save(ctx context.Context, id string, d *session.Data, expires time.Time) error {
	ttl := expires.Sub(s.now())
	if ttl <= 0 {
		return s.Delete(ctx, id)
	}
	b, err := json.Marshal(d)
	if err != nil {
		return err
	}
	return s.c.Set(ctx, s.prefix+id, b, ttl).Err()
}

// Delete implements session.Store.
func (s *Store) Delete(ctx context.Context, id string) error {
	return s.c.Del(ctx, s.prefix+id).Err()
}
