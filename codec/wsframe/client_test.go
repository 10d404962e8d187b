package wsframe_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"github.com/gobwas/ws"

	"github.com/gnetty/gnetty/codec/wsframe"
	"github.com/gnetty/gnetty/pipeline"
	"github.com/gnetty/gnetty/pipeline/pipelinetest"
)

// collectMsgs keeps copies of the messages a codec fires.
type collectMsgs struct{ got []string }

func (c *collectMsgs) HandleRead(ctx *pipeline.Context, msg any) {
	if m, ok := msg.(*wsframe.Message); ok {
		c.got = append(c.got, fmt.Sprintf("%d:%s", m.Op, m.Data))
		return
	}
	ctx.FireRead(msg)
}

// pair connects a client codec and a server codec back to back.
type pair struct {
	client, server         *pipelinetest.Channel
	toClient, toServer     *collectMsgs
	clientWire, serverWire []byte // the bytes each side sent last
}

func newPair(t *testing.T, ccfg, scfg wsframe.Config) *pair {
	ccfg.Client = true
	p := &pair{toClient: &collectMsgs{}, toServer: &collectMsgs{}}
	p.client = pipelinetest.New(wsframe.New(ccfg), p.toClient)
	p.server = pipelinetest.New(wsframe.New(scfg), p.toServer)
	return p
}

// flow moves what each side wrote to the other until nothing moves.
func (p *pair) flow() {
	for {
		c, s := p.client.ReadOutboundBytes(), p.server.ReadOutboundBytes()
		if len(c) == 0 && len(s) == 0 {
			return
		}
		if len(c) > 0 {
			p.clientWire = c
			p.server.WriteInbound(c)
		}
		if len(s) > 0 {
			p.serverWire = s
			p.client.WriteInbound(s)
		}
	}
}

// A client masks every frame with a key of its own, and a server reads
// them; the server's unmasked frames reach the client.
func TestClientFramesAreMaskedWithFreshKeys(t *testing.T) {
	p := newPair(t, wsframe.Config{}, wsframe.Config{})
	keys := map[[4]byte]bool{}
	for i := range 50 {
		text := fmt.Sprintf("message %d %s", i, strings.Repeat("x", i*5))
		p.client.WriteOutbound(wsframe.Text(text))
		wire := p.client.ReadOutboundBytes()
		if wire[1]&0x80 == 0 {
			t.Fatalf("frame %d is not masked: %x", i, wire[:2])
		}
		hl := 2
		if wire[1]&0x7f == 126 {
			hl = 4
		}
		var k [4]byte
		copy(k[:], wire[hl:hl+4])
		keys[k] = true
		if bytes.Contains(wire, []byte(text)) {
			t.Fatalf("frame %d carries its payload in the clear", i)
		}
		p.server.WriteInbound(wire)
	}
	if len(keys) < 48 { // 50 random 32-bit keys: a repeat is one chance in two million
		t.Fatalf("only %d different mask keys in 50 frames", len(keys))
	}
	if len(p.toServer.got) != 50 || p.toServer.got[49] != "1:message 49 "+strings.Repeat("x", 245) {
		t.Fatalf("the server got %d messages, last %q", len(p.toServer.got), p.toServer.got[len(p.toServer.got)-1])
	}
	// Server to client, text and binary, and a broadcast frame.
	p.server.WriteOutbound(wsframe.Text("from the server"), wsframe.AcquireMessage(ws.OpBinary, []byte{1, 2, 3}))
	p.client.WriteOutbound(wsframe.Prepare(ws.OpText, []byte("prepared, masked by the client")))
	p.flow()
	want := []string{"1:from the server", "2:\x01\x02\x03"}
	if fmt.Sprint(p.toClient.got) != fmt.Sprint(want) {
		t.Fatalf("the client got %q", p.toClient.got)
	}
	if last := p.toServer.got[len(p.toServer.got)-1]; last != "1:prepared, masked by the client" {
		t.Fatalf("the prepared frame arrived as %q", last)
	}
	// Pings from the server are answered with masked pongs.
	p.server.WriteOutbound(wsframe.Ping{Payload: []byte("hb")})
	p.flow()
	if p.clientWire[0] != 0x8A || p.clientWire[1] != 0x82 {
		t.Fatalf("the pong went out as %x", p.clientWire)
	}
}

// A masked frame from a server fails the connection with 1002.
func TestClientRefusesMaskedFrames(t *testing.T) {
	ch := pipelinetest.New(wsframe.New(wsframe.Config{Client: true}), &collectMsgs{})
	ch.WriteInbound(clientFrame(true, 0, ws.OpText, []byte("masked")))
	out := ch.ReadOutboundBytes()
	if len(out) < 8 || out[0] != 0x88 || out[1]&0x80 == 0 {
		t.Fatalf("want a masked close frame, got %x", out)
	}
	mask := [4]byte(out[2:6])
	body := append([]byte(nil), out[6:]...)
	ws.Cipher(body, mask, 0)
	if code := binary.BigEndian.Uint16(body); code != 1002 {
		t.Fatalf("close %d %q", code, body[2:])
	}
	if !ch.IsClosed() {
		t.Fatal("still open")
	}
	drainEvents(ch)
}

// A client's offer, the server's answer and the client's reading of it
// agree on both windows within the budget; messages round-trip
// compressed both ways with context takeover.
func TestClientDeflateAgreement(t *testing.T) {
	opts := wsframe.DeflateOptions{ContextTakeover: true, Memory: 8 << 10}
	offer := opts.Offer()
	sd, ok := opts.Accept([]byte(offer))
	if !ok {
		t.Fatalf("the server refused %q", offer)
	}
	cd, ok, err := opts.Agreed([]byte(sd.Response()))
	if err != nil || !ok {
		t.Fatalf("the client read %q: %v %v", sd.Response(), ok, err)
	}
	if cd.ServerWindow != sd.ServerWindow || cd.ClientWindow != sd.ClientWindow || cd.ServerWindow+cd.ClientWindow > 8<<10 || cd.ServerWindow == 0 || cd.ClientWindow == 0 {
		t.Fatalf("server %+v, client %+v", sd, cd)
	}
	sd.Threshold, cd.Threshold = 1, 1
	p := newPair(t, wsframe.Config{Deflate: &cd}, wsframe.Config{Deflate: &sd})
	var want []string
	for i := range 30 {
		m := fmt.Sprintf(`{"type":"user","room":"lobby","msg":"message number %d, much like the one before it, with a longer tail of text that repeats the same words and the same shape as the one before it"}`, i)
		p.client.WriteOutbound(wsframe.Text(m))
		p.server.WriteOutbound(wsframe.Text(m))
		want = append(want, "1:"+m)
		p.flow()
	}
	if fmt.Sprint(p.toServer.got) != fmt.Sprint(want) || fmt.Sprint(p.toClient.got) != fmt.Sprint(want) {
		t.Fatalf("server got %d, client got %d messages", len(p.toServer.got), len(p.toClient.got))
	}
	if len(p.clientWire) > 60 || p.clientWire[0]&0x40 == 0 {
		t.Fatalf("the client's last frame: %d bytes, rsv1 %v (takeover should shrink it)", len(p.clientWire), p.clientWire[0]&0x40 != 0)
	}
}

// Answers that do not fit the offer are refused.
func TestClientDeflateBadAnswers(t *testing.T) {
	takeover := wsframe.DeflateOptions{ContextTakeover: true, Memory: 8 << 10}
	plain := wsframe.DeflateOptions{}
	for _, tc := range []struct {
		opts   wsframe.DeflateOptions
		answer string
	}{
		{plain, "permessage-deflate; client_no_context_takeover"},                                // keeps server context the offer declined
		{plain, "permessage-deflate; server_no_context_takeover; server_max_window_bits=10"},     // a parameter not offered
		{takeover, "permessage-deflate; server_max_window_bits=15"},                              // a window over the offer
		{takeover, "permessage-deflate; client_max_window_bits"},                                 // no value
		{takeover, "permessage-deflate; server_no_context_takeover; server_no_context_takeover"}, // repeated
		{takeover, "permessage-deflate; server_no_context_takeover; mystery=1"},                  // unknown
		{takeover, "x-webkit-deflate-frame"},                                                     // another extension
		{takeover, "permessage-deflate; server_no_context_takeover, permessage-deflate"},         // two answers
	} {
		if _, _, err := tc.opts.Agreed([]byte(tc.answer)); err == nil {
			t.Errorf("%q accepted", tc.answer)
		}
	}
	if d, ok, err := takeover.Agreed([]byte("permessage-deflate; server_no_context_takeover; client_max_window_bits=8")); err != nil || !ok || d.ClientWindow != 256 || d.ServerWindow != 0 {
		t.Errorf("client_max_window_bits=8: %+v %v %v", d, ok, err)
	}
	if _, ok, err := takeover.Agreed(nil); ok || err != nil {
		t.Errorf("no answer: %v %v", ok, err)
	}
}

// A server that caps the client's window without context takeover
// (Autobahn 13.5 and 13.7: client_no_context_takeover with
// client_max_window_bits=9) is obeyed: every message the client sends
// uses a 512-byte window.
func TestClientHonoursAWindowCapWithoutTakeover(t *testing.T) {
	opts := wsframe.DeflateOptions{ContextTakeover: true}
	cd, ok, err := opts.Agreed([]byte("permessage-deflate; server_max_window_bits=12; client_no_context_takeover; client_max_window_bits=9"))
	if err != nil || !ok || cd.ClientMaxWindowBits != 9 || cd.ClientWindow != 0 {
		t.Fatalf("agreed %+v %v %v", cd, ok, err)
	}
	cd.Threshold = 1
	// The server's side: it reads the client's messages with a 9-bit
	// window and keeps none between them.
	sd := wsframe.Deflate{Threshold: 1, ServerWindow: cd.ServerWindow, ServerMaxWindowBits: cd.ServerMaxWindowBits, ClientMaxWindowBits: 9}
	p := newPair(t, wsframe.Config{Deflate: &cd, MaxMessageSize: 1 << 20}, wsframe.Config{Deflate: &sd, MaxMessageSize: 1 << 20})
	// Far repeats: a compressor with a 32 KiB window would refer back
	// 4,000 bytes; zlib with a 512-byte window cannot follow that.
	m := strings.Repeat(strings.Repeat("x", 3000)+"0123456789abcdef", 20)
	p.client.WriteOutbound(wsframe.Text(m))
	p.flow()
	if len(p.toServer.got) != 1 || p.toServer.got[0] != "1:"+m {
		t.Fatalf("server got %d messages", len(p.toServer.got))
	}
	if err := p.server.ReadError(); err != nil {
		t.Fatal(err)
	}
	// (That the compressor then refers no further back than 512 bytes is
	// what zlib-based peers check: the Autobahn suite's 13.5 and 13.7
	// cases, run by scripts/autobahn/client.sh.)
}
