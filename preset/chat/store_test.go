package chat

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gnetty/gnetty/handler/http/session"
	"github.com/gnetty/gnetty/internal/redistest"
)

func TestStores(t *testing.T) {
	dir := t.TempDir()
	bs, err := OpenBoltStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	rs := redistest.Start(t)
	rc := redis.NewClient(&redis.Options{Addr: rs.Addr})
	defer rc.Close()
	stores := map[string]Store{"memory": NewMemoryStore(), "bolt": bs, "redis": NewRedisStore(RedisStoreConfig{Client: rc})}
	for name, s := range stores {
		t.Run(name, func(t *testing.T) {
			for i := uint64(1); i <= 10; i++ {
				if err := s.Append(Msg{ID: i, Room: "r", From: "ann", Text: fmt.Sprint(i), Time: time.Unix(int64(i), 0)}); err != nil {
					t.Fatal(err)
				}
			}
			_ = s.Append(Msg{ID: 1, Room: "other"})
			last, _ := s.LastID("r")
			if last != 10 {
				t.Fatalf("last %d", last)
			}
			h, _ := s.History("r", 0, 3)
			if len(h) != 3 || h[0].ID != 8 || h[2].ID != 10 {
				t.Fatalf("last three %v", h)
			}
			h, _ = s.History("r", 5, 2)
			if len(h) != 2 || h[0].ID != 6 || h[1].ID != 7 {
				t.Fatalf("since 5 %v", h)
			}
			h, _ = s.History("r", 10, 0)
			if len(h) != 0 {
				t.Fatalf("since last %v", h)
			}
			// Paging back: the newest messages older than an id.
			for _, tc := range []struct {
				before   uint64
				limit    int
				from, to uint64 // expected IDs, 0 for none
			}{
				{before: 8, limit: 3, from: 5, to: 7},
				{before: 3, limit: 5, from: 1, to: 2},
				{before: 1, limit: 5},
				{before: 100, limit: 2, from: 9, to: 10},
			} {
				h, err := s.Before("r", tc.before, tc.limit)
				if err != nil {
					t.Fatal(err)
				}
				if tc.from == 0 {
					if len(h) != 0 {
						t.Fatalf("before %d: %v", tc.before, h)
					}
					continue
				}
				if uint64(len(h)) != tc.to-tc.from+1 || h[0].ID != tc.from || h[len(h)-1].ID != tc.to {
					t.Fatalf("before %d limit %d: %v, want %d..%d", tc.before, tc.limit, h, tc.from, tc.to)
				}
			}
			if err := s.SaveUser(User{Name: "Ann", Avatar: "fox"}); err != nil {
				t.Fatal(err)
			}
			if u, ok, err := s.FindUser("aNN"); err != nil || !ok || u.Name != "Ann" || u.Avatar != "fox" {
				t.Fatalf("find user without case: %+v %v %v", u, ok, err)
			}
			if _, ok, err := s.FindUser("nobody"); err != nil || ok {
				t.Fatalf("a name never saved was found: %v %v", ok, err)
			}
			// A message's cid is remembered for its sender's identity and
			// points at the stored message; another sender's is not, nor
			// another identity's of the same name.
			if err := s.Append(Msg{ID: 11, Room: "r", From: "Ann", FromID: "a:ann", Text: "with cid", CID: "c-1"}); err != nil {
				t.Fatal(err)
			}
			if m, ok, err := s.Seen("a:ann", "c-1"); err != nil || !ok || m.ID != 11 || m.Text != "with cid" || m.CID != "c-1" {
				t.Fatalf("seen: %+v %v %v", m, ok, err)
			}
			// Without an identity (the publish API) the name is the sender,
			// without case.
			if err := s.Append(Msg{ID: 12, Room: "r", From: "Bot", Text: "api", CID: "c-9"}); err != nil {
				t.Fatal(err)
			}
			if m, ok, err := s.Seen(senderOf(Msg{From: "BOT"}), "c-9"); err != nil || !ok || m.ID != 12 {
				t.Fatalf("seen by name: %+v %v %v", m, ok, err)
			}
			for _, who := range [][2]string{{"a:bob", "c-1"}, {"a:ann", "c-2"}, {"g:ann", "c-1"}, {senderOf(Msg{From: "Ann"}), "c-1"}} {
				if _, ok, _ := s.Seen(who[0], who[1]); ok {
					t.Fatalf("%v seen", who)
				}
			}
		})
	}
	bs.Close()
	again, err := OpenBoltStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if last, _ := again.LastID("r"); last != 12 {
		t.Fatalf("after reopening: last %d", last)
	}
	if m, ok, _ := again.Seen("a:ann", "c-1"); !ok || m.ID != 11 {
		t.Fatal("a cid is forgotten on reopening")
	}
	// Past the window it is forgotten, and the janitor collects it.
	if n, err := again.collectCIDs(time.Now().Add(CIDWindow + time.Minute)); err != nil || n != 2 {
		t.Fatalf("collected %d %v", n, err)
	}
	if _, ok, _ := again.Seen("a:ann", "c-1"); ok {
		t.Fatal("a collected cid is still seen")
	}
}

func TestMemoryStoreForgetsOldCIDs(t *testing.T) {
	s := NewMemoryStore()
	now := time.Unix(1000, 0)
	s.now = func() time.Time { return now }
	_ = s.Append(Msg{ID: 1, Room: "r", From: "ann", FromID: "a:ann", CID: "old"})
	if _, ok, _ := s.Seen("a:ann", "old"); !ok {
		t.Fatal("a cid within the window is not seen")
	}
	now = now.Add(CIDWindow + time.Second)
	if _, ok, _ := s.Seen("a:ann", "old"); ok {
		t.Fatal("a cid past the window is seen")
	}
	_ = s.Append(Msg{ID: 2, Room: "r", From: "ann", FromID: "a:ann", CID: "new"})
	if _, ok := s.cids[cidKey("a:ann", "old")]; ok || len(s.order) != 1 {
		t.Fatalf("the old cid is still held: %d entries", len(s.order))
	}
	// The cap: the oldest go first.
	for i := range maxMemoryCIDs + 10 {
		_ = s.Append(Msg{ID: uint64(3 + i), Room: "r", From: "bob", FromID: "a:bob", CID: fmt.Sprint(i)})
	}
	if len(s.cids) != maxMemoryCIDs || len(s.order) != maxMemoryCIDs {
		t.Fatalf("cid index holds %d/%d, cap %d", len(s.cids), len(s.order), maxMemoryCIDs)
	}
	if _, ok, _ := s.Seen("a:bob", "0"); ok {
		t.Fatal("the oldest cid survived the cap")
	}
}

func TestBoltStoreKeepsSessionsAndCollectsExpiredOnes(t *testing.T) {
	bs, err := OpenBoltStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer bs.Close()
	ctx := context.Background()
	now := time.Now()
	d := &session.Data{Values: map[string]string{"user": "ann"}, Created: now, LastSeen: now}
	if err := bs.Save(ctx, "live", d, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := bs.Save(ctx, "old", d, now.Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if got, err := bs.Load(ctx, "live"); err != nil || got.Values["user"] != "ann" {
		t.Fatalf("live: %v %v", got, err)
	}
	if _, err := bs.Load(ctx, "old"); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("an expired session loaded: %v", err)
	}
	if n, err := bs.collectSessions(now); err != nil || n != 1 {
		t.Fatalf("collected %d, %v; want the 1 expired", n, err)
	}
	if err := bs.Delete(ctx, "live"); err != nil {
		t.Fatal(err)
	}
	if _, err := bs.Load(ctx, "live"); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
}
