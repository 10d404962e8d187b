package wsframe_test

import (
	"bytes"
	"compress/flate"
	"fmt"
	"io"
	"math/rand"
	"runtime"
	"strings"
	"testing"

	"github.com/gobwas/ws"
	kflate "github.com/klauspost/compress/flate"

	"github.com/gnetty/gnetty/codec/wsframe"
	"github.com/gnetty/gnetty/pipeline/pipelinetest"
)

// chatStream is a deterministic stream of chat-like JSON messages: the
// traffic context takeover is for.
func chatStream(n int) [][]byte {
	words := strings.Fields("hello world the meeting is at noon see you there thanks ok lunch deploy server chat room tomorrow great idea let's ship it bug fixed review please coffee anyone today")
	names := []string{"alice", "bob", "carol", "dave", "eve"}
	r := rand.New(rand.NewSource(1))
	out := make([][]byte, n)
	for i := range out {
		var t []string
		for range 5 + r.Intn(30) {
			t = append(t, words[r.Intn(len(words))])
		}
		out[i] = fmt.Appendf(nil, `{"type":"message","room":"general","id":%d,"epoch":1700000000,"from":%q,"text":%q,"ts":%d}`,
			1000+i, names[r.Intn(len(names))], strings.Join(t, " "), 1764670000000+int64(i)*1234)
	}
	return out
}

// takeoverPeer is the client's side of a context-takeover connection: one
// compressor and one decompressor for the connection's life, as zlib-based
// clients (browsers, Node ws) keep them. Its compressor's window is the
// client_max_window_bits the server answered.
type takeoverPeer struct {
	t      *testing.T
	wbuf   bytes.Buffer
	w      *kflate.Writer
	rbuf   bytes.Buffer
	r      io.Reader
	noDict bool // compress every message alone (client_no_context_takeover)
}

func newTakeoverPeer(t *testing.T, d wsframe.Deflate) *takeoverPeer {
	p := &takeoverPeer{t: t, noDict: d.ClientWindow == 0}
	if d.ClientMaxWindowBits > 0 {
		p.w, _ = kflate.NewWriterWindow(&p.wbuf, 1<<d.ClientMaxWindowBits)
	} else {
		p.w, _ = kflate.NewWriter(&p.wbuf, kflate.BestSpeed)
	}
	p.r = flate.NewReader(&p.rbuf)
	return p
}

// compress is one message's frame payload.
func (p *takeoverPeer) compress(m []byte) []byte {
	p.wbuf.Reset()
	if p.noDict {
		p.w.Reset(&p.wbuf)
	}
	_, _ = p.w.Write(m)
	_ = p.w.Flush()
	return bytes.Clone(bytes.TrimSuffix(p.wbuf.Bytes(), []byte{0, 0, 0xff, 0xff}))
}

// inflate reads one message of want bytes from the connection's single
// decompression stream.
func (p *takeoverPeer) inflate(data []byte, want int) []byte {
	p.rbuf.Write(data)
	p.rbuf.Write([]byte{0, 0, 0xff, 0xff})
	out := make([]byte, want)
	if _, err := io.ReadFull(p.r, out); err != nil {
		p.t.Fatalf("client's takeover stream: %v", err)
	}
	return out
}

func TestDeflateNegotiatesContextTakeover(t *testing.T) {
	on := wsframe.DeflateOptions{ContextTakeover: true}
	for _, c := range []struct {
		opts  wsframe.DeflateOptions
		offer string
		want  string
	}{
		// Without the option, as before: nothing is kept.
		{wsframe.DeflateOptions{}, "permessage-deflate; client_max_window_bits", wsframe.DeflateResponse},
		// Browsers and Node ws: the client's window is cut to what fits.
		{on, "permessage-deflate; client_max_window_bits", "permessage-deflate; client_max_window_bits=12"},
		{on, "permessage-deflate; client_max_window_bits=10", "permessage-deflate; client_max_window_bits=10"},
		// No client_max_window_bits: the client's window is 32 KiB, more than the default budget.
		{on, "permessage-deflate", "permessage-deflate; client_no_context_takeover"},
		{wsframe.DeflateOptions{ContextTakeover: true, Memory: 64 << 10}, "permessage-deflate", "permessage-deflate"},
		// What the client asks not to keep is not kept, and the other side gets the budget.
		{on, "permessage-deflate; server_no_context_takeover; client_max_window_bits", "permessage-deflate; server_no_context_takeover; client_max_window_bits=13"},
		{on, "permessage-deflate; client_no_context_takeover", "permessage-deflate; client_no_context_takeover"},
		{on, "permessage-deflate; server_max_window_bits=9; client_max_window_bits=9", "permessage-deflate; server_max_window_bits=9; client_max_window_bits=9"},
		// A budget too small for any client window (512 B at least).
		{wsframe.DeflateOptions{ContextTakeover: true, Memory: 600}, "permessage-deflate; client_max_window_bits", "permessage-deflate; client_no_context_takeover"},
	} {
		d, ok := c.opts.Accept([]byte(c.offer))
		if !ok {
			t.Fatalf("%q declined", c.offer)
		}
		if got := d.Response(); got != c.want {
			t.Errorf("%+v, offer %q: answered %q, want %q", c.opts, c.offer, got, c.want)
		}
		if mem := c.opts.Memory; mem > 0 && d.ServerWindow+d.ClientWindow > mem {
			t.Errorf("offer %q: windows %d+%d over the budget %d", c.offer, d.ServerWindow, d.ClientWindow, mem)
		}
	}
}

// echoStream echoes stream through a codec that accepted the browsers'
// offer under opts, as a context-takeover client sends and reads it; it
// fails the test on any difference and returns the channel and the
// compressed bytes the server sent.
func echoStream(t *testing.T, opts wsframe.DeflateOptions, stream [][]byte) (*pipelinetest.Channel, int) {
	ch, _, out := echoStreamCodec(t, opts, stream)
	return ch, out
}

// echoStreamCodec is echoStream that also returns the codec.
func echoStreamCodec(t *testing.T, opts wsframe.DeflateOptions, stream [][]byte) (*pipelinetest.Channel, *wsframe.Codec, int) {
	t.Helper()
	d, ok := opts.Accept([]byte("permessage-deflate; client_max_window_bits"))
	if !ok {
		t.Fatal("declined")
	}
	d.Threshold = 1
	codec := wsframe.New(wsframe.Config{Deflate: &d})
	ch := pipelinetest.New(codec, echo)
	peer := newTakeoverPeer(t, d)
	out := 0
	for i, m := range stream {
		ch.WriteInbound(clientFrame(true, 4, ws.OpText, peer.compress(m)))
		frames := parseServer(t, ch.ReadOutboundBytes())
		if len(frames) != 1 || !frames[0].rsv1 {
			t.Fatalf("message %d: frames %v (events %v)", i, frames, ch.ReadError())
		}
		if got := peer.inflate(frames[0].data, len(m)); !bytes.Equal(got, m) {
			t.Fatalf("message %d: echo %q, want %q", i, got, m)
		}
		out += len(frames[0].data)
	}
	return ch, codec, out
}

// heapPerConn is the live heap that n values made by mk hold each.
func heapPerConn(n int, mk func(i int) any) int64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	before := ms.HeapAlloc
	held := make([]any, n)
	for i := range held {
		held[i] = mk(i)
	}
	runtime.GC()
	runtime.ReadMemStats(&ms)
	runtime.KeepAlive(held)
	return int64(ms.HeapAlloc-before) / int64(n)
}

// Both directions keep their window: every message of a chat stream
// decodes on the client's single stream and on the server's windowed
// decompressor, and the server's output is a fraction of what the same
// stream costs without context takeover.
func TestContextTakeoverRoundTrip(t *testing.T) {
	stream := chatStream(300)
	size := func(opts wsframe.DeflateOptions) (in, out int) {
		ch, out := echoStream(t, opts, stream)
		drainEvents(ch)
		if err := ch.Finish(); err != nil {
			t.Error(err)
		}
		for _, m := range stream {
			in += len(m)
		}
		return in, out
	}
	in, alone := size(wsframe.DeflateOptions{})
	_, kept := size(wsframe.DeflateOptions{ContextTakeover: true})
	t.Logf("chat stream of %d B: %.3f of its size without context takeover, %.3f with", in, float64(alone)/float64(in), float64(kept)/float64(in))
	if kept*2 > alone {
		t.Fatalf("context takeover sent %d B, alone %d B: the window is not used", kept, alone)
	}
}

// With server_max_window_bits=9 no back-reference reaches further than
// 512 bytes, but those within it are used.
func TestServerWindowBitsAreHonoured(t *testing.T) {
	d, ok := wsframe.AcceptDeflate([]byte("permessage-deflate; server_max_window_bits=9; client_max_window_bits"))
	if !ok || d.ServerMaxWindowBits != 9 {
		t.Fatalf("%+v %v", d, ok)
	}
	if got := d.Response(); got != wsframe.DeflateResponse+"; server_max_window_bits=9" {
		t.Fatalf("response %q", got)
	}
	if got := (wsframe.Deflate{}).Response(); got != wsframe.DeflateResponse {
		t.Fatalf("response %q", got)
	}
	d.Threshold = 1
	r := rand.New(rand.NewSource(2))
	block := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('a' + r.Intn(26)) // no repeats worth a reference inside a block
		}
		return b
	}
	far := block(1000)
	near := block(200)
	for _, c := range []struct {
		name string
		text []byte
		ok   func(n int) bool
	}{
		// The repeat is 1000 bytes back: out of the window.
		{"far", slices(far, far), func(n int) bool { return n > 2000*4/8 }},
		// Repeats 200 bytes back: within it.
		{"near", bytes.Repeat(near, 10), func(n int) bool { return n < 2000/4 }},
	} {
		ch := newCodec(t, wsframe.Config{Deflate: &d})
		ch.WriteOutbound(wsframe.AcquireMessage(ws.OpText, c.text))
		frames := parseServer(t, ch.ReadOutboundBytes())
		if len(frames) != 1 || !frames[0].rsv1 {
			t.Fatalf("%s: frames %v", c.name, frames)
		}
		if n := len(frames[0].data); !c.ok(n) {
			t.Errorf("%s: %d bytes for %d", c.name, n, len(c.text))
		}
		if got := inflateBody(t, frames[0].data); !bytes.Equal(got, c.text) {
			t.Fatalf("%s: inflated %d bytes", c.name, len(got))
		}
		drainEvents(ch)
		if err := ch.Finish(); err != nil {
			t.Error(err)
		}
	}
}

// A connection with context takeover keeps its two windows, within the
// budget, and no compressor: 100 codecs after a stream each way hold a
// few KB more each than without takeover, far from a compressor's
// hundreds (the heap figure is logged; pools make it move, and the race
// detector's pools more).
func TestContextTakeoverKeepsOnlyItsWindows(t *testing.T) {
	stream := chatStream(50)
	held := func(opts wsframe.DeflateOptions) int64 {
		return heapPerConn(100, func(int) any {
			ch, codec, _ := echoStreamCodec(t, opts, stream)
			if n := wsframe.WindowBytes(codec); n > wsframe.DefaultDeflateMemory || opts.ContextTakeover != (n > 0) {
				t.Fatalf("windows of %d bytes kept (budget %d, takeover %v)", n, wsframe.DefaultDeflateMemory, opts.ContextTakeover)
			}
			return ch
		})
	}
	alone := held(wsframe.DeflateOptions{})
	kept := held(wsframe.DeflateOptions{ContextTakeover: true})
	t.Logf("heap per connection: %d B without context takeover, %d B with (budget %d B)", alone, kept, wsframe.DefaultDeflateMemory)
	if kept-alone > 100<<10 {
		t.Fatalf("context takeover holds %d bytes more per connection: a compressor is kept", kept-alone)
	}
}

// BenchmarkDeflateStream compresses a chat stream as a server sends it,
// without and with context takeover: ns and allocations per message, and
// the compressed share of the bytes (ratio).
func BenchmarkDeflateStream(b *testing.B) {
	stream := chatStream(1000)
	for _, c := range []struct {
		name string
		opts wsframe.DeflateOptions
	}{
		{"alone", wsframe.DeflateOptions{}},
		{"takeover-2k", wsframe.DeflateOptions{ContextTakeover: true, Memory: 4 << 10}},
		{"takeover-4k", wsframe.DeflateOptions{ContextTakeover: true}},
		{"takeover-16k", wsframe.DeflateOptions{ContextTakeover: true, Memory: 32 << 10}},
	} {
		b.Run(c.name, func(b *testing.B) {
			d, _ := c.opts.Accept([]byte("permessage-deflate; client_max_window_bits"))
			d.Threshold = 1
			ch := pipelinetest.New(wsframe.New(wsframe.Config{Deflate: &d}))
			in, out := 0, 0
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				m := stream[i%len(stream)]
				i++
				ch.WriteOutbound(wsframe.AcquireMessage(ws.OpText, m))
				in += len(m)
				out += len(ch.ReadOutboundBytes())
			}
			b.ReportMetric(float64(out)/float64(in), "ratio")
		})
	}
}
