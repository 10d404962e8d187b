package upgrade_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gnetty/gnetty/codec/http1"
	"github.com/gnetty/gnetty/codec/wsframe"
	"github.com/gnetty/gnetty/handler/ws/upgrade"
	"github.com/gnetty/gnetty/pipeline"
	"github.com/gnetty/gnetty/pipeline/pipelinetest"
)

// clientChain builds http1 client codec -> client handshaker and returns
// the channel with the key of the request it sent.
func clientChain(t *testing.T, cfg upgrade.ClientConfig) (*pipelinetest.Channel, string, string) {
	t.Helper()
	ch := pipelinetest.New()
	p := ch.Pipeline()
	_ = p.AddLast(http1.CodecName, http1.NewClientCodec(http1.ClientConfig{}))
	_ = p.AddLast(upgrade.ClientName, upgrade.NewClient(cfg))
	ch.RunPendingTasks()
	req := string(ch.ReadOutboundBytes())
	key := ""
	for _, line := range strings.Split(req, "\r\n") {
		if v, ok := strings.CutPrefix(line, "Sec-WebSocket-Key: "); ok {
			key = v
		}
	}
	if key == "" {
		t.Fatalf("no key in %q", req)
	}
	return ch, req, key
}

func answer(key string, extra ...string) []byte {
	return []byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
		upgrade.AcceptKey([]byte(key)) + "\r\n" + strings.Join(extra, "") + "\r\n")
}

func TestClientHandshakeAccepted(t *testing.T) {
	var installed *upgrade.ClientHandshake
	ch, req, key := clientChain(t, upgrade.ClientConfig{
		Host: "example.com:8080", Target: "/chat?room=a", Origin: "https://example.com",
		Subprotocols: []string{"chat.v2", "chat.v1"}, Header: http1.Header{{Name: "Cookie", Value: "a=b"}},
		Compression: true, Deflate: wsframe.DeflateOptions{ContextTakeover: true},
		Install: func(_ *pipeline.Pipeline, hs *upgrade.ClientHandshake) error { installed = hs; return nil },
	})
	for _, want := range []string{"GET /chat?room=a HTTP/1.1\r\n", "Host: example.com:8080\r\n", "Upgrade: websocket\r\n", "Connection: Upgrade\r\n",
		"Sec-WebSocket-Version: 13\r\n", "Origin: https://example.com\r\n", "Sec-WebSocket-Protocol: chat.v2, chat.v1\r\n",
		"Cookie: a=b\r\n", "Sec-WebSocket-Extensions: permessage-deflate"} {
		if !strings.Contains(req, want) {
			t.Fatalf("request %q lacks %q", req, want)
		}
	}
	// The 101 and the server's first frame in one read: the frame reaches
	// the frame codec installed in the middle of that read.
	frame := []byte{0x81, 0x02, 'h', 'i'}
	ch.WriteInbound(append(answer(key, "Sec-WebSocket-Protocol: chat.v1\r\n", "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n"), frame...))
	if installed == nil || installed.Subprotocol != "chat.v1" || !installed.Compressed || installed.Response.Status != 101 {
		t.Fatalf("installed %+v", installed)
	}
	if ev, ok := ch.ReadUserEvent().(*upgrade.ClientHandshake); !ok || ev != installed {
		t.Fatalf("event %v", ev)
	}
	m, ok := ch.ReadInbound().(*wsframe.Message)
	if !ok || string(m.Data) != "hi" {
		t.Fatalf("first message %v", m)
	}
	if names := ch.Pipeline().Names(); strings.Join(names, ",") != wsframe.Name {
		t.Fatalf("pipeline %v", names)
	}
	// What the client sends is masked.
	ch.WriteOutbound(wsframe.Text("yo"))
	out := ch.ReadOutboundBytes()
	if len(out) != 2+4+2 || out[1]&0x80 == 0 {
		t.Fatalf("client frame % x", out)
	}
}

func TestClientHandshakeRefusals(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cfg    upgrade.ClientConfig
		answer func(key string) string
		status int
		reason string
	}{
		{name: "a page", answer: func(string) string { return "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\npage" }, status: 200, reason: "OK"},
		{name: "a redirect", answer: func(string) string {
			return "HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n"
		}, status: 302, reason: "Found to /elsewhere"},
		{name: "unauthorized", answer: func(string) string {
			return "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer\r\nContent-Length: 9\r\n\r\nwho are u"
		}, status: 401, reason: "Unauthorized"},
		{name: "a wrong accept", answer: func(string) string { return string(answer("another key")) }, status: 101, reason: "wrong Sec-WebSocket-Accept"},
		{name: "no upgrade", answer: func(key string) string {
			return strings.Replace(string(answer(key)), "Upgrade: websocket\r\n", "", 1)
		}, status: 101, reason: "no Upgrade: websocket"},
		{name: "a subprotocol not offered", cfg: upgrade.ClientConfig{Subprotocols: []string{"a"}}, answer: func(key string) string {
			return string(answer(key, "Sec-WebSocket-Protocol: b\r\n"))
		}, status: 101, reason: "a subprotocol not offered: b"},
		{name: "an extension not offered", answer: func(key string) string {
			return string(answer(key, "Sec-WebSocket-Extensions: permessage-deflate\r\n"))
		}, status: 101, reason: "an extension not offered"},
		{name: "an extension answer not agreed", cfg: upgrade.ClientConfig{Compression: true}, answer: func(key string) string {
			return string(answer(key, "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=99\r\n"))
		}, status: 101, reason: "does not fit the offer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ch, _, key := clientChain(t, tc.cfg)
			ch.WriteInbound([]byte(tc.answer(key)))
			err := ch.ReadError()
			var he *upgrade.HandshakeError
			if !errors.As(err, &he) || he.Status != tc.status || !strings.Contains(he.Reason, tc.reason) {
				t.Fatalf("error %v", err)
			}
			if tc.status == 200 && string(he.Body) != "page" || tc.status == 401 && (string(he.Body) != "who are u" || he.Header.Get("WWW-Authenticate") != "Bearer") {
				t.Fatalf("refusal %+v", he)
			}
			if !ch.IsClosed() {
				t.Fatal("the channel stays open after a refusal")
			}
		})
	}
}

func TestClientHandshakeTimeoutAndEarlyClose(t *testing.T) {
	ch, _, _ := clientChain(t, upgrade.ClientConfig{Timeout: time.Second})
	ch.Advance(time.Second)
	var he *upgrade.HandshakeError
	if err := ch.ReadError(); !errors.As(err, &he) || he.Status != 0 || !strings.Contains(he.Reason, "no answer within 1s") || !ch.IsClosed() {
		t.Fatalf("timeout: %v", err)
	}
	ch, _, _ = clientChain(t, upgrade.ClientConfig{})
	ch.WriteInbound([]byte("HTTP/1.1 101 Switch"))
	ch.Close()
	var errs []error
	for err := ch.ReadError(); err != nil; err = ch.ReadError() {
		errs = append(errs, err)
	}
	if len(errs) == 0 || !errors.As(errs[len(errs)-1], &he) || !strings.Contains(he.Reason, "closed before the server answered") {
		t.Fatalf("early close: %v", errs)
	}
}
