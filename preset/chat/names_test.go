package chat

import (
	"errors"
	"testing"
)

func TestPrepareName(t *testing.T) {
	cases := []struct {
		name    string
		raw     string
		display string // "" when refused
		sameAs  string // a name whose key must equal this one's
	}{
		{name: "plain", raw: "alice", display: "alice"},
		{name: "case", raw: "ALICE", display: "ALICE", sameAs: "alice"},
		{name: "spaces around", raw: "  alice ", display: "alice", sameAs: "alice"},
		{name: "inner spaces collapse", raw: "ann   lee", display: "ann lee", sameAs: "Ann Lee"},
		{name: "fullwidth", raw: "ａｌｉｃｅ", display: "alice", sameAs: "alice"},
		{name: "cyrillic a", raw: "\u0430lice", display: "\u0430lice", sameAs: "alice"},
		{name: "cyrillic e", raw: "bob\u0435", display: "bob\u0435", sameAs: "bobe"},
		{name: "digit one for l", raw: "bob1", display: "bob1", sameAs: "bobl"},
		{name: "accents kept apart", raw: "zoë", display: "zoë"},
		{name: "zero-width space", raw: "ali\u200bce"},
		{name: "zero-width joiner", raw: "ali\u200dce"},
		{name: "pop directional formatting", raw: "alice\u202c"},
		{name: "right-to-left override", raw: "\u202eecila"},
		{name: "left-to-right mark", raw: "alice\u200e"},
		{name: "hangul filler", raw: "al\u3164ice"},
		{name: "hangul choseong filler", raw: "al\u115fice"},
		{name: "variation selector", raw: "alice\ufe0f"},
		{name: "control", raw: "ali\x07ce"},
		{name: "no-break space", raw: "ali\u00a0ce"},
		{name: "too long", raw: "abcdefghijklmnopqrstuvwxyz0123456789"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			display, key, err := prepareName(tc.raw, 32)
			if tc.display == "" {
				if !errors.Is(err, errBadName) {
					t.Fatalf("%q accepted as %q", tc.raw, display)
				}
				return
			}
			if err != nil || display != tc.display {
				t.Fatalf("%q: %q %v, want %q", tc.raw, display, err, tc.display)
			}
			if tc.sameAs != "" {
				if other := nameKey(tc.sameAs); other != key {
					t.Fatalf("%q keys as %q, %q as %q: want the same", tc.raw, key, tc.sameAs, other)
				}
			}
		})
	}
	if nameKey("alice") == nameKey("alicia") {
		t.Fatal("different names share a key")
	}
	if d, _, err := prepareName("", 32); err != nil || len(d) != 12 {
		t.Fatalf("an empty name: %q %v", d, err)
	}
}

func TestPasswordHash(t *testing.T) {
	h := hashPassword("correct horse")
	if h == hashPassword("correct horse") {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	if ok, err := checkPassword("correct horse", h); err != nil || !ok {
		t.Fatalf("the right password: %v %v", ok, err)
	}
	if ok, err := checkPassword("correct horsf", h); err != nil || ok {
		t.Fatalf("a wrong password: %v %v", ok, err)
	}
	for _, bad := range []string{"", "$argon2id$v=19$m=1,t=1,p=1$$", "$argon2i$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", "$argon2id$v=19$m=99999999,t=2,p=1$c2FsdA$aGFzaA"} {
		if _, err := checkPassword("x", bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func BenchmarkPasswordHash(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		hashPassword("correct horse battery staple")
	}
}
