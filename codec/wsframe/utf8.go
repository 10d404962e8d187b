package wsframe

import "unicode/utf8"

// utf8Stream validates UTF-8 across fragment boundaries and fails as soon
// as a byte makes the text invalid, however it is split.
type utf8Stream struct {
	need   int  // continuation bytes still expected
	lo, hi byte // allowed range of the next continuation byte
}

func (s *utf8Stream) reset() { *s = utf8Stream{} }

// feed validates p as the continuation of what came before.
func (s *utf8Stream) feed(p []byte) bool {
	if s.need == 0 && utf8.Valid(p) {
		return true
	}
	for _, c := range p {
		if s.need == 0 {
			if c < 0x80 {
				continue
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
			continue
		}
		if c < s.lo || c > s.hi {
			return false
		}
		s.need--
		s.lo, s.hi = 0x80, 0xBF
	}
	return true
}

// complete reports whether the text ended on a character boundary.
func (s *utf8Stream) complete() bool { return s.need == 0 }

// validText reports whether a whole single-frame text payload is UTF-8,
// its first validated bytes having been fed to st already.
func validText(st *utf8Stream, payload []byte, validated int) bool {
	if validated == 0 {
		return utf8.Valid(payload)
	}
	return st.feed(payload[validated:]) && st.complete()
}
