package socketio

import (
	"bytes"
	"testing"
)

func TestDecodePacket(t *testing.T) {
	cases := []struct {
		name, in    string
		ok          bool
		typ         byte
		nsp         string
		id          int64
		attachments int
		data        string
	}{
		{name: "connect root", in: "0", ok: true, typ: pConnect, nsp: "/", id: -1},
		{name: "connect with auth", in: `0/admin,{"token":"x"}`, ok: true, typ: pConnect, nsp: "/admin", id: -1, data: `{"token":"x"}`},
		{name: "connect ns without comma", in: "0/admin", ok: true, typ: pConnect, nsp: "/admin", id: -1},
		{name: "event", in: `2["hi",1]`, ok: true, typ: pEvent, nsp: "/", id: -1, data: `["hi",1]`},
		{name: "event with ack id", in: `2/chat,12["hi"]`, ok: true, typ: pEvent, nsp: "/chat", id: 12, data: `["hi"]`},
		{name: "numeric event name", in: `2[7]`, ok: true, typ: pEvent, nsp: "/", id: -1, data: `[7]`},
		{name: "ack", in: `35[]`, ok: true, typ: pAck, nsp: "/", id: 5, data: `[]`},
		{name: "binary event", in: `52-/x,3["b",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`, ok: true, typ: pBinaryEvent, nsp: "/x", id: 3, attachments: 2, data: `["b",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`},
		{name: "disconnect", in: "1/chat,", ok: true, typ: pDisconnect, nsp: "/chat", id: -1},
		{name: "empty", in: ""},
		{name: "unknown type", in: "7[]"},
		{name: "event not an array", in: `2{"a":1}`},
		{name: "event without payload", in: "2"},
		{name: "event name reserved", in: `2["disconnect"]`},
		{name: "event name an object", in: `2[{}]`},
		{name: "event with no name", in: `2[]`}, // found by FuzzDecodePacket: it panicked
		{name: "binary event with no name", in: `50-[ ]`},
		{name: "trailing bytes", in: `2["a"]]`},
		{name: "connect with array", in: `0[1]`},
		{name: "disconnect with payload", in: `1{}`},
		{name: "binary without count", in: `5["a"]`},
		{name: "too many attachments", in: `5100-["a"]`},
		{name: "ack id too long", in: `31234567890123456[]`},
		{name: "ack not array", in: `3"x"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := decodePacket([]byte(c.in))
			if (err == nil) != c.ok {
				t.Fatalf("err %v, want ok=%v", err, c.ok)
			}
			if !c.ok {
				return
			}
			if p.typ != c.typ || p.nsp != c.nsp || p.id != c.id || p.attachments != c.attachments || string(p.data) != c.data {
				t.Fatalf("%+v", p)
			}
		})
	}
}

// TestBinaryRoundTrip: []byte anywhere becomes an attachment and comes
// back as []byte through Args.
func TestBinaryRoundTrip(t *testing.T) {
	args := []any{"text", []byte{1, 2}, map[string]any{"inner": []any{[]byte("x"), 3.5}}}
	e, err := encodeEvent(pEvent, "/ns", 4, "ev", args)
	if err != nil {
		t.Fatal(err)
	}
	want := `52-/ns,4["ev","text",{"_placeholder":true,"num":0},{"inner":[{"_placeholder":true,"num":1},3.5]}]`
	if string(e.text) != want || len(e.attachments) != 2 {
		t.Fatalf("%s %d", e.text, len(e.attachments))
	}
	p, err := decodePacket(e.text)
	if err != nil {
		t.Fatal(err)
	}
	a, err := newArgs(p.data, true, e.attachments)
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := a.String(0); !ok || s != "text" {
		t.Fatal(s)
	}
	if b, ok := a.Bytes(1); !ok || !bytes.Equal(b, []byte{1, 2}) {
		t.Fatal(b)
	}
	vals := a.Values()
	inner := vals[2].(map[string]any)["inner"].([]any)
	if !bytes.Equal(inner[0].([]byte), []byte("x")) || inner[1] != 3.5 {
		t.Fatalf("%#v", vals[2])
	}
	var bad struct{ X int }
	if err := a.Decode(7, &bad); err != ErrArgIndex {
		t.Fatal(err)
	}
	// A placeholder that names no attachment is refused.
	if _, err := (&Args{raw: [][]byte{[]byte(`{"_placeholder":true,"num":5}`)}, attachments: [][]byte{{1}}}).generic(0); err == nil {
		t.Fatal("dangling placeholder accepted")
	}
}

// FuzzDecodePacket: no input panics the parser, every event or ack the
// parser accepts splits into arguments, and what it decodes encodes back
// (appendHeader) to a text that decodes to the same packet.
func FuzzDecodePacket(f *testing.F) {
	for _, s := range []string{"0", `0/admin,{"token":"x"}`, `2["hi",1]`, `2/chat,12["hi",{"a":[1,2]}]`, `35[]`, `51-["b",{"_placeholder":true,"num":0}]`, "1/x,", `4{"message":"no"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := decodePacket(b)
		if err != nil {
			return
		}
		again, err := decodePacket(append(appendHeader(nil, p.typ, p.attachments, p.nsp, p.id), p.data...))
		if err != nil || again.typ != p.typ || again.attachments != p.attachments || again.nsp != p.nsp || again.id != p.id || !bytes.Equal(again.data, p.data) {
			t.Fatalf("%q decodes to %+v, encodes back to %+v (%v)", b, p, again, err)
		}
		if p.typ == pEvent || p.typ == pAck || p.typ == pBinaryEvent || p.typ == pBinaryAck {
			atts := make([][]byte, p.attachments)
			a, err := newArgs(p.data, p.typ == pEvent || p.typ == pBinaryEvent, atts)
			if err != nil {
				t.Fatalf("valid packet, bad args: %v", err)
			}
			_ = a.Values()
		}
	})
}
