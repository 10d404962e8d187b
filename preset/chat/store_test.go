package chat

import (
	"fmt"
	"testing"
	"time"
)

func TestStores(t *testing.T) {
	dir := t.TempDir()
	bs, err := OpenBoltStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]Store{"memory": NewMemoryStore(), "bolt": bs} {
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
			if err := s.SaveUser(User{Name: "ann"}); err != nil {
				t.Fatal(err)
			}
		})
	}
	bs.Close()
	again, err := OpenBoltStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if last, _ := again.LastID("r"); last != 10 {
		t.Fatalf("after reopening: last %d", last)
	}
}
