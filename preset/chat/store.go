package chat

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/gnetty/gnetty/codec/jsonmsg"
	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// User is a chat user (the PHP seed's chat_user table).
type User struct {
	// ID is the user's identity (see directory.go): "a:..." an account,
	// "g:..." a guest, "t:..." a connection token's subject.
	ID        string    `json:"id,omitempty"`
	Name      string    `json:"username"`
	Avatar    string    `json:"headerimg"`
	LoginTime time.Time `json:"login_time"`
}

// key tells users apart: by identity, or by name for users recorded
// before identities.
func (u User) key() string {
	if u.ID != "" {
		return u.ID
	}
	return "name:" + nameKey(u.Name)
}

// Msg is one chat message (the PHP seed's chat_msg table); ID is the
// room's sequence number.
type Msg struct {
	ID uint64 `json:"id"`
	// Epoch names the room's numbering: a store that lost its data (a
	// Redis without persistence, restarted) numbers from 1 again under a
	// new epoch, so nobody mistakes the new messages for the old ones.
	Epoch string `json:"epoch"`
	// Room is the room's name; a direct message's is its conversation's
	// key (dmRoom), never shown: it has To instead.
	Room string `json:"room,omitempty"`
	To   string `json:"to,omitempty"`
	From string `json:"from"`
	// FromID and ToID are the sender's and (direct messages) the
	// recipient's identities (User.ID).
	FromID string `json:"from_id,omitempty"`
	ToID   string `json:"to_id,omitempty"`
	Avatar string `json:"headerimg"`
	// Text is empty for a deleted message.
	Text string    `json:"msg,omitempty"`
	Time time.Time `json:"time"`
	// EditedAt is when the author last edited or deleted the message;
	// Deleted says it was deleted (its text is gone).
	EditedAt *time.Time `json:"edited_at,omitempty"` // a pointer: jsoniter has no omitzero
	Deleted  bool       `json:"deleted,omitempty"`
	// CID is the sender's own ID for the message (see Store.Seen).
	CID string `json:"cid,omitempty"`
}

// CIDWindow is how long a store remembers a sender's cid: a resend within
// it is answered with the stored message, never stored again.
const CIDWindow = time.Hour

// maxMemoryCIDs bounds the MemoryStore's cid index (oldest dropped first).
const maxMemoryCIDs = 100_000

// cidKey is where a sender's cid is remembered; sender is senderOf the
// message.
func cidKey(sender, cid string) string { return sender + "\x00" + cid }

// senderOf names who sent m, for cids: its sender's identity, or (the
// publish API, and messages stored before identities) its name.
func senderOf(m Msg) string {
	if m.FromID != "" {
		return m.FromID
	}
	return "name:" + nameKey(m.From)
}

// Store persists users and messages. Implementations are safe for
// concurrent use and may block: the chat calls them off the event loops.
type Store interface {
	// SaveUser records u under its name (compared without case).
	SaveUser(u User) error
	// FindUser returns the user last saved under name, compared without
	// case; ok false for a name never seen.
	FindUser(name string) (u User, ok bool, err error)
	// Append stores m; m.ID must be the room's next sequence number. A
	// message with a CID is remembered for Seen for CIDWindow.
	Append(m Msg) error
	// Seen returns the message sender (senderOf) stored with cid within
	// the last CIDWindow, if there is one (and the room still holds it).
	Seen(sender, cid string) (m Msg, ok bool, err error)
	// History returns up to limit messages of room with ID > since, oldest
	// first; since 0 and a limit give the last limit messages.
	History(room string, since uint64, limit int) ([]Msg, error)
	// Before returns the newest limit messages of room with ID < before,
	// oldest first: one page back through older history.
	Before(room string, before uint64, limit int) ([]Msg, error)
	// LastID returns the room's last message ID (0: none).
	LastID(room string) (uint64, error)
	// Epoch returns the epoch of the room's numbering ("" before its
	// first message on a store that keeps one per room).
	Epoch(room string) (string, error)
	// Edit changes message id of room as e says, if e.By sent it
	// (senderOf), and returns the message as it now is: ErrNoMessage when
	// the room holds no such message, ErrNotAuthor when someone else sent
	// it, ErrDeleted when it was deleted.
	Edit(room string, id uint64, e Edit) (Msg, error)
	Close() error
}

// Edit is an author's change to a stored message: new text, or the
// message deleted (its text dropped), at a time.
type Edit struct {
	By     string // senderOf the message, as the editor is
	Text   string
	Delete bool
	At     time.Time
}

// The errors of Store.Edit.
var (
	ErrNoMessage = errors.New("chat: no such message")
	ErrNotAuthor = errors.New("chat: only the author may change a message")
	ErrDeleted   = errors.New("chat: the message was deleted")
)

// apply checks e against m and changes m.
func (e Edit) apply(m *Msg) error {
	if senderOf(*m) != e.By {
		return ErrNotAuthor
	}
	if m.Deleted {
		return ErrDeleted
	}
	at := e.At.UTC()
	m.EditedAt = &at
	if e.Delete {
		m.Deleted, m.Text = true, ""
	} else {
		m.Text = e.Text
	}
	return nil
}

// MemoryStore keeps everything in memory (tests, throwaway servers). Its
// epoch is new with every store: a restart starts every room over.
type MemoryStore struct {
	mu    sync.Mutex
	epoch string
	users map[string]User
	rooms map[string][]Msg
	cids  map[string]cidRef
	order []cidEntry // cids oldest first, for pruning
	now   func() time.Time
}

type cidRef struct {
	room string
	id   uint64
	at   time.Time
}

type cidEntry struct {
	key string
	at  time.Time
}

// NewMemoryStore returns an empty store.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{epoch: newEpoch(), users: map[string]User{}, rooms: map[string][]Msg{}, cids: map[string]cidRef{}, now: time.Now}
}

// newEpoch returns a random epoch name (64 bits, hex).
func newEpoch() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (s *MemoryStore) Epoch(string) (string, error) { return s.epoch, nil }

func (s *MemoryStore) SaveUser(u User) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[nameKey(u.Name)] = u
	return nil
}

func (s *MemoryStore) FindUser(name string) (User, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[nameKey(name)]
	return u, ok, nil
}

func (s *MemoryStore) Append(m Msg) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rooms[m.Room] = append(s.rooms[m.Room], m)
	if m.CID != "" {
		now := s.now()
		k := cidKey(senderOf(m), m.CID)
		s.cids[k] = cidRef{room: m.Room, id: m.ID, at: now}
		s.order = append(s.order, cidEntry{key: k, at: now})
		// Forget what is past the window, and the oldest beyond the cap.
		drop := 0
		for drop < len(s.order) && (now.Sub(s.order[drop].at) > CIDWindow || len(s.order)-drop > maxMemoryCIDs) {
			if e := s.order[drop]; s.cids[e.key].at.Equal(e.at) {
				delete(s.cids, e.key)
			}
			drop++
		}
		if drop > 0 {
			s.order = append(s.order[:0], s.order[drop:]...)
		}
	}
	return nil
}

func (s *MemoryStore) Seen(sender, cid string) (Msg, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ref, ok := s.cids[cidKey(sender, cid)]
	if !ok || s.now().Sub(ref.at) > CIDWindow {
		return Msg{}, false, nil
	}
	msgs := s.rooms[ref.room]
	i, found := slices.BinarySearchFunc(msgs, ref.id, func(m Msg, id uint64) int { return cmp.Compare(m.ID, id) })
	if !found {
		return Msg{}, false, nil
	}
	return msgs[i], true, nil
}

func (s *MemoryStore) History(room string, since uint64, limit int) ([]Msg, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return window(s.rooms[room], since, limit), nil
}

func window(all []Msg, since uint64, limit int) []Msg {
	var out []Msg
	for _, m := range all {
		if m.ID > since {
			out = append(out, m)
		}
	}
	if limit > 0 && len(out) > limit {
		if since == 0 {
			out = out[len(out)-limit:]
		} else {
			out = out[:limit]
		}
	}
	return out
}

func (s *MemoryStore) Before(room string, before uint64, limit int) ([]Msg, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Msg
	for _, m := range s.rooms[room] {
		if m.ID < before {
			out = append(out, m)
		}
	}
	if len(out) > limit {
		out = out[len(out)-limit:]
	}
	return append([]Msg(nil), out...), nil
}

func (s *MemoryStore) Edit(room string, id uint64, e Edit) (Msg, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	msgs := s.rooms[room]
	i, found := slices.BinarySearchFunc(msgs, id, func(m Msg, id uint64) int { return cmp.Compare(m.ID, id) })
	if !found {
		return Msg{}, ErrNoMessage
	}
	if err := e.apply(&msgs[i]); err != nil {
		return Msg{}, err
	}
	return msgs[i], nil
}

func (s *MemoryStore) LastID(room string) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ms := s.rooms[room]; len(ms) > 0 {
		return ms[len(ms)-1].ID, nil
	}
	return 0, nil
}

func (s *MemoryStore) Close() error { return nil }

// BoltStore keeps users and messages on disk with go.etcd.io/bbolt: pure
// Go, one file, ACID transactions, and ordered keys, so a room's messages
// are a bucket keyed by big-endian sequence number and history is a range
// scan. (modernc.org/sqlite would also be pure Go, but SQL buys nothing
// for an append-only log and costs a much larger dependency.)
type BoltStore struct {
	db    *bolt.DB
	epoch string // kept in the file: a new file is a new epoch
}

var (
	usersBucket = []byte("users")
	metaBucket  = []byte("meta")
	cidsBucket  = []byte("cids") // cidKey -> when (8) | id (8) | room
)

// ErrStoreLocked is OpenBoltStore's error when another process has the
// store open.
var ErrStoreLocked = errors.New("chat: the store is locked by another process")

// OpenBoltStore opens (or creates) dir/chat.db. It waits up to 2 s for
// another process to let go of the file, then fails with ErrStoreLocked.
func OpenBoltStore(dir string) (*BoltStore, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "chat.db")
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("chat: another chat process holds %s (one data directory serves one process; use -redis for several): %w", path, ErrStoreLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("chat: open store: %w", err)
	}
	s := &BoltStore{db: db}
	if err := db.Update(func(tx *bolt.Tx) error {
		bk, err := tx.CreateBucketIfNotExists(metaBucket)
		if err != nil {
			return err
		}
		if e := bk.Get([]byte("epoch")); e != nil {
			s.epoch = string(e)
			return nil
		}
		s.epoch = newEpoch()
		return bk.Put([]byte("epoch"), []byte(s.epoch))
	}); err != nil {
		db.Close()
		return nil, fmt.Errorf("chat: open store: %w", err)
	}
	return s, nil
}

func (s *BoltStore) Epoch(string) (string, error) { return s.epoch, nil }

// Health reports whether the database can be read (not closed).
func (s *BoltStore) Health(context.Context) error {
	return s.db.View(func(*bolt.Tx) error { return nil })
}

func roomBucket(room string) []byte { return []byte("room/" + room) }

func (s *BoltStore) SaveUser(u User) error {
	b, _ := jsonmsg.API.Marshal(u)
	return s.db.Update(func(tx *bolt.Tx) error {
		bk, err := tx.CreateBucketIfNotExists(usersBucket)
		if err != nil {
			return err
		}
		return bk.Put([]byte(nameKey(u.Name)), b)
	})
}

func (s *BoltStore) FindUser(name string) (User, bool, error) {
	var u User
	var ok bool
	err := s.db.View(func(tx *bolt.Tx) error {
		bk := tx.Bucket(usersBucket)
		if bk == nil {
			return nil
		}
		v := bk.Get([]byte(nameKey(name)))
		if v == nil {
			v = bk.Get([]byte(name)) // saved before names were keyed without case
		}
		if v == nil {
			return nil
		}
		ok = true
		return jsonmsg.API.Unmarshal(v, &u)
	})
	return u, ok, err
}

func (s *BoltStore) Append(m Msg) error {
	b, _ := jsonmsg.API.Marshal(m)
	return s.db.Update(func(tx *bolt.Tx) error {
		bk, err := tx.CreateBucketIfNotExists(roomBucket(m.Room))
		if err != nil {
			return err
		}
		if err := bk.Put(binary.BigEndian.AppendUint64(nil, m.ID), b); err != nil {
			return err
		}
		if m.CID == "" {
			return nil
		}
		cids, err := tx.CreateBucketIfNotExists(cidsBucket)
		if err != nil {
			return err
		}
		v := binary.BigEndian.AppendUint64(nil, uint64(time.Now().UnixNano()))
		v = binary.BigEndian.AppendUint64(v, m.ID)
		return cids.Put([]byte(cidKey(senderOf(m), m.CID)), append(v, m.Room...))
	})
}

func (s *BoltStore) Edit(room string, id uint64, e Edit) (Msg, error) {
	var m Msg
	err := s.db.Update(func(tx *bolt.Tx) error {
		bk := tx.Bucket(roomBucket(room))
		if bk == nil {
			return ErrNoMessage
		}
		key := binary.BigEndian.AppendUint64(nil, id)
		v := bk.Get(key)
		if v == nil {
			return ErrNoMessage
		}
		if err := jsonmsg.API.Unmarshal(v, &m); err != nil {
			return err
		}
		if err := e.apply(&m); err != nil {
			return err
		}
		b, _ := jsonmsg.API.Marshal(m)
		return bk.Put(key, b)
	})
	return m, err
}

func (s *BoltStore) Seen(sender, cid string) (Msg, bool, error) {
	var m Msg
	var ok bool
	err := s.db.View(func(tx *bolt.Tx) error {
		cids := tx.Bucket(cidsBucket)
		if cids == nil {
			return nil
		}
		v := cids.Get([]byte(cidKey(sender, cid)))
		if len(v) < 16 || time.Since(time.Unix(0, int64(binary.BigEndian.Uint64(v)))) > CIDWindow {
			return nil
		}
		bk := tx.Bucket(roomBucket(string(v[16:])))
		if bk == nil {
			return nil
		}
		b := bk.Get(v[8:16])
		if b == nil {
			return nil
		}
		ok = true
		return jsonmsg.API.Unmarshal(b, &m)
	})
	return m, ok, err
}

// collectCIDs forgets cids older than CIDWindow (the janitor, every
// minute), so the index holds at most an hour of messages.
func (s *BoltStore) collectCIDs(now time.Time) (int, error) {
	return s.deleteWhere(cidsBucket, func(_, v []byte) bool {
		return len(v) < 16 || now.Sub(time.Unix(0, int64(binary.BigEndian.Uint64(v)))) > CIDWindow
	})
}

// deleteWhere deletes the keys of bucket whose entries dead picks, in one
// transaction, and returns how many.
func (s *BoltStore) deleteWhere(bucket []byte, dead func(k, v []byte) bool) (int, error) {
	n := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		bk := tx.Bucket(bucket)
		if bk == nil {
			return nil
		}
		var keys [][]byte
		_ = bk.ForEach(func(k, v []byte) error {
			if dead(k, v) {
				keys = append(keys, append([]byte(nil), k...))
			}
			return nil
		})
		for _, k := range keys {
			if err := bk.Delete(k); err != nil {
				return err
			}
		}
		n = len(keys)
		return nil
	})
	return n, err
}

func (s *BoltStore) History(room string, since uint64, limit int) ([]Msg, error) {
	var out []Msg
	err := s.db.View(func(tx *bolt.Tx) error {
		bk := tx.Bucket(roomBucket(room))
		if bk == nil {
			return nil
		}
		c := bk.Cursor()
		if since == 0 && limit > 0 {
			// the last limit messages: walk back from the end
			var rev []Msg
			for k, v := c.Last(); k != nil && len(rev) < limit; k, v = c.Prev() {
				var m Msg
				if err := jsonmsg.API.Unmarshal(v, &m); err != nil {
					return err
				}
				rev = append(rev, m)
			}
			for i := len(rev) - 1; i >= 0; i-- {
				out = append(out, rev[i])
			}
			return nil
		}
		for k, v := c.Seek(binary.BigEndian.AppendUint64(nil, since+1)); k != nil; k, v = c.Next() {
			var m Msg
			if err := jsonmsg.API.Unmarshal(v, &m); err != nil {
				return err
			}
			out = append(out, m)
			if limit > 0 && len(out) == limit {
				break
			}
		}
		return nil
	})
	return out, err
}

func (s *BoltStore) Before(room string, before uint64, limit int) ([]Msg, error) {
	var rev []Msg
	err := s.db.View(func(tx *bolt.Tx) error {
		bk := tx.Bucket(roomBucket(room))
		if bk == nil {
			return nil
		}
		c := bk.Cursor()
		k, v := c.Seek(binary.BigEndian.AppendUint64(nil, before))
		if k == nil {
			k, v = c.Last() // everything is older than before
		} else {
			k, v = c.Prev()
		}
		for ; k != nil && len(rev) < limit; k, v = c.Prev() {
			var m Msg
			if err := jsonmsg.API.Unmarshal(v, &m); err != nil {
				return err
			}
			rev = append(rev, m)
		}
		return nil
	})
	slices.Reverse(rev)
	return rev, err
}

func (s *BoltStore) LastID(room string) (uint64, error) {
	var id uint64
	err := s.db.View(func(tx *bolt.Tx) error {
		if bk := tx.Bucket(roomBucket(room)); bk != nil {
			if k, _ := bk.Cursor().Last(); k != nil {
				id = binary.BigEndian.Uint64(k)
			}
		}
		return nil
	})
	return id, err
}

func (s *BoltStore) Close() error { return s.db.Close() }
