package jsonmsg

import (
	"errors"
	"io"

	jsoniter "github.com/json-iterator/go"
)

// API is the frozen jsoniter configuration.
var API = jsoniter.Config{
	EscapeHTML:             false,
	SortMapKeys:            false,
	ValidateJsonRawMessage: true,
}.Froze()

// Errors of Peek.
var (
	ErrNotObject = errors.New("jsonmsg: message is not a JSON object")
	ErrSyntax    = errors.New("jsonmsg: malformed JSON")
	ErrNoKey     = errors.New("jsonmsg: key not found")
	ErrNotString = errors.New("jsonmsg: key's value is not a plain string")
	ErrNotArray  = errors.New("jsonmsg: not a JSON array")
)

// Peek returns the value of the top-level string field key in the JSON
// object data, without decoding anything else and without allocating. The
// value is a sub-slice of data; values with escape sequences are refused
// (ErrNotString), as event names never need them. Peek checks only what it
// reads: Decode validates the whole message.
func Peek(data []byte, key string) ([]byte, error) {
	i := skipWS(data, 0)
	if i >= len(data) || data[i] != '{' {
		return nil, ErrNotObject
	}
	i = skipWS(data, i+1)
	if i < len(data) && data[i] == '}' {
		return nil, ErrNoKey
	}
	for i < len(data) {
		if data[i] != '"' {
			return nil, ErrSyntax
		}
		start := i + 1
		end, escaped, ok := scanString(data, i)
		if !ok {
			return nil, ErrSyntax
		}
		name := data[start : end-1]
		i = skipWS(data, end)
		if i >= len(data) || data[i] != ':' {
			return nil, ErrSyntax
		}
		i = skipWS(data, i+1)
		if !escaped && string(name) == key {
			if i >= len(data) || data[i] != '"' {
				return nil, ErrNotString
			}
			vend, vesc, ok := scanString(data, i)
			if !ok {
				return nil, ErrSyntax
			}
			if vesc {
				return nil, ErrNotString
			}
			return data[i+1 : vend-1], nil
		}
		var ok2 bool
		if i, ok2 = skipValue(data, i, 0); !ok2 {
			return nil, ErrSyntax
		}
		i = skipWS(data, i)
		if i >= len(data) {
			return nil, ErrSyntax
		}
		switch data[i] {
		case ',':
			i = skipWS(data, i+1)
		case '}':
			return nil, ErrNoKey
		default:
			return nil, ErrSyntax
		}
	}
	return nil, ErrSyntax
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// scanString returns the index after the closing quote of the string at
// b[i] and whether it held escapes.
func scanString(b []byte, i int) (end int, escaped, ok bool) {
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '\\':
			escaped = true
			j++
		case c == '"':
			return j + 1, escaped, true
		case c < 0x20:
			return 0, false, false
		}
	}
	return 0, false, false
}

const maxDepth = 512

// SkipSpace returns the index of the first byte at or after i that is not
// JSON whitespace (len(b) if none).
func SkipSpace(b []byte, i int) int { return skipWS(b, i) }

// SkipValue returns the index just past the JSON value that starts at
// b[i], and false when none does: strings, numbers, literals, and objects
// and arrays checked for their shape (nesting at most 512 deep). It
// allocates nothing; it does not validate escapes, numbers or UTF-8 (Valid
// and Decode do).
func SkipValue(b []byte, i int) (int, bool) { return skipValue(b, i, 0) }

// SplitArray appends the elements of the JSON array a (whitespace around
// it allowed) to out, each a sub-slice of a, without allocating beyond
// out; ErrNotArray when a holds no array, ErrSyntax when it is cut short.
func SplitArray(a []byte, out [][]byte) ([][]byte, error) {
	i := skipWS(a, 0)
	if i >= len(a) || a[i] != '[' {
		return out, ErrNotArray
	}
	i = skipWS(a, i+1)
	if i < len(a) && a[i] == ']' {
		return out, nil
	}
	for i < len(a) {
		end, ok := skipValue(a, i, 1)
		if !ok {
			return out, ErrSyntax
		}
		out = append(out, a[i:end])
		i = skipWS(a, end)
		if i >= len(a) {
			return out, ErrSyntax
		}
		switch a[i] {
		case ']':
			return out, nil
		case ',':
			i = skipWS(a, i+1)
		default:
			return out, ErrSyntax
		}
	}
	return out, ErrSyntax
}

// Valid reports whether b is exactly one JSON value, with nothing after
// it but whitespace (jsoniter's own Valid accepts trailing bytes).
func Valid(b []byte) bool {
	it := API.BorrowIterator(b)
	defer API.ReturnIterator(it)
	it.Skip()
	if it.Error != nil {
		return false
	}
	return it.WhatIsNext() == jsoniter.InvalidValue && it.Error == io.EOF
}

// skipValue returns the index after the JSON value at b[i].
func skipValue(b []byte, i, depth int) (int, bool) {
	if i >= len(b) || depth > maxDepth {
		return 0, false
	}
	switch c := b[i]; {
	case c == '"':
		end, _, ok := scanString(b, i)
		return end, ok
	case c == '{' || c == '[':
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		i = skipWS(b, i+1)
		if i < len(b) && b[i] == closer {
			return i + 1, true
		}
		for {
			if c == '{' {
				if i >= len(b) || b[i] != '"' {
					return 0, false
				}
				end, _, ok := scanString(b, i)
				if !ok {
					return 0, false
				}
				i = skipWS(b, end)
				if i >= len(b) || b[i] != ':' {
					return 0, false
				}
				i = skipWS(b, i+1)
			}
			var ok bool
			if i, ok = skipValue(b, i, depth+1); !ok {
				return 0, false
			}
			i = skipWS(b, i)
			if i >= len(b) {
				return 0, false
			}
			if b[i] == closer {
				return i + 1, true
			}
			if b[i] != ',' {
				return 0, false
			}
			i = skipWS(b, i+1)
		}
	default:
		j := i
		for j < len(b) && (b[j] == '-' || b[j] == '+' || b[j] == '.' || b[j] >= '0' && b[j] <= '9' || b[j] >= 'a' && b[j] <= 'z' || b[j] >= 'A' && b[j] <= 'Z') {
			j++
		}
		if j == i {
			return 0, false
		}
		return j, true
	}
}

// Decode decodes data into v with a pooled iterator; it returns an error
// for malformed JSON or a shape v cannot take.
func Decode(data []byte, v any) error {
	iter := API.BorrowIterator(data)
	defer API.ReturnIterator(iter)
	iter.ReadVal(v)
	if iter.Error != nil && iter.Error.Error() != "EOF" {
		return iter.Error
	}
	if iter.WhatIsNext() != jsoniter.InvalidValue {
		return ErrSyntax // trailing data
	}
	return nil
}

// Append encodes v and appends it to dst, with a pooled stream.
func Append(dst []byte, v any) ([]byte, error) {
	s := API.BorrowStream(nil)
	defer API.ReturnStream(s)
	s.WriteVal(v)
	if s.Error != nil {
		return dst, s.Error
	}
	return append(dst, s.Buffer()...), nil
}
