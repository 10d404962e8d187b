package wsframe_test

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gobwas/ws"

	"github.com/gnetty/gnetty/codec/wsframe"
	"github.com/gnetty/gnetty/pipeline"
	"github.com/gnetty/gnetty/pipeline/pipelinetest"
)

// clientFrame builds a masked client frame.
func clientFrame(fin bool, rsv byte, op ws.OpCode, payload []byte) []byte {
	return rawFrame(fin, rsv, op, true, payload)
}

func rawFrame(fin bool, rsv byte, op ws.OpCode, masked bool, payload []byte) []byte {
	b0 := byte(op) | rsv<<4
	if fin {
		b0 |= 0x80
	}
	var out []byte
	mbit := byte(0)
	if masked {
		mbit = 0x80
	}
	switch n := len(payload); {
	case n < 126:
		out = append(out, b0, mbit|byte(n))
	case n <= 0xFFFF:
		out = append(out, b0, mbit|126, byte(n>>8), byte(n))
	default:
		out = append(out, b0, mbit|127)
		out = binary.BigEndian.AppendUint64(out, uint64(n))
	}
	if !masked {
		return append(out, payload...)
	}
	mask := [4]byte{0x12, 0x34, 0x56, 0x78}
	out = append(out, mask[:]...)
	p := append([]byte(nil), payload...)
	ws.Cipher(p, mask, 0)
	return append(out, p...)
}

func closeBody(code uint16, reason string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, code), reason...)
}

// serverFrame is one frame the server sent.
type serverFrame struct {
	fin  bool
	rsv1 bool
	op   ws.OpCode
	data []byte
}

func parseServer(t *testing.T, b []byte) []serverFrame {
	t.Helper()
	var out []serverFrame
	for len(b) > 0 {
		if b[1]&0x80 != 0 {
			t.Fatal("server frame is masked")
		}
		n, hl := int(b[1]&0x7F), 2
		switch n {
		case 126:
			n, hl = int(binary.BigEndian.Uint16(b[2:])), 4
		case 127:
			n, hl = int(binary.BigEndian.Uint64(b[2:])), 10
		}
		out = append(out, serverFrame{fin: b[0]&0x80 != 0, rsv1: b[0]&0x40 != 0, op: ws.OpCode(b[0] & 0x0F), data: b[hl : hl+n]})
		b = b[hl+n:]
	}
	return out
}

// echo writes every message back.
var echo = pipeline.ReadFunc(func(ctx *pipeline.Context, msg any) {
	if m, ok := msg.(*wsframe.Message); ok {
		ctx.WriteAndFlush(wsframe.AcquireMessage(m.Op, m.Data))
		return
	}
	ctx.FireRead(msg)
})

func newCodec(t *testing.T, cfg wsframe.Config) *pipelinetest.Channel {
	return pipelinetest.New(wsframe.New(cfg), echo)
}

func drainEvents(ch *pipelinetest.Channel) {
	for ch.ReadUserEvent() != nil {
	}
	for ch.ReadError() != nil {
	}
}

func TestEchoAndFragmentation(t *testing.T) {
	ch := newCodec(t, wsframe.Config{})
	ch.WriteInbound(clientFrame(true, 0, ws.OpText, []byte("hello")))
	ch.WriteInbound(slices(clientFrame(false, 0, ws.OpText, []byte("frag")),
		clientFrame(true, 0, ws.OpPing, []byte("p")),
		clientFrame(false, 0, ws.OpContinuation, []byte("men")),
		clientFrame(true, 0, ws.OpContinuation, []byte("ted"))))
	ch.WriteInbound(clientFrame(true, 0, ws.OpBinary, []byte{0, 1, 2}))
	frames := parseServer(t, ch.ReadOutboundBytes())
	want := []serverFrame{
		{fin: true, op: ws.OpText, data: []byte("hello")},
		{fin: true, op: ws.OpPong, data: []byte("p")},
		{fin: true, op: ws.OpText, data: []byte("fragmented")},
		{fin: true, op: ws.OpBinary, data: []byte{0, 1, 2}},
	}
	if fmt.Sprint(frames) != fmt.Sprint(want) {
		t.Fatalf("frames %v\nwant %v", frames, want)
	}
	drainEvents(ch)
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
}

func slices(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestProtocolErrorsCloseWithTheRightCode(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 200)
	cases := []struct {
		name  string
		input []byte
		code  ws.StatusCode
	}{
		{"unmasked", rawFrame(true, 0, ws.OpText, false, []byte("x")), ws.StatusProtocolError},
		{"rsv bits", clientFrame(true, 2, ws.OpText, []byte("x")), ws.StatusProtocolError},
		{"rsv1 without deflate", clientFrame(true, 4, ws.OpText, []byte("x")), ws.StatusProtocolError},
		{"reserved opcode", clientFrame(true, 0, ws.OpCode(3), nil), ws.StatusProtocolError},
		{"reserved control opcode", clientFrame(true, 0, ws.OpCode(0xB), nil), ws.StatusProtocolError},
		{"long ping", clientFrame(true, 0, ws.OpPing, big), ws.StatusProtocolError},
		{"fragmented ping", clientFrame(false, 0, ws.OpPing, nil), ws.StatusProtocolError},
		{"continuation first", clientFrame(true, 0, ws.OpContinuation, []byte("x")), ws.StatusProtocolError},
		{"new message mid-fragment", slices(clientFrame(false, 0, ws.OpText, []byte("a")), clientFrame(true, 0, ws.OpText, []byte("b"))), ws.StatusProtocolError},
		{"invalid utf8", clientFrame(true, 0, ws.OpText, []byte("a\xffb")), ws.StatusInvalidFramePayloadData},
		{"utf8 ends mid-character", slices(clientFrame(false, 0, ws.OpText, []byte("a\xe2\x82")), clientFrame(true, 0, ws.OpContinuation, nil)), ws.StatusInvalidFramePayloadData},
		{"surrogate", clientFrame(true, 0, ws.OpText, []byte("\xed\xa0\x80")), ws.StatusInvalidFramePayloadData},
		{"close one byte", clientFrame(true, 0, ws.OpClose, []byte{3}), ws.StatusProtocolError},
		{"close code 999", clientFrame(true, 0, ws.OpClose, closeBody(999, "")), ws.StatusProtocolError},
		{"close code 1005", clientFrame(true, 0, ws.OpClose, closeBody(1005, "")), ws.StatusProtocolError},
		{"close code 1006", clientFrame(true, 0, ws.OpClose, closeBody(1006, "")), ws.StatusProtocolError},
		{"close code 1016", clientFrame(true, 0, ws.OpClose, closeBody(1016, "")), ws.StatusProtocolError},
		{"close code 5000", clientFrame(true, 0, ws.OpClose, closeBody(5000, "")), ws.StatusProtocolError},
		{"close reason invalid utf8", clientFrame(true, 0, ws.OpClose, closeBody(1000, "\xff")), ws.StatusInvalidFramePayloadData},
		{"frame too large", clientFrame(true, 0, ws.OpBinary, bytes.Repeat([]byte("x"), 1025)), ws.StatusMessageTooBig},
		// RFC 6455 5.2: a 64-bit length's most significant bit is 0.
		{"64-bit length with the top bit set", []byte{0x82, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4}, ws.StatusProtocolError},
		{"message too large", slices(clientFrame(false, 0, ws.OpBinary, bytes.Repeat([]byte("x"), 600)), clientFrame(true, 0, ws.OpContinuation, bytes.Repeat([]byte("x"), 600))), ws.StatusMessageTooBig},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ch := newCodec(t, wsframe.Config{MaxMessageSize: 1024})
			ch.WriteInbound(tc.input)
			if !ch.IsClosed() { // still draining: more input must be ignored
				ch.WriteInbound(clientFrame(true, 0, ws.OpText, []byte("after")))
			}
			frames := parseServer(t, ch.ReadOutboundBytes())
			if len(frames) != 1 || frames[0].op != ws.OpClose {
				t.Fatalf("frames %v, want one close", frames)
			}
			if got := ws.StatusCode(binary.BigEndian.Uint16(frames[0].data)); got != tc.code {
				t.Fatalf("close code %d, want %d (%s)", got, tc.code, frames[0].data[2:])
			}
			var ce *wsframe.CloseError
			if err := ch.ReadError(); !errors.As(err, &ce) || ce.Code != tc.code {
				t.Fatalf("error %v", err)
			}
			if !ch.IsClosed() {
				t.Fatal("connection not closed")
			}
			drainEvents(ch)
			if err := ch.Finish(); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestUTF8FailsFastInFirstFragment(t *testing.T) {
	ch := newCodec(t, wsframe.Config{})
	ch.WriteInbound(clientFrame(false, 0, ws.OpText, []byte("ok \xc0\xaf")))
	frames := parseServer(t, ch.ReadOutboundBytes())
	if len(frames) != 1 || ws.StatusCode(binary.BigEndian.Uint16(frames[0].data)) != ws.StatusInvalidFramePayloadData {
		t.Fatalf("no 1007 before the message ended: %v", frames)
	}
	drainEvents(ch)
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
}

// Autobahn 6.4.3/6.4.4: a text frame that turns invalid in a chop of
// its own fails with 1007 at once, while the rest of the frame has not
// arrived, in a single-frame message and in a continuation alike.
func TestUTF8FailsFastInsideAPartialFrame(t *testing.T) {
	for _, tc := range []struct {
		name    string
		before  []byte // whole frames first
		payload []byte // the frame that arrives in chops
		op      ws.OpCode
	}{
		{name: "single frame", payload: []byte("κόσμε\xf4\x90\x80\x80edited"), op: ws.OpText},
		{name: "continuation", before: clientFrame(false, 0, ws.OpText, []byte("κόσμε")), payload: []byte("ok\xf4\x90\x80\x80edited"), op: ws.OpContinuation},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ch := newCodec(t, wsframe.Config{})
			if tc.before != nil {
				ch.WriteInbound(tc.before)
			}
			frame := clientFrame(true, 0, tc.op, tc.payload)
			bad := len(frame) - len("edited") - 3 // up to the first byte of the invalid sequence that cannot continue
			ch.WriteInbound(frame[:bad-3])
			if out := ch.ReadOutboundBytes(); len(out) != 0 {
				t.Fatalf("failed on valid bytes: %q", out)
			}
			ch.WriteInbound(frame[bad-3 : bad+1]) // \xf4\x90: no code point above U+10FFFF
			frames := parseServer(t, ch.ReadOutboundBytes())
			if len(frames) != 1 || ws.StatusCode(binary.BigEndian.Uint16(frames[0].data)) != ws.StatusInvalidFramePayloadData {
				t.Fatalf("no 1007 before the frame's end arrived: %v", frames)
			}
			drainEvents(ch)
			if err := ch.Finish(); err != nil {
				t.Error(err)
			}
		})
	}
}

// A valid text frame in many chops arrives whole and intact (each chop
// is unmasked once, at its own offset in the mask).
func TestTextFrameInChops(t *testing.T) {
	ch := newCodec(t, wsframe.Config{})
	text := []byte(strings.Repeat("Hello-µ@ßöäüàá-UTF-8!! ", 20))
	frame := clientFrame(true, 0, ws.OpText, text)
	for i := 0; i < len(frame); i += 7 {
		ch.WriteInbound(frame[i:min(i+7, len(frame))])
	}
	frames := parseServer(t, ch.ReadOutboundBytes()) // the echo
	if len(frames) != 1 || frames[0].op != ws.OpText || string(frames[0].data) != string(text) {
		t.Fatalf("echoed %v", frames)
	}
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
}

func TestCloseHandshake(t *testing.T) {
	for _, tc := range []struct {
		name string
		body []byte
		echo []byte
	}{
		{"with code", closeBody(1000, "bye"), closeBody(1000, "")},
		{"application code", closeBody(4001, "app"), closeBody(4001, "")},
		{"empty", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ch := newCodec(t, wsframe.Config{})
			ch.WriteInbound(clientFrame(true, 0, ws.OpClose, tc.body))
			ev, ok := ch.ReadUserEvent().(wsframe.CloseReceived)
			if !ok {
				t.Fatal("no CloseReceived")
			}
			if len(tc.body) >= 2 && (uint16(ev.Code) != binary.BigEndian.Uint16(tc.body) || ev.Reason != string(tc.body[2:])) {
				t.Fatalf("event %+v", ev)
			}
			frames := parseServer(t, ch.ReadOutboundBytes())
			if len(frames) != 1 || frames[0].op != ws.OpClose || !bytes.Equal(frames[0].data, tc.echo) {
				t.Fatalf("echo %v", frames)
			}
			if !ch.IsClosed() {
				t.Fatal("not closed after the close handshake")
			}
			if err := ch.Finish(); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestServerInitiatedClose(t *testing.T) {
	ch := newCodec(t, wsframe.Config{})
	ch.WriteOutbound(wsframe.Close{Code: ws.StatusGoingAway, Reason: "shutdown"})
	frames := parseServer(t, ch.ReadOutboundBytes())
	if len(frames) != 1 || !bytes.Equal(frames[0].data, closeBody(1001, "shutdown")) {
		t.Fatalf("frames %v", frames)
	}
	ch.WriteOutbound(wsframe.Text("dropped after close"))
	if out := ch.ReadOutboundBytes(); len(out) != 0 {
		t.Fatalf("wrote after close: %q", out)
	}
	if ch.IsClosed() {
		t.Fatal("closed before the peer answered")
	}
	ch.WriteInbound(clientFrame(true, 0, ws.OpClose, closeBody(1001, "")))
	if !ch.IsClosed() {
		t.Fatal("not closed after the answer")
	}
	drainEvents(ch)
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}

	// A peer that never answers is closed after CloseTimeout.
	silent := newCodec(t, wsframe.Config{})
	silent.WriteOutbound(wsframe.Close{Code: ws.StatusNormalClosure})
	silent.ReadOutboundBytes()
	silent.Advance(5 * 1e9)
	if !silent.IsClosed() {
		t.Fatal("not closed after the close timeout")
	}
	if err := silent.Finish(); err != nil {
		t.Error(err)
	}
}

func deflateBody(t *testing.T, p []byte) []byte {
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, flate.BestSpeed)
	_, _ = w.Write(p)
	_ = w.Flush()
	return bytes.TrimSuffix(b.Bytes(), []byte{0, 0, 0xff, 0xff})
}

func inflateBody(t *testing.T, p []byte) []byte {
	r := flate.NewReader(bytes.NewReader(append(append([]byte(nil), p...), 0, 0, 0xff, 0xff, 1, 0, 0, 0xff, 0xff)))
	var out bytes.Buffer
	if _, err := out.ReadFrom(r); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestPermessageDeflate(t *testing.T) {
	ch := newCodec(t, wsframe.Config{Deflate: &wsframe.Deflate{Threshold: 10}, MaxMessageSize: 4096})
	long := strings.Repeat("compress me please ", 20)
	comp := deflateBody(t, []byte(long))
	// A compressed message in two fragments; RSV1 only on the first.
	ch.WriteInbound(slices(clientFrame(false, 4, ws.OpText, comp[:5]), clientFrame(true, 0, ws.OpContinuation, comp[5:])))
	ch.WriteInbound(clientFrame(true, 0, ws.OpText, []byte("tiny"))) // uncompressed is allowed too
	frames := parseServer(t, ch.ReadOutboundBytes())
	if len(frames) != 2 {
		t.Fatalf("frames %v", frames)
	}
	if !frames[0].rsv1 || string(inflateBody(t, frames[0].data)) != long {
		t.Fatalf("compressed echo wrong: rsv1=%v", frames[0].rsv1)
	}
	if frames[1].rsv1 || string(frames[1].data) != "tiny" {
		t.Fatalf("short message should go uncompressed: %+v", frames[1])
	}
	// A decompression bomb is refused with 1009.
	bomb := deflateBody(t, bytes.Repeat([]byte("a"), 100_000))
	ch.WriteInbound(clientFrame(true, 4, ws.OpBinary, bomb))
	frames = parseServer(t, ch.ReadOutboundBytes())
	if len(frames) != 1 || ws.StatusCode(binary.BigEndian.Uint16(frames[0].data)) != ws.StatusMessageTooBig {
		t.Fatalf("bomb: %v", frames)
	}
	drainEvents(ch)
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
}

// A compressed message that does not inflate, or inflates to text that
// is not UTF-8, closes with 1007 and the reason.
func TestBadCompressedMessages(t *testing.T) {
	cases := []struct {
		name   string
		input  []byte
		reason string
	}{
		{"corrupt deflate data", clientFrame(true, 4, ws.OpBinary, []byte{0xff, 0xff, 0xff, 0xff, 0x00}), "invalid compressed data"},
		{"invalid UTF-8 after inflating", clientFrame(true, 4, ws.OpText, deflateBody(t, []byte("ok\xff\xfe not text"))), "invalid UTF-8"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ch := newCodec(t, wsframe.Config{Deflate: &wsframe.Deflate{}, MaxMessageSize: 4096})
			ch.WriteInbound(tc.input)
			frames := parseServer(t, ch.ReadOutboundBytes())
			if len(frames) != 1 || frames[0].op != ws.OpClose {
				t.Fatalf("frames %v, want one close", frames)
			}
			code, reason := ws.StatusCode(binary.BigEndian.Uint16(frames[0].data)), string(frames[0].data[2:])
			if code != ws.StatusInvalidFramePayloadData || !strings.Contains(reason, tc.reason) {
				t.Fatalf("close %d %q, want 1007 with %q", code, reason, tc.reason)
			}
			if !ch.IsClosed() {
				t.Fatal("connection not closed")
			}
			drainEvents(ch)
		})
	}
}

func TestNegotiateDeflate(t *testing.T) {
	cases := map[string]bool{
		"permessage-deflate":                         true,
		"permessage-deflate; client_max_window_bits": true,
		"permessage-deflate; server_no_context_takeover; client_no_context_takeover": true,
		"permessage-deflate; server_max_window_bits=10":                              true,
		"permessage-deflate; server_max_window_bits=10, permessage-deflate":          true,
		"permessage-deflate; server_max_window_bits=7":                               false,
		"permessage-deflate; server_max_window_bits":                                 false,
		"permessage-deflate; unknown=1":                                              false,
		"permessage-deflate; client_no_context_takeover; client_no_context_takeover": false,
		"x-webkit-deflate-frame":                                                     false,
		"":                                                                           false,
	}
	for offer, want := range cases {
		if got := wsframe.NegotiateDeflate([]byte(offer)); got != want {
			t.Errorf("%q: %v, want %v", offer, got, want)
		}
	}
}

// Autobahn 13.3/13.5: a window the client sets for the server is
// accepted, answered, and honoured (Huffman coding only, no
// back-references), and what is sent still inflates to the message.
func TestPreparedBroadcastEncodesOnce(t *testing.T) {
	p := wsframe.Prepare(ws.OpText, []byte("to everyone"))
	var outs [][]byte
	for range 3 {
		ch := newCodec(t, wsframe.Config{})
		ch.WriteOutbound(p)
		outs = append(outs, ch.ReadOutboundBytes())
		if err := ch.Finish(); err != nil {
			t.Error(err)
		}
	}
	for _, o := range outs {
		f := parseServer(t, o)
		if len(f) != 1 || string(f[0].data) != "to everyone" || f[0].op != ws.OpText {
			t.Fatalf("frames %v", f)
		}
	}
}

// TestNeverSendsInvalidUTF8Text: a text message, a prepared broadcast or a
// close reason that is not UTF-8 never leaves as such (a peer would fail
// the connection): messages are refused with ErrInvalidText and the
// connection goes on; a close reason is repaired.
func TestNeverSendsInvalidUTF8Text(t *testing.T) {
	ch := pipelinetest.New(wsframe.New(wsframe.Config{}))
	ch.WriteOutbound(wsframe.Text("bad \xff byte"))
	ch.WriteOutbound(wsframe.Prepare(ws.OpText, []byte("also \xfe bad")))
	if out := ch.ReadOutboundBytes(); len(out) != 0 {
		t.Fatalf("invalid text was sent: %q", out)
	}
	for range 2 {
		if err := ch.ReadError(); !errors.Is(err, wsframe.ErrInvalidText) {
			t.Fatalf("error %v, want ErrInvalidText", err)
		}
	}
	// Binary may hold any bytes; valid text still goes out.
	ch.WriteOutbound(wsframe.AcquireMessage(ws.OpBinary, []byte{0xff}), wsframe.Text("fine"))
	r := bytes.NewReader(ch.ReadOutboundBytes())
	for _, want := range []string{"\xff", "fine"} {
		f, err := ws.ReadFrame(r)
		if err != nil || string(f.Payload) != want {
			t.Fatalf("frame %q %v, want %q", f.Payload, err, want)
		}
	}
	ch.WriteOutbound(wsframe.Close{Code: 1008, Reason: "bye \xff"})
	f, err := ws.ReadFrame(bytes.NewReader(ch.ReadOutboundBytes()))
	if err != nil || f.Header.OpCode != ws.OpClose || !utf8.Valid(f.Payload[2:]) {
		t.Fatalf("close frame %v %q", err, f.Payload)
	}
	if ch.IsClosed() {
		t.Fatal("closed before the peer answered the close")
	}
	ch.Advance(time.Minute)
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
}

// A compressed connection holds no compressor or decompressor between
// messages (compress/flate's writer alone is about 1.2 MB): they are
// pooled. 200 codecs that each inflated and deflated a message must not
// hold more than a pool's worth.
func TestCompressedConnectionsHoldNoFlateState(t *testing.T) {
	long := strings.Repeat("compress me, compress me, compress me. ", 50)
	per := heapPerConn(200, func(i int) any {
		ch := newCodec(t, wsframe.Config{Deflate: &wsframe.Deflate{Threshold: 1}})
		ch.WriteInbound(clientFrame(true, 4, ws.OpText, deflateBody(t, []byte(long))))
		frames := parseServer(t, ch.ReadOutboundBytes())
		if len(frames) != 1 || !frames[0].rsv1 || string(inflateBody(t, frames[0].data)) != long {
			t.Fatalf("codec %d: echo %v", i, frames)
		}
		return ch
	})
	t.Logf("heap per compressed connection after a message each way: %d B", per)
	if per > 100<<10 {
		t.Fatalf("%d bytes held per compressed connection: flate state is kept per connection", per)
	}
}

// Reply: the text a handler received, sent back unchanged while it is
// handled, is not validated again (the codec did it on the way in); a
// copy, or a reply after the handler returned, is. A handler that breaks
// the bytes in place before replying gets them out unchecked, which is
// what the doc warns of: here that shows the check is skipped.
func TestReplySkipsTheSecondCheck(t *testing.T) {
	var kept *wsframe.Message
	for _, tc := range []struct {
		name  string
		reply func(m *wsframe.Message) *wsframe.Message
		sent  bool // the broken text goes out (no second check)
	}{
		{"reply with its own bytes", func(m *wsframe.Message) *wsframe.Message { return m.Reply(ws.OpText, m.Data) }, true},
		{"reply with a copy", func(m *wsframe.Message) *wsframe.Message {
			return m.Reply(ws.OpText, append([]byte(nil), m.Data...))
		}, false},
		{"AcquireMessage", func(m *wsframe.Message) *wsframe.Message { return wsframe.AcquireMessage(ws.OpText, m.Data) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := pipeline.MessageFunc[*wsframe.Message](func(ctx *pipeline.Context, m *wsframe.Message) {
				m.Data[0] = 0xff // broken in place: no longer UTF-8
				kept = m
				ctx.WriteAndFlush(tc.reply(m))
			})
			ch := pipelinetest.New(wsframe.New(wsframe.Config{}), h)
			ch.WriteInbound(clientFrame(true, 0, ws.OpText, []byte("hello")))
			out := ch.ReadOutboundBytes()
			err := ch.ReadError()
			if tc.sent != (len(out) > 0) || tc.sent != (err == nil) {
				t.Fatalf("out %q, error %v; want the broken text sent: %v", out, err, tc.sent)
			}
		})
	}
	// After the handler: the message is no longer live.
	ch := pipelinetest.New(wsframe.New(wsframe.Config{}))
	ch.WriteOutbound(kept.Reply(ws.OpText, kept.Data))
	if err := ch.ReadError(); !errors.Is(err, wsframe.ErrInvalidText) {
		t.Fatalf("a reply after the handler returned: %v, want ErrInvalidText", err)
	}
}
