package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gnetty/gnetty/handler/http/session"
)

// Store is a session.Store on Redis.
type Store struct {
	c      redis.UniversalClient
	prefix string
	now    func() time.Time
}

var _ session.Store = (*Store)(nil)

// Config configures a Store; only Client is required.
type Config struct {
	// Client is the Redis connection (required): one server's, a Sentinel
	// set's or a Cluster's (each session is one key).
	Client redis.UniversalClient
	// Prefix comes before every session ID in the key. Default
	// "gnetty:session:".
	Prefix string
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// New returns a store using keys Prefix+id.
func New(cfg Config) *Store {
	if cfg.Prefix == "" {
		cfg.Prefix = "gnetty:session:"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Store{c: cfg.Client, prefix: cfg.Prefix, now: cfg.Now}
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
