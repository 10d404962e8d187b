package upgrade_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gnetty/gnetty/codec/http1"
	"github.com/gnetty/gnetty/codec/wsframe"
	"github.com/gnetty/gnetty/handler/http/router"
	"github.com/gnetty/gnetty/handler/ws/upgrade"
	"github.com/gnetty/gnetty/pipeline"
	"github.com/gnetty/gnetty/pipeline/pipelinetest"
)

const key = "dGhlIHNhbXBsZSBub25jZQ=="

func upgradeReq(path string, extra ...string) string {
	return "GET " + path + " HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + key + "\r\n" + strings.Join(extra, "") + "\r\n"
}

// chain builds http -> aggregator -> router(/ws/{room}) with the upgrade.
func chain(t testing.TB, cfg upgrade.Config) *pipelinetest.Channel {
	r := router.New()
	if err := r.Handle("GET", "/ws/{room}", upgrade.New(cfg)); err != nil {
		t.Fatal(err)
	}
	ch := pipelinetest.New()
	p := ch.Pipeline()
	_ = p.AddLast(http1.CodecName, http1.NewServerCodec(http1.Config{}))
	_ = p.AddLast(http1.TimeoutName, http1.NewRequestTimeout(10*time.Second))
	_ = p.AddLast(http1.AggregatorName, http1.NewAggregator(0))
	_ = p.AddLast(router.Name, r)
	return ch
}

func TestUpgradeRebuildsThePipeline(t *testing.T) {
	var hs *upgrade.Handshake
	cfg := upgrade.Config{
		Subprotocols: []string{"chat.v2", "chat.v1"},
		Compression:  true,
		KeepHeaders:  []string{"Origin", "sec-websocket-key"},
		Install: func(p *pipeline.Pipeline, h *upgrade.Handshake) error {
			return p.AddLast("app", pipeline.UserEventFunc(func(ctx *pipeline.Context, ev any) {
				if e, ok := ev.(*upgrade.Handshake); ok {
					hs = e
				}
			}))
		},
	}
	ch := chain(t, cfg)
	frame := []byte{0x81, 0x82, 0, 0, 0, 0, 'h', 'i'} // right behind the request
	ch.WriteInbound(append([]byte(upgradeReq("/ws/kitchen", "Origin: http://example.com\r\n",
		"Sec-WebSocket-Protocol: chat.v1, chat.v2\r\n", "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n")), frame...))
	out := string(ch.ReadOutboundBytes())
	for _, want := range []string{"HTTP/1.1 101 Switching Protocols\r\n", "Upgrade: websocket\r\n", "Connection: upgrade\r\n",
		"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n", "Sec-WebSocket-Protocol: chat.v2\r\n", "Sec-WebSocket-Extensions: " + wsframe.DeflateResponse} {
		if !strings.Contains(out, want) {
			t.Errorf("response lacks %q:\n%s", want, out)
		}
	}
	if names := strings.Join(ch.Pipeline().Names(), ","); names != "ws,app" {
		t.Fatalf("pipeline after upgrade: %s", names)
	}
	if hs == nil || hs.Path != "/ws/kitchen" || hs.Param("room") != "kitchen" || hs.Subprotocol != "chat.v2" || !hs.Compressed || hs.Header("origin") != "http://example.com" || hs.Headers().Get("Sec-WebSocket-Key") != key {
		t.Fatalf("handshake event %+v", hs)
	}
	// Only the headers asked for stay with the connection.
	if hs.Header("Sec-WebSocket-Protocol") != "" || len(hs.Headers()) != 2 {
		t.Fatalf("kept headers %v", hs.Headers())
	}
	m, ok := ch.ReadInbound().(*wsframe.Message)
	if !ok || string(m.Data) != "hi" {
		t.Fatalf("frame sent behind the request: %v", m)
	}
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
}

func TestUpgradeRefusals(t *testing.T) {
	auth := func(ctx *pipeline.Context, req *http1.Request) (int, string) {
		switch string(req.Header("Authorization")) {
		case "":
			return 401, "log in first"
		case "bad":
			return 403, "not yours"
		}
		return 0, ""
	}
	cases := []struct {
		name, req, want string
		closed          bool
	}{
		{"no auth", upgradeReq("/ws/a"), "HTTP/1.1 401 ", false},
		{"forbidden", upgradeReq("/ws/a", "Authorization: bad\r\n"), "HTTP/1.1 403 ", false},
		{"foreign origin", upgradeReq("/ws/a", "Authorization: ok\r\n", "Origin: http://evil.example\r\n"), "HTTP/1.1 403 ", false},
		{"version", strings.Replace(upgradeReq("/ws/a", "Authorization: ok\r\n"), "Version: 13", "Version: 8", 1), "Sec-WebSocket-Version: 13", false},
		{"short key", strings.Replace(upgradeReq("/ws/a", "Authorization: ok\r\n"), key, "c2hvcnQ=", 1), "HTTP/1.1 400 ", true},
		{"no upgrade token", strings.Replace(upgradeReq("/ws/a", "Authorization: ok\r\n"), "Upgrade: websocket\r\n", "", 1), "HTTP/1.1 400 ", true},
		{"no connection token", strings.Replace(upgradeReq("/ws/a", "Authorization: ok\r\n"), "keep-alive, Upgrade", "keep-alive", 1), "HTTP/1.1 400 ", true},
		{"http/1.0", "GET /ws/a HTTP/1.0\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + key + "\r\n\r\n", "HTTP/1.1 400 ", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ch := chain(t, upgrade.Config{Authorize: auth})
			ch.WriteInbound([]byte(tc.req))
			out := string(ch.ReadOutboundBytes())
			if !strings.Contains(out, tc.want) {
				t.Fatalf("answer %q", out)
			}
			if ch.IsClosed() != tc.closed {
				t.Fatalf("closed = %v", ch.IsClosed())
			}
			if _, ok := ch.ReadUserEvent().(upgrade.Refused); !ok {
				t.Fatal("no Refused event")
			}
			if names := ch.Pipeline().Names(); !ch.IsClosed() && names[0] != "http" {
				t.Fatalf("pipeline changed on refusal: %v", names)
			}
			if err := ch.Finish(); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestHandshakeTimeout(t *testing.T) {
	ch := chain(t, upgrade.Config{})
	ch.Advance(9 * time.Second)
	if ch.IsClosed() {
		t.Fatal("closed early")
	}
	ch.Advance(time.Second)
	if !ch.IsClosed() {
		t.Fatal("silent connection not closed")
	}
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}

	ok := chain(t, upgrade.Config{})
	ok.WriteInbound([]byte(upgradeReq("/ws/a")))
	ok.ReadOutboundBytes()
	for ok.ReadUserEvent() != nil {
	}
	ok.Advance(time.Minute)
	if ok.IsClosed() {
		t.Fatal("upgraded connection closed by the handshake timeout")
	}
	if err := ok.Finish(); err != nil {
		t.Error(err)
	}
}

func FuzzHandshake(f *testing.F) {
	f.Add(upgradeReq("/ws/a"))
	f.Add(upgradeReq("/ws/a", "Sec-WebSocket-Protocol: x, y\r\n", "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=10, permessage-deflate\r\n"))
	f.Add(strings.Replace(upgradeReq("/ws/a"), key, "!!!", 1))
	f.Fuzz(func(t *testing.T, in string) {
		run := func(chunks ...string) string {
			ch := chain(t, upgrade.Config{Compression: true, Subprotocols: []string{"x"}})
			for _, c := range chunks {
				if !ch.IsClosed() {
					ch.WriteInbound([]byte(c))
				}
			}
			out := string(ch.ReadOutboundBytes())
			if i := strings.Index(out, "Date: "); i >= 0 {
				out = out[:i] + out[i+len("Date: Mon, 02 Jan 2006 15:04:05 GMT"):]
			}
			names := strings.Join(ch.Pipeline().Names(), ",")
			for ch.ReadUserEvent() != nil {
			}
			for ch.ReadError() != nil {
			}
			for ch.ReadInbound() != nil {
			}
			if err := ch.Finish(); err != nil {
				t.Error(err)
			}
			return out + "|" + names
		}
		whole := run(in)
		for i := 0; i <= len(in); i += max(1, len(in)/16) {
			if got := run(in[:i], in[i:]); got != whole {
				t.Fatalf("split at %d of %q:\n%s\nwhole:\n%s", i, in, got, whole)
			}
		}
	})
}

// TestTimeoutIsAReadTimeoutNotALifetime: a keep-alive client making one
// request a second keeps its connection far past the timeout; a slow
// handler's response time does not count; a request trickled in slowly,
// and an idle connection, are closed once the timeout passes.
func TestTimeoutIsAReadTimeoutNotALifetime(t *testing.T) {
	ch := chain(t, upgrade.Config{})
	get := []byte("GET /page HTTP/1.1\r\nHost: x\r\n\r\n")
	for i := range 30 {
		ch.Advance(time.Second)
		if ch.IsClosed() {
			t.Fatalf("keep-alive connection cut after %d requests", i)
		}
		ch.WriteInbound(get)
		if out := string(ch.ReadOutboundBytes()); !strings.HasPrefix(out, "HTTP/1.1 ") {
			t.Fatalf("request %d answered %q", i, out)
		}
	}
	ch.Advance(9 * time.Second)
	if ch.IsClosed() {
		t.Fatal("closed before the idle time passed")
	}
	ch.Advance(time.Second)
	if !ch.IsClosed() {
		t.Fatal("idle keep-alive connection not closed after the timeout")
	}
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}

	// A request trickled in: the clock runs from the last response.
	slow := chain(t, upgrade.Config{})
	for _, b := range []byte("GET /page HTTP/1.1\r\nHost: x\r\nX-Pad: 0123456789abcdef\r\n") { // 15 s at one byte per 300 ms
		slow.WriteInbound([]byte{b})
		slow.Advance(300 * time.Millisecond)
		if slow.IsClosed() {
			break
		}
	}
	if !slow.IsClosed() {
		t.Fatal("a request trickled over more than the timeout was not cut")
	}
	if err := slow.Finish(); err != nil {
		t.Error(err)
	}

	// A body trickled in after a complete head counts as still reading.
	body := chain(t, upgrade.Config{})
	body.WriteInbound([]byte("POST /page HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nab"))
	body.Advance(11 * time.Second)
	if !body.IsClosed() {
		t.Fatal("a body that never finished was not cut")
	}
	_ = body.ReadOutboundBytes()
	if err := body.Finish(); err != nil {
		t.Error(err)
	}
}

func TestTimeoutDoesNotRunWhileAResponseIsProduced(t *testing.T) {
	r := router.New()
	var held []*http1.Request
	_ = r.Handle("GET", "/slow", func(ctx *pipeline.Context, req *http1.Request) { held = append(held, req) })
	ch := pipelinetest.New()
	p := ch.Pipeline()
	_ = p.AddLast(http1.CodecName, http1.NewServerCodec(http1.Config{}))
	_ = p.AddLast(http1.TimeoutName, http1.NewRequestTimeout(10*time.Second))
	_ = p.AddLast(router.Name, r)
	ch.WriteInbound([]byte("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"))
	ch.Advance(time.Minute)
	if ch.IsClosed() {
		t.Fatal("closed while the response was being produced")
	}
	// The answer comes from elsewhere (a worker), through the channel.
	ch.Channel.WriteAndFlush(http1.NewResponse(held[0]))
	held[0].Release()
	ch.RunPendingTasks()
	if out := string(ch.ReadOutboundBytes()); !strings.HasPrefix(out, "HTTP/1.1 200") {
		t.Fatalf("answer %q", out)
	}
	ch.Advance(9 * time.Second)
	if ch.IsClosed() {
		t.Fatal("closed before the idle time after the response passed")
	}
	ch.Advance(time.Second)
	if !ch.IsClosed() {
		t.Fatal("not closed once idle after the response")
	}
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
}

// By default a connection keeps none of its request's headers, and "*"
// keeps them all.
func TestHandshakeKeepsHeadersOnlyWhenAsked(t *testing.T) {
	for _, tc := range []struct {
		keep []string
		want int
	}{{nil, 0}, {[]string{"*"}, 6}} {
		var hs *upgrade.Handshake
		ch := chain(t, upgrade.Config{KeepHeaders: tc.keep, Install: func(p *pipeline.Pipeline, h *upgrade.Handshake) error {
			hs = h
			return nil
		}})
		ch.WriteInbound([]byte(upgradeReq("/ws/x", "Origin: http://example.com\r\n")))
		if hs == nil {
			t.Fatalf("keep %v: no upgrade: %s", tc.keep, ch.ReadOutboundBytes())
		}
		if got := len(hs.Headers()); got < tc.want || (tc.want == 0 && got != 0) {
			t.Fatalf("keep %v: %d headers kept: %v", tc.keep, got, hs.Headers())
		}
		ch.ReadOutboundBytes()
		_ = ch.Finish()
	}
}
