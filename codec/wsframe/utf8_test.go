package wsframe

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzUTF8: the fast validator agrees with unicode/utf8 on any bytes, and
// the incremental one agrees with it however the bytes are cut, failing
// at the first piece after which no ending could make the text valid.
func FuzzUTF8(f *testing.F) {
	for _, s := range []string{"", "hello", "héllo wörld", "日本語テキスト", "🙂 emoji", "\xe2\x82", "\xed\xa0\x80", "\xf4\x90\x80\x80",
		"\xc0\xaf", strings.Repeat("a", 70) + "é" + strings.Repeat("b", 40), strings.Repeat("ü", 50) + "\xff"} {
		f.Add([]byte(s), []byte{1, 3, 7})
	}
	f.Fuzz(func(t *testing.T, text, cuts []byte) {
		want := utf8.Valid(text)
		if got := validUTF8(text); got != want {
			t.Fatalf("validUTF8(%q) = %v, unicode/utf8 says %v", text, got, want)
		}
		var s utf8Stream
		ok, at := true, 0
		for _, c := range append(append([]byte(nil), cuts...), 255) { // a copy: cuts may share memory with text
			if !ok || at >= len(text) {
				break
			}
			end := min(len(text), at+int(c)%17+1)
			if c == 255 {
				end = len(text)
			}
			if ok = s.feed(text[at:end]); !ok {
				// Failing early is right only if this prefix cannot begin
				// any valid text: the bytes up to here plus any ending.
				if validPrefix(text[:end]) {
					t.Fatalf("failed at %d of %q, which a valid text can begin with", end, text)
				}
			}
			at = end
		}
		if got := ok && s.complete(); got != want {
			t.Fatalf("incremental %v (cuts %v), unicode/utf8 says %v for %q", got, cuts, want, text)
		}
	})
}

// validPrefix reports whether some bytes appended to p make valid UTF-8.
func validPrefix(p []byte) bool {
	for i := max(0, len(p)-3); i <= len(p); i++ {
		if !utf8.Valid(p[:i]) {
			continue
		}
		tail := p[i:]
		if len(tail) == 0 {
			return true
		}
		// Can tail begin one character? Try every completion.
		for _, end := range [][]byte{{0x80}, {0x80, 0x80}, {0x80, 0x80, 0x80}, {0x90, 0x80, 0x80}, {0xA0, 0x80}, {0xA0, 0x80, 0x80}} {
			for n := 0; n <= len(end); n++ {
				if r, size := utf8.DecodeRune(append(append([]byte(nil), tail...), end[:n]...)); r != utf8.RuneError && size == len(tail)+n {
					return true
				}
			}
		}
	}
	return false
}

func BenchmarkValidUTF8(b *testing.B) {
	for _, tc := range []struct{ name, text string }{
		{"ascii-64", strings.Repeat("a", 64)}, {"ascii-1KiB", strings.Repeat("a", 1024)},
		{"mixed-1KiB", strings.Repeat("héllo wörld ", 80)[:1024]},
	} {
		p := []byte(tc.text)
		b.Run(tc.name+"/unicode-utf8", func(b *testing.B) {
			b.SetBytes(int64(len(p)))
			for b.Loop() {
				_ = utf8.Valid(p)
			}
		})
		b.Run(tc.name+"/wsframe", func(b *testing.B) {
			b.SetBytes(int64(len(p)))
			for b.Loop() {
				_ = validUTF8(p)
			}
		})
	}
}
