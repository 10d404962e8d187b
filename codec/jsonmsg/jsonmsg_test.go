package jsonmsg_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/gnetty/gnetty/codec/jsonmsg"
)

func TestPeek(t *testing.T) {
	cases := []struct {
		in, want string
		err      error
	}{
		{`{"type":"user","msg":"hi"}`, "user", nil},
		{` { "msg" : {"type":"nested","a":[1,{"b":"}"}]}, "n": -1.5e3, "t": true, "x": null, "type" : "login" } `, "login", nil},
		{`{"msg":"a \"quoted\" type","type":"user"}`, "user", nil},
		{`{"ty\u0070e":"escaped key","type":"real"}`, "real", nil},
		{`{"type":"\u0075ser"}`, "", jsonmsg.ErrNotString},
		{`{"type":42}`, "", jsonmsg.ErrNotString},
		{`{"msg":"hi"}`, "", jsonmsg.ErrNoKey},
		{`{}`, "", jsonmsg.ErrNoKey},
		{`[1,2]`, "", jsonmsg.ErrNotObject},
		{``, "", jsonmsg.ErrNotObject},
		{`{"msg":"unterminated`, "", jsonmsg.ErrSyntax},
		{`{"msg" "x","type":"a"}`, "", jsonmsg.ErrSyntax},
		{`{"a":[1,2,,3],"type":"a"}`, "", jsonmsg.ErrSyntax},
		{`{"a":1 "type":"a"}`, "", jsonmsg.ErrSyntax},
	}
	for _, tc := range cases {
		got, err := jsonmsg.Peek([]byte(tc.in), "type")
		if !errors.Is(err, tc.err) || string(got) != tc.want {
			t.Errorf("%s: %q %v, want %q %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestDecodeAndAppend(t *testing.T) {
	var v struct {
		Type string  `json:"type"`
		N    float64 `json:"n"`
	}
	if err := jsonmsg.Decode([]byte(`{"type":"x","n":0.1234567891}`), &v); err != nil || v.Type != "x" || v.N != 0.1234567891 {
		t.Fatalf("%+v %v", v, err)
	}
	for _, bad := range []string{`{"type":1}`, `{"type":"x"`, `{"type":"x"} trailing`, `nope`} {
		if err := jsonmsg.Decode([]byte(bad), &v); err == nil {
			t.Errorf("%s decoded", bad)
		}
	}
	out, err := jsonmsg.Append([]byte("> "), map[string]any{"f": 0.1234567891, "h": "<b>"})
	if err != nil || string(out) != `> {"f":0.1234567891,"h":"<b>"}` && string(out) != `> {"h":"<b>","f":0.1234567891}` {
		t.Fatalf("%s %v", out, err)
	}
}

func TestPeekAllocatesNothing(t *testing.T) {
	msg := []byte(`{"msg":{"a":[1,2,3]},"type":"user"}`)
	if n := testing.AllocsPerRun(1000, func() { _, _ = jsonmsg.Peek(msg, "type") }); n != 0 {
		t.Fatalf("Peek allocated %.1f times", n)
	}
}

func BenchmarkPeek(b *testing.B) {
	msg := []byte(`{"type":"user","msg":"hi"}`)
	b.ReportAllocs()
	for b.Loop() {
		_, _ = jsonmsg.Peek(msg, "type")
	}
}

// FuzzPeek compares Peek with a full decode (encoding/json) of every
// valid input: the first top-level "type" key written without escapes
// decides, and Peek must find exactly its value, or say why not.
func FuzzPeek(f *testing.F) {
	for _, s := range []string{
		`{"type":"user","msg":"hi"}`, `{"a":[{"b":"}"}],"type":"x"}`, ` { "type" : "sp" } `,
		`{"typ\u0065":"esc","type":"plain"}`, `{"type":"a\"b"}`, `{"type":1}`, `{"x":{"type":"nested"}}`,
		`{"type":"first","type":"second"}`, `[]`, `{}`, `{"type":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		v, err := jsonmsg.Peek(in, "type")
		if err == nil && !bytes.Contains(in, v) {
			t.Fatal("the value is not a part of the input")
		}
		if !json.Valid(in) {
			return // Peek checks only what it reads
		}
		want, wantErr := fullPeek(in, "type")
		if !errors.Is(err, wantErr) || err == nil && !bytes.Equal(v, want) {
			t.Fatalf("Peek(%q) = %q, %v; a full decode says %q, %v", in, v, err, want, wantErr)
		}
	})
}

// fullPeek is Peek's contract by a full decode of a valid JSON text.
func fullPeek(in []byte, key string) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(in))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, jsonmsg.ErrNotObject
	}
	for dec.More() {
		from := int(dec.InputOffset())
		if _, err := dec.Token(); err != nil {
			return nil, jsonmsg.ErrSyntax
		}
		raw := in[from:dec.InputOffset()]
		raw = raw[bytes.IndexByte(raw, '"'):] // past the comma and spaces before the key
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return nil, jsonmsg.ErrSyntax
		}
		if string(raw) != `"`+key+`"` {
			continue // another key, or this one written with escapes
		}
		if len(val) < 2 || val[0] != '"' || bytes.IndexByte(val, '\\') >= 0 {
			return nil, jsonmsg.ErrNotString
		}
		return val[1 : len(val)-1], nil
	}
	return nil, jsonmsg.ErrNoKey
}

func TestSplitArrayAndValid(t *testing.T) {
	cases := []struct {
		in    string
		elems []string
		err   error
	}{
		{in: `[]`, elems: nil},
		{in: ` [ "a" , {"b":[1,2]} , 3.5e1, null ] `, elems: []string{`"a"`, `{"b":[1,2]}`, `3.5e1`, `null`}},
		{in: `["x\"]",true]`, elems: []string{`"x\"]"`, `true`}},
		{in: `{"a":1}`, err: jsonmsg.ErrNotArray},
		{in: `["a",`, err: jsonmsg.ErrSyntax},
		{in: `["a" "b"]`, err: jsonmsg.ErrSyntax},
		{in: `[{"a":}]`, err: jsonmsg.ErrSyntax},
	}
	for _, tc := range cases {
		got, err := jsonmsg.SplitArray([]byte(tc.in), nil)
		var strs []string
		for _, e := range got {
			strs = append(strs, string(e))
		}
		if !errors.Is(err, tc.err) || tc.err == nil && !slices.Equal(strs, tc.elems) {
			t.Errorf("SplitArray(%s) = %q, %v; want %q, %v", tc.in, strs, err, tc.elems, tc.err)
		}
	}
	for in, want := range map[string]bool{`{"a":[1]}`: true, ` 1 `: true, `{"a":1} x`: false, `{"a":1}{}`: false, `[1,]`: false, ``: false} {
		if got := jsonmsg.Valid([]byte(in)); got != want {
			t.Errorf("Valid(%q) = %v", in, got)
		}
	}
	if end, ok := jsonmsg.SkipValue([]byte(`  {"a":[1,{"b":"}"}]} rest`), 2); !ok || end != 21 {
		t.Errorf("SkipValue: %d %v", end, ok)
	}
}
