package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	cws "github.com/coder/websocket"
)

func TestCoderWebsocketClientEcho(t *testing.T) {
	_, addr := start(t)
	for _, mode := range []cws.CompressionMode{cws.CompressionDisabled, cws.CompressionContextTakeover, cws.CompressionNoContextTakeover} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c, _, err := cws.Dial(ctx, "ws://"+addr+"/", &cws.DialOptions{CompressionMode: mode})
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		c.SetReadLimit(1 << 20)
		for _, m := range []struct {
			typ  cws.MessageType
			data []byte
		}{
			{cws.MessageText, []byte("hi from coder")},
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
