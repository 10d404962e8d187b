package chat

import (
	"bytes"
	"context"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/gnetty/gnetty/codec/jsonmsg"
	"github.com/gnetty/gnetty/handler/http/session"
)

// The BoltStore also keeps the chat's sessions and name owners in its
// file, so a restart of a single node logs nobody out and frees no name.
// Its calls block (bbolt fsyncs writes): the session manager calls it off
// the event loops.

var (
	sessionsBucket = []byte("sessions")
	namesBucket    = []byte("names")
)

type boltSession struct {
	Data    session.Data `json:"d"`
	Expires time.Time    `json:"e"`
}

var _ session.Store = (*BoltStore)(nil)

// Load implements session.Store.
func (s *BoltStore) Load(_ context.Context, id string) (*session.Data, error) {
	var rec boltSession
	found := false
	err := s.db.View(func(tx *bolt.Tx) error {
		bk := tx.Bucket(sessionsBucket)
		if bk == nil {
			return nil
		}
		v := bk.Get([]byte(id))
		if v == nil {
			return nil
		}
		found = true
		return jsonmsg.API.Unmarshal(v, &rec)
	})
	if err != nil {
		return nil, err
	}
	if !found || !time.Now().Before(rec.Expires) {
		return nil, session.ErrNotFound
	}
	return &rec.Data, nil
}

// Save implements session.Store.
func (s *BoltStore) Save(_ context.Context, id string, d *session.Data, expires time.Time) error {
	b, err := jsonmsg.API.Marshal(boltSession{Data: *d, Expires: expires})
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		bk, err := tx.CreateBucketIfNotExists(sessionsBucket)
		if err != nil {
			return err
		}
		return bk.Put([]byte(id), b)
	})
}

// Delete implements session.Store.
func (s *BoltStore) Delete(_ context.Context, id string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		if bk := tx.Bucket(sessionsBucket); bk != nil {
			return bk.Delete([]byte(id))
		}
		return nil
	})
}

// collectSessions deletes expired sessions (the janitor, every minute).
func (s *BoltStore) collectSessions(now time.Time) (int, error) {
	return s.deleteWhere(sessionsBucket, func(_, v []byte) bool {
		var rec boltSession
		return jsonmsg.API.Unmarshal(v, &rec) != nil || !now.Before(rec.Expires)
	})
}

// boltDirectory keeps the directory in the BoltStore (one node, durable):
// names, accounts, and each identity's sessions (keys uid NUL sid).
type boltDirectory struct{ s *BoltStore }

var (
	accountsBucket    = []byte("accounts")
	uidSessionsBucket = []byte("sessions-of")
)

func (d boltDirectory) get(bucket []byte, key string) ([]byte, error) {
	var v []byte
	err := d.s.db.View(func(tx *bolt.Tx) error {
		if bk := tx.Bucket(bucket); bk != nil {
			v = bytes.Clone(bk.Get([]byte(key)))
		}
		return nil
	})
	return v, err
}

func (d boltDirectory) owner(_ context.Context, key string) (string, error) {
	v, err := d.get(namesBucket, key)
	return string(v), err
}

func (d boltDirectory) swap(_ context.Context, key, from, to string) (bool, error) {
	ok := false
	err := d.s.db.Update(func(tx *bolt.Tx) error {
		bk, err := tx.CreateBucketIfNotExists(namesBucket)
		if err != nil {
			return err
		}
		if string(bk.Get([]byte(key))) != from {
			return nil
		}
		ok = true
		if to == "" {
			return bk.Delete([]byte(key))
		}
		return bk.Put([]byte(key), []byte(to))
	})
	return ok, err
}

func (d boltDirectory) release(_ context.Context, key, sid string) error {
	return d.s.db.Update(func(tx *bolt.Tx) error {
		bk := tx.Bucket(namesBucket)
		if bk == nil {
			return nil
		}
		if h := decodeHolder(string(bk.Get([]byte(key)))); h.guest() && h.SID == sid {
			return bk.Delete([]byte(key))
		}
		return nil
	})
}

func (d boltDirectory) account(_ context.Context, uid string) (account, bool, error) {
	v, err := d.get(accountsBucket, uid)
	if err != nil || v == nil {
		return account{}, false, err
	}
	var a account
	return a, true, jsonmsg.API.Unmarshal(v, &a)
}

func (d boltDirectory) put(bucket []byte, key string, v []byte) error {
	return d.s.db.Update(func(tx *bolt.Tx) error {
		bk, err := tx.CreateBucketIfNotExists(bucket)
		if err != nil {
			return err
		}
		return bk.Put([]byte(key), v)
	})
}

func (d boltDirectory) putAccount(_ context.Context, a account) error {
	b, _ := jsonmsg.API.Marshal(a)
	return d.put(accountsBucket, a.UID, b)
}

func (d boltDirectory) deleteAccount(_ context.Context, uid string) error {
	return d.s.db.Update(func(tx *bolt.Tx) error {
		if bk := tx.Bucket(accountsBucket); bk != nil {
			return bk.Delete([]byte(uid))
		}
		return nil
	})
}

func (d boltDirectory) addSession(_ context.Context, uid, sid string) error {
	return d.put(uidSessionsBucket, uid+"\x00"+sid, nil)
}

func (d boltDirectory) sessionsOf(_ context.Context, uid string) ([]string, error) {
	var out []string
	prefix := []byte(uid + "\x00")
	err := d.s.db.View(func(tx *bolt.Tx) error {
		bk := tx.Bucket(uidSessionsBucket)
		if bk == nil {
			return nil
		}
		c := bk.Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			out = append(out, string(k[len(prefix):]))
		}
		return nil
	})
	return out, err
}

func (d boltDirectory) dropSessions(_ context.Context, uid string, sids ...string) error {
	return d.s.db.Update(func(tx *bolt.Tx) error {
		bk := tx.Bucket(uidSessionsBucket)
		if bk == nil {
			return nil
		}
		for _, sid := range sids {
			if err := bk.Delete([]byte(uid + "\x00" + sid)); err != nil {
				return err
			}
		}
		return nil
	})
}

// collectSessions deletes expired sessions from the BoltStore every
// minute, until close.
func (s *Server) collectSessions(bs *BoltStore) {
	defer close(s.janitorDone)
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		if n, err := bs.collectSessions(time.Now()); err != nil {
			s.cfg.Logger.Warn("chat: collecting expired sessions", "err", err)
		} else if n > 0 {
			s.cfg.Logger.Debug("chat: expired sessions collected", "n", n)
		}
		if _, err := bs.collectCIDs(time.Now()); err != nil {
			s.cfg.Logger.Warn("chat: collecting old message ids", "err", err)
		}
		select {
		case <-s.janitorStop:
			return
		case <-t.C:
		}
	}
}
