package websocket_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gorilla "github.com/gorilla/websocket"

	"github.com/gnetty/gnetty/bootstrap"
	"github.com/gnetty/gnetty/codec/http1"
	"github.com/gnetty/gnetty/executor"
	"github.com/gnetty/gnetty/handler/ws/ack"
	"github.com/gnetty/gnetty/handler/ws/dispatch"
	"github.com/gnetty/gnetty/handler/ws/upgrade"
	"github.com/gnetty/gnetty/pipeline"
	gws "github.com/gnetty/gnetty/preset/websocket"
)

type chatIn struct {
	Type string `json:"type"`
	Msg  string `json:"msg"`
	ID   uint64 `json:"id"`
}

type chatOut struct {
	Type string `json:"type"`
	Msg  string `json:"msg,omitempty"`
	ID   uint64 `json:"id,omitempty"`
	Code string `json:"code,omitempty"`
}

// TestDispatchAndAcksOverWebSocket runs the dispatch and ack handlers in a
// real server with a real client: events routed by "type", a handler on an
// executor, error replies that keep the connection, and a message resent
// with the same ID until the client acks it.
func TestDispatchAndAcksOverWebSocket(t *testing.T) {
	exec := executor.New(executor.Config{Workers: 2})
	defer exec.Close()
	var seq atomic.Uint64 // the room's numbering (a chat keeps it in its store)
	d := dispatch.New(dispatch.Config{Key: "type", Logger: slog.New(slog.DiscardHandler)})
	dispatch.On(d, "user", func(c *dispatch.Ctx, m *chatIn) error {
		id := seq.Add(1)
		data, _ := json.Marshal(chatOut{Type: "user", Msg: m.Msg, ID: id})
		ack.FromChannel(c.Channel()).Send("lobby", id, data)
		return nil
	})
	dispatch.On(d, "ack", func(c *dispatch.Ctx, m *chatIn) error {
		ack.FromChannel(c.Channel()).AckUpTo("lobby", m.ID)
		return nil
	})
	release := make(chan struct{})
	var freed sync.Once
	free := func() { freed.Do(func() { close(release) }) }
	defer free() // before exec.Close, also when the test fails early
	dispatch.On(d, "slow", func(c *dispatch.Ctx, m *chatIn) error {
		<-release // blocking until the test says: never on the loop
		return c.Reply(chatOut{Type: "slow", Msg: m.Msg})
	}, dispatch.OnExecutor(exec))

	s, err := gws.New(gws.Config{
		Addrs:   []string{"127.0.0.1:0"},
		Routes:  map[string]gws.Handler{"/": gws.Funcs{}},
		Upgrade: upgrade.Config{CheckOrigin: func(string, *http1.Request) bool { return true }},
		Handlers: func(p *pipeline.Pipeline, hs *upgrade.Handshake) error {
			if err := p.AddLast(ack.Name, ack.New(ack.Config{Timeout: 100 * time.Millisecond, MaxRetries: 5})); err != nil {
				return err
			}
			return p.AddLast(dispatch.Name, d)
		},
		Server: bootstrap.Config{Workers: 2, Logger: slog.New(slog.DiscardHandler)},
	})
	run(t, s, err)
	c, _, err := gorilla.DefaultDialer.Dial("ws://"+s.Addrs()[0].String()+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	read := func() chatOut {
		t.Helper()
		var m chatOut
		if err := c.ReadJSON(&m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	send := func(v string) {
		t.Helper()
		if err := c.WriteMessage(gorilla.TextMessage, []byte(v)); err != nil {
			t.Fatal(err)
		}
	}

	send(`{"type":"slow","msg":"a"}`)
	send(`not json`)
	send(`{"type":"nope"}`)
	if m := read(); m.Type != "error" || m.Code != dispatch.CodeInvalidJSON {
		t.Fatalf("%+v", m)
	}
	if m := read(); m.Type != "error" || m.Code != dispatch.CodeUnknownEvent {
		t.Fatalf("%+v", m)
	}
	free() // the loop answered both while the slow handler blocked
	if m := read(); m.Type != "slow" || m.Msg != "a" {
		t.Fatalf("executor reply %+v", m)
	}

	send(`{"type":"user","msg":"hello"}`)
	first := read()
	if first.Type != "user" || first.ID != 1 {
		t.Fatalf("%+v", first)
	}
	again := read() // not acked: resent with the same id
	if again != first {
		t.Fatalf("resend %+v, want %+v", again, first)
	}
	send(fmt.Sprintf(`{"type":"ack","id":%d}`, first.ID))
	send(`{"type":"user","msg":"second"}`)
	for {
		m := read()
		if m.ID == first.ID {
			continue // a resend already in flight before the ack
		}
		if m.ID != 2 || m.Msg != "second" {
			t.Fatalf("%+v", m)
		}
		break
	}
}
