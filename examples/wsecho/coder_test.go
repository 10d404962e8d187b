package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	cws "github.com/coder/websocket"

	"github.com/gnetty/gnetty/codec/wsframe"
)

// coder/websocket's client in each compression mode, against the default
// policy and against a budget that holds its 32 KiB window (it offers no
// client_max_window_bits), so that both directions keep their context.
func TestCoderWebsocketClientEcho(t *testing.T) {
	_, small := start(t)
	_, big := startDeflate(t, nil, deflate{takeover: true, memory: 64 << 10})
	for _, c := range []struct {
		addr string
		mode cws.CompressionMode
		want string
	}{
		{small, cws.CompressionDisabled, ""},
		{small, cws.CompressionContextTakeover, "permessage-deflate; client_no_context_takeover"},
		{small, cws.CompressionNoContextTakeover, wsframe.DeflateResponse},
		{big, cws.CompressionContextTakeover, "permessage-deflate"},
	} {
		mode := c.mode
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c2, resp, err := cws.Dial(ctx, "ws://"+c.addr+"/", &cws.DialOptions{CompressionMode: mode})
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		if got := resp.Header.Get("Sec-WebSocket-Extensions"); got != c.want {
			t.Errorf("mode %v: answered %q, want %q", mode, got, c.want)
		}
		c := c2
		c.SetReadLimit(1 << 20)
		for _, m := range []struct {
			typ  cws.MessageType
			data []byte
		}{
			{cws.MessageText, []byte("hi from coder")},
			{cws.MessageText, []byte(strings.Repeat("a chat message of some length, sent again; ", 8))},
			{cws.MessageText, []byte(strings.Repeat("a chat message of some length, sent again; ", 8))},
			{cws.MessageText, []byte(strings.Repeat("repeat repeat ", 5000))},
			{cws.MessageBinary, bytes.Repeat([]byte{1, 2, 3}, 50_000)},
		} {
			if err := c.Write(ctx, m.typ, m.data); err != nil {
				t.Fatal(err)
			}
			typ, got, err := c.Read(ctx)
			if err != nil {
				t.Fatalf("mode %v: %v", mode, err)
			}
			if typ != m.typ || !bytes.Equal(got, m.data) {
				t.Fatalf("mode %v: echo differs (%d vs %d bytes)", mode, len(got), len(m.data))
			}
		}
		if err := c.Close(cws.StatusNormalClosure, "bye"); err != nil {
			t.Fatalf("mode %v: close handshake: %v", mode, err)
		}
		cancel()
	}
}
