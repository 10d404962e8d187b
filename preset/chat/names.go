package chat

import (
	"context"
	"errors"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/gnetty/gnetty/handler/session"
)

// Names: a name belongs to the session that logged in with it, while that
// session lives. The record is name -> session ID; whether the owner still
// lives is asked of the session store itself, so a logout or an expiry
// frees the name with no clock of its own to keep in step. Names compare
// without case ("Alice" is taken when "alice" is).
type names interface {
	// owner returns the session ID holding key, or "".
	owner(ctx context.Context, key string) (string, error)
	// swap sets key's owner to to if it is still from ("" for none), and
	// reports whether it did: two logins racing for a name cannot both win.
	swap(ctx context.Context, key, from, to string) (bool, error)
	// release frees key if sid holds it.
	release(ctx context.Context, key, sid string) error
}

func nameKey(name string) string { return strings.ToLower(name) }

// errNameTaken is the answer (409) to a login with a name another live
// session holds.
var errNameTaken = errors.New("chat: name taken")

// claimName makes the session newSID the owner of name, unless a live
// session other than curSID (the one logging in again) holds it. It runs
// off the loop.
func (s *Server) claimName(ctx context.Context, name, curSID string, login func() (newSID string, err error)) (string, error) {
	key := nameKey(name)
	owner, err := s.names.owner(ctx, key)
	if err != nil {
		return "", err
	}
	if owner != "" && owner != curSID {
		switch _, err := s.sessions.Config().Store.Load(ctx, owner); {
		case err == nil:
			return "", errNameTaken
		case !errors.Is(err, session.ErrNotFound):
			return "", err // the store cannot tell: not now
		}
	}
	newSID, err := login()
	if err != nil {
		return "", err
	}
	ok, err := s.names.swap(ctx, key, owner, newSID)
	if err != nil || !ok {
		_ = s.sessions.Config().Store.Delete(ctx, newSID) // another login took it meanwhile
		if err == nil {
			err = errNameTaken
		}
		return "", err
	}
	return newSID, nil
}

// memoryNames keeps names in memory (one node).
type memoryNames struct {
	mu sync.Mutex
	m  map[string]string
}

func (n *memoryNames) owner(_ context.Context, key string) (string, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.m[key], nil
}

func (n *memoryNames) swap(_ context.Context, key, from, to string) (bool, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.m[key] != from {
		return false, nil
	}
	n.m[key] = to
	return true, nil
}

func (n *memoryNames) release(_ context.Context, key, sid string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.m[key] == sid {
		delete(n.m, key)
	}
	return nil
}

// redisNames keeps names in one Redis hash shared by the nodes.
type redisNames struct{ c *redis.Client }

const namesKey = "gnetty:chat:names"

func (n redisNames) owner(ctx context.Context, key string) (string, error) {
	v, err := n.c.HGet(ctx, namesKey, key).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	return v, err
}

var swapName = redis.NewScript(`
if (redis.call('HGET', KEYS[1], ARGV[1]) or '') ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1`)

func (n redisNames) swap(ctx context.Context, key, from, to string) (bool, error) {
	ok, err := swapName.Run(ctx, n.c, []string{namesKey}, key, from, to).Int()
	return ok == 1, err
}

var releaseName = redis.NewScript(`
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then redis.call('HDEL', KEYS[1], ARGV[1]) end
return 0`)

func (n redisNames) release(ctx context.Context, key, sid string) error {
	return releaseName.Run(ctx, n.c, []string{namesKey}, key, sid).Err()
}
