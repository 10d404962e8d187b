package chat

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/mtibben/confusables"
	"golang.org/x/text/secure/precis"
)

// Names. A display name is prepared with the PRECIS profiles of RFC 8265
// (golang.org/x/text/secure/precis): UsernameCasePreserved gives the name
// shown, UsernameCaseMapped the one compared, each applied to every
// space-separated part (RFC 8265 section 3.5 lets an application take a
// name as several userparts), so "ALICE", "alice " and fullwidth "ａｌｉｃｅ"
// are one name. Invisible characters (default-ignorable code points such as
// U+200B, Hangul fillers) and bidirectional controls are refused outright.
// Two names are the same name when their UTS #39 skeletons are equal
// (github.com/mtibben/confusables, Unicode's confusables.txt), so "аlice"
// with a Cyrillic а, or "bob1" against "bobl", cannot stand beside the real
// one: the name directory is keyed by that skeleton (nameKey).

var errBadName = errors.New("chat: bad name")

// prepareName returns the name to show for raw, and its directory key;
// errBadName when raw is not a name (too long, or a character no name
// may hold). An empty raw name becomes "user" and 8 random characters.
func prepareName(raw string, maxLen int) (display, key string, err error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		raw = randomName()
	}
	if !utf8.ValidString(raw) || len(raw) > 4*maxLen+64 {
		return "", "", errBadName
	}
	var shown, cmp []string
	for _, part := range strings.Split(raw, " ") {
		if part == "" {
			continue // runs of spaces count as one
		}
		if strings.ContainsFunc(part, invisible) {
			return "", "", errBadName
		}
		p, err := precis.UsernameCasePreserved.String(part)
		if err != nil {
			return "", "", errBadName
		}
		c, err := precis.UsernameCaseMapped.String(part)
		if err != nil {
			return "", "", errBadName
		}
		shown, cmp = append(shown, p), append(cmp, c)
	}
	display = strings.Join(shown, " ")
	if utf8.RuneCountInString(display) > maxLen {
		return "", "", errBadName
	}
	return display, confusables.Skeleton(strings.Join(cmp, " ")), nil
}

// invisible reports characters that show nothing or reorder what is shown:
// controls, format characters (zero-width spaces and joiners, bidi marks
// and embeddings), default-ignorables (Hangul fillers) and variation
// selectors.
func invisible(r rune) bool {
	return r < ' ' || r == 0x7f || unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Cf, r) ||
		unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r) || unicode.Is(unicode.Variation_Selector, r) ||
		unicode.Is(unicode.Bidi_Control, r) || unicode.Is(unicode.Join_Control, r)
}

// nameKey is the directory key of a name that prepareName accepted: its
// case-mapped skeleton. Names that fail preparation key as their skeleton
// lower-cased (they were never let in; this keeps lookups total).
func nameKey(name string) string {
	if _, key, err := prepareName(name, 1<<10); err == nil {
		return key
	}
	return confusables.Skeleton(strings.ToLower(name))
}

// randomName returns "user" + 8 random characters, as the PHP chat did.
func randomName() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "user" + hex.EncodeToString(b[:])
}

// cleanName is prepareName with the server's length limit, for the
// display name alone.
func (s *Server) cleanName(name string) (string, error) {
	display, _, err := prepareName(name, s.cfg.MaxNameLen)
	return display, err
}
