package chat

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gnetty/gnetty/codec/jsonmsg"
)

// Identities. Every user is a stable identity (User.ID) that only its
// owner can act as; direct messages, their history and the user groups are
// keyed by it, never by a display name that anyone can type:
//
//   - "a:" + random: an account, made by the first login with a password
//     to a free name. It holds its name for good and outlives sessions,
//     restarts and nodes.
//   - "g:" + random: a guest, logged in with a name alone. It holds its
//     name while its session lives; a later guest of the same name is a
//     new identity and sees nothing of the old one's.
//   - "t:" + sub: a connection token's subject, the backend's word, in a
//     namespace of its own that /login never gives out.
//
// The directory maps a name's key (nameKey) to its holder; whether a
// guest holder still lives is asked of the session store itself, so a
// logout or an expiry frees the name with no clock of its own to keep in
// step.

const (
	accountPrefix = "a:"
	guestPrefix   = "g:"
	tokenPrefix   = "t:"
)

// holder is who holds a name: its identity, the session of a guest ("" for
// accounts and token users), and the name as its holder shows it.
type holder struct {
	UID  string
	SID  string
	Name string
}

func (h holder) encode() string {
	if h.UID == "" {
		return ""
	}
	return h.UID + "\n" + h.SID + "\n" + h.Name
}

// decodeHolder reads a directory value; a value without newlines is a
// session ID stored before identities existed: a guest of that session.
func decodeHolder(v string) holder {
	if v == "" {
		return holder{}
	}
	f := strings.SplitN(v, "\n", 3)
	if len(f) != 3 {
		return holder{UID: guestPrefix + sessionKeyOf(v), SID: v}
	}
	return holder{UID: f[0], SID: f[1], Name: f[2]}
}

func (h holder) guest() bool { return strings.HasPrefix(h.UID, guestPrefix) }

// account is a name claimed with a password.
type account struct {
	UID     string    `json:"uid"`
	Name    string    `json:"name"`
	Hash    string    `json:"hash"` // PHC string (password.go)
	Created time.Time `json:"created"`
}

// directory keeps names, accounts and the sessions of each identity (for
// "log out everywhere"). Implementations are safe for concurrent use and
// may block (bbolt, Redis): the chat calls them off the loops.
type directory interface {
	// owner returns the encoded holder of key, or "".
	owner(ctx context.Context, key string) (string, error)
	// swap sets key's holder to to if it is still from ("" for none),
	// and reports whether it did: two logins racing for a name cannot
	// both win.
	swap(ctx context.Context, key, from, to string) (bool, error)
	// release frees key if the guest session sid holds it.
	release(ctx context.Context, key, sid string) error

	account(ctx context.Context, uid string) (account, bool, error)
	putAccount(ctx context.Context, a account) error
	deleteAccount(ctx context.Context, uid string) error

	// addSession, sessionsOf and dropSessions keep the session IDs an
	// identity logged in with.
	addSession(ctx context.Context, uid, sid string) error
	sessionsOf(ctx context.Context, uid string) ([]string, error)
	dropSessions(ctx context.Context, uid string, sids ...string) error
}

// memoryDirectory keeps the directory in memory (one node).
type memoryDirectory struct {
	mu       sync.Mutex
	names    map[string]string
	accounts map[string]account
	sessions map[string][]string
}

func newMemoryDirectory() *memoryDirectory {
	return &memoryDirectory{names: map[string]string{}, accounts: map[string]account{}, sessions: map[string][]string{}}
}

func (d *memoryDirectory) owner(_ context.Context, key string) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.names[key], nil
}

func (d *memoryDirectory) swap(_ context.Context, key, from, to string) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.names[key] != from {
		return false, nil
	}
	d.names[key] = to
	return true, nil
}

func (d *memoryDirectory) release(_ context.Context, key, sid string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if h := decodeHolder(d.names[key]); h.guest() && h.SID == sid {
		delete(d.names, key)
	}
	return nil
}

func (d *memoryDirectory) account(_ context.Context, uid string) (account, bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	a, ok := d.accounts[uid]
	return a, ok, nil
}

func (d *memoryDirectory) putAccount(_ context.Context, a account) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.accounts[a.UID] = a
	return nil
}

func (d *memoryDirectory) deleteAccount(_ context.Context, uid string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.accounts, uid)
	return nil
}

func (d *memoryDirectory) addSession(_ context.Context, uid, sid string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !slices.Contains(d.sessions[uid], sid) {
		d.sessions[uid] = append(d.sessions[uid], sid)
	}
	return nil
}

func (d *memoryDirectory) sessionsOf(_ context.Context, uid string) ([]string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.sessions[uid]), nil
}

func (d *memoryDirectory) dropSessions(_ context.Context, uid string, sids ...string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	left := slices.DeleteFunc(d.sessions[uid], func(s string) bool { return slices.Contains(sids, s) })
	if len(left) == 0 {
		delete(d.sessions, uid)
	} else {
		d.sessions[uid] = left
	}
	return nil
}

// redisDirectory keeps the directory in Redis, shared by the nodes: names
// in one hash, accounts in another, each identity's sessions in a set.
type redisDirectory struct{ c redis.UniversalClient }

const (
	namesKey    = "gnetty:chat:names"
	accountsKey = "gnetty:chat:accounts"
	uidSessions = "gnetty:chat:sessions-of:"
)

func (d redisDirectory) owner(ctx context.Context, key string) (string, error) {
	v, err := d.c.HGet(ctx, namesKey, key).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	return v, err
}

var swapName = redis.NewScript(`
if (redis.call('HGET', KEYS[1], ARGV[1]) or '') ~= ARGV[2] then return 0 end
if ARGV[3] == '' then redis.call('HDEL', KEYS[1], ARGV[1]) else redis.call('HSET', KEYS[1], ARGV[1], ARGV[3]) end
return 1`)

func (d redisDirectory) swap(ctx context.Context, key, from, to string) (bool, error) {
	ok, err := swapName.Run(ctx, d.c, []string{namesKey}, key, from, to).Int()
	return ok == 1, err
}

func (d redisDirectory) release(ctx context.Context, key, sid string) error {
	v, err := d.owner(ctx, key)
	if err != nil || v == "" {
		return err
	}
	if h := decodeHolder(v); h.guest() && h.SID == sid {
		_, err = d.swap(ctx, key, v, "")
	}
	return err
}

func (d redisDirectory) account(ctx context.Context, uid string) (account, bool, error) {
	v, err := d.c.HGet(ctx, accountsKey, uid).Bytes()
	if errors.Is(err, redis.Nil) {
		return account{}, false, nil
	}
	if err != nil {
		return account{}, false, err
	}
	var a account
	return a, true, jsonmsg.API.Unmarshal(v, &a)
}

func (d redisDirectory) putAccount(ctx context.Context, a account) error {
	b, _ := jsonmsg.API.Marshal(a)
	return d.c.HSet(ctx, accountsKey, a.UID, b).Err()
}

func (d redisDirectory) deleteAccount(ctx context.Context, uid string) error {
	return d.c.HDel(ctx, accountsKey, uid).Err()
}

func (d redisDirectory) addSession(ctx context.Context, uid, sid string) error {
	return d.c.SAdd(ctx, uidSessions+uid, sid).Err()
}

func (d redisDirectory) sessionsOf(ctx context.Context, uid string) ([]string, error) {
	return d.c.SMembers(ctx, uidSessions+uid).Result()
}

func (d redisDirectory) dropSessions(ctx context.Context, uid string, sids ...string) error {
	if len(sids) == 0 {
		return nil
	}
	args := make([]any, len(sids))
	for i, s := range sids {
		args[i] = s
	}
	return d.c.SRem(ctx, uidSessions+uid, args...).Err()
}
