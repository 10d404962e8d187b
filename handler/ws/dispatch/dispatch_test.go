package dispatch_test

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gobwas/ws"

	"github.com/gnetty/gnetty/codec/jsonmsg"
	"github.com/gnetty/gnetty/codec/wsframe"
	"github.com/gnetty/gnetty/executor"
	"github.com/gnetty/gnetty/handler/ws/dispatch"
	"github.com/gnetty/gnetty/pipeline/pipelinetest"
)

type userMsg struct {
	Type string `json:"type"`
	Msg  string `json:"msg"`
}

type reply struct {
	Type string `json:"type"`
	Code string `json:"code"`
	Msg  string `json:"msg"`
}

func text(s string) *wsframe.Message { return &wsframe.Message{Op: ws.OpText, Data: []byte(s)} }

func replies(t *testing.T, ch *pipelinetest.Channel) []reply {
	t.Helper()
	var out []reply
	for m := ch.ReadOutbound(); m != nil; m = ch.ReadOutbound() {
		var r reply
		if err := jsonmsg.Decode(m.(*wsframe.Message).Data, &r); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

func TestTypedDispatchOrderAndStop(t *testing.T) {
	d := dispatch.New(dispatch.Config{Key: "type"})
	var calls []string
	dispatch.On(d, "user", func(c *dispatch.Ctx, m *userMsg) error {
		calls = append(calls, "second:"+m.Msg)
		return c.Reply(reply{Type: "user", Msg: strings.ToUpper(m.Msg)})
	}, dispatch.Order(2))
	dispatch.On(d, "user", func(c *dispatch.Ctx, m *userMsg) error {
		calls = append(calls, "first:"+m.Msg)
		if m.Msg == "stop" {
			return dispatch.ErrStop
		}
		return nil
	}, dispatch.Order(1))
	ch := pipelinetest.New(d)
	ch.WriteInbound(text(`{"type":"user","msg":"hi"}`), text(`{"msg":"stop","type":"user"}`))
	if got := strings.Join(calls, ","); got != "first:hi,second:hi,first:stop" {
		t.Fatalf("calls %s", got)
	}
	if r := replies(t, ch); len(r) != 1 || r[0].Msg != "HI" {
		t.Fatalf("replies %+v", r)
	}
	ch.WriteInbound(&wsframe.Message{Op: ws.OpBinary, Data: []byte{1}})
	if _, ok := ch.ReadInbound().(*wsframe.Message); !ok {
		t.Fatal("binary message not passed on")
	}
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
}

func TestErrorsAreAnsweredAndTheConnectionStays(t *testing.T) {
	d := dispatch.New(dispatch.Config{Key: "type", MaxMessageSize: 100, Logger: slog.New(slog.DiscardHandler)})
	dispatch.On(d, "user", func(c *dispatch.Ctx, m *userMsg) error {
		switch m.Msg {
		case "fail":
			return errors.New("not allowed")
		case "panic":
			panic("boom")
		}
		return nil
	})
	cases := []struct{ in, code string }{
		{`{"type":"user","msg":`, dispatch.CodeInvalidJSON},
		{`not json`, dispatch.CodeInvalidJSON},
		{`{"msg":"no type"}`, dispatch.CodeBadRequest},
		{`{"type":7}`, dispatch.CodeBadRequest},
		{`{"type":"nope"}`, dispatch.CodeUnknownEvent},
		{`{"type":"user","msg":42}`, dispatch.CodeInvalidPayload},
		{`{"type":"user","msg":"x"} trailing`, dispatch.CodeInvalidJSON},
		{`{"type":"user","msg":"fail"}`, dispatch.CodeHandlerError},
		{`{"type":"user","msg":"panic"}`, dispatch.CodeInternal},
		{`{"type":"user","msg":"` + strings.Repeat("x", 200) + `"}`, dispatch.CodeTooLong},
	}
	ch := pipelinetest.New(d)
	for _, tc := range cases {
		ch.WriteInbound(text(tc.in))
		r := replies(t, ch)
		if len(r) != 1 || r[0].Type != "error" || r[0].Code != tc.code || r[0].Msg == "" {
			t.Errorf("%.40s: replies %+v, want code %s", tc.in, r, tc.code)
		}
	}
	if !ch.IsActive() {
		t.Fatal("connection closed by bad input")
	}
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
}

func TestExecutorKeepsOrderAndRepliesFromWorkers(t *testing.T) {
	e := executor.New(executor.Config{Workers: 4})
	defer e.Close()
	d := dispatch.New(dispatch.Config{Key: "type"})
	var mu sync.Mutex
	var order []string
	dispatch.On(d, "slow", func(c *dispatch.Ctx, m *userMsg) error {
		if c.Pipeline != nil {
			t.Error("executor handler got a pipeline context")
		}
		time.Sleep(time.Millisecond) // blocking work, off the loop
		mu.Lock()
		order = append(order, m.Msg)
		mu.Unlock()
		return c.Reply(reply{Type: "done", Msg: m.Msg})
	}, dispatch.OnExecutor(e))
	ch := pipelinetest.New(d)
	for i := range 20 {
		ch.WriteInbound(text(fmt.Sprintf(`{"type":"slow","msg":"%d"}`, i)))
	}
	var got []reply
	for deadline := time.Now().Add(10 * time.Second); len(got) < 20 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
		ch.RunPendingTasks()
		got = append(got, replies(t, ch)...)
	}
	for i, r := range got {
		if r.Msg != fmt.Sprint(i) {
			t.Fatalf("reply %d is %q", i, r.Msg)
		}
	}
	if len(got) != 20 || len(order) != 20 {
		t.Fatalf("%d replies, %d calls", len(got), len(order))
	}
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
}

func TestBusyExecutorIsAnswered(t *testing.T) {
	block := make(chan struct{})
	e := executor.New(executor.Config{Workers: 1, QueueSize: 1})
	defer e.Close()
	defer close(block)
	d := dispatch.New(dispatch.Config{Key: "type"})
	dispatch.On(d, "slow", func(c *dispatch.Ctx, m *userMsg) error { <-block; return nil }, dispatch.OnExecutor(e))
	ch := pipelinetest.New(d)
	ch.WriteInbound(text(`{"type":"slow"}`), text(`{"type":"slow"}`))
	if r := replies(t, ch); len(r) != 1 || r[0].Code != dispatch.CodeBusy {
		t.Fatalf("replies %+v", r)
	}
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
}

func FuzzDispatch(f *testing.F) {
	f.Add([]byte(`{"type":"user","msg":"hi"}`))
	f.Add([]byte(`{"type":"user","msg":{"a":[1]}}`))
	f.Add([]byte(`{"type":"nope"}`))
	f.Add([]byte(`[{"type":"user"}]`))
	f.Fuzz(func(t *testing.T, in []byte) {
		d := dispatch.New(dispatch.Config{Key: "type"})
		calls := 0
		dispatch.On(d, "user", func(c *dispatch.Ctx, m *userMsg) error { calls++; return nil })
		ch := pipelinetest.New(d)
		ch.WriteInbound(&wsframe.Message{Op: ws.OpText, Data: in})
		r := replies(t, ch)
		if calls+len(r) != 1 {
			t.Fatalf("%q: %d calls and %d replies; want exactly one outcome", in, calls, len(r))
		}
		if err := ch.Finish(); err != nil {
			t.Error(err)
		}
	})
}

func BenchmarkDispatch(b *testing.B) {
	d := dispatch.New(dispatch.Config{Key: "type"})
	n := 0
	dispatch.On(d, "user", func(c *dispatch.Ctx, m *userMsg) error { n += len(m.Msg); return nil })
	ch := pipelinetest.New(d)
	msg := text(`{"type":"user","msg":"hi"}`)
	p := ch.Pipeline()
	b.ReportAllocs()
	for b.Loop() {
		p.FireRead(msg)
	}
}

func TestLinesDispatchesStringsAndPassesTheRestOn(t *testing.T) {
	d := dispatch.New(dispatch.Config{Key: "type"})
	var got []string
	dispatch.On(d, "user", func(c *dispatch.Ctx, m *userMsg) error {
		got = append(got, m.Msg)
		return nil
	})
	ch := pipelinetest.New(d.Lines())
	ch.WriteInbound(`{"type":"user","msg":"line one"}`)
	msg := text(`{"type":"user","msg":"a frame"}`)
	ch.WriteInbound(msg)
	if len(got) != 1 || got[0] != "line one" {
		t.Fatalf("dispatched %v, want only the line", got)
	}
	if m := ch.ReadInbound(); m != msg {
		t.Fatalf("a non-string message was not passed on: %v", m)
	}
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
}

// TestErrorRepliesKeepTheirFieldOrder: the default error reply is always
// {"<key>":"error","code":...,"msg":...}, byte for byte, with the text
// escaped as JSON.
func TestErrorRepliesKeepTheirFieldOrder(t *testing.T) {
	d := dispatch.New(dispatch.Config{Key: "event", Logger: slog.New(slog.DiscardHandler)})
	ch := pipelinetest.New(d)
	for range 50 {
		ch.WriteInbound(text(`{"event":"nope"}`))
		got := string(ch.ReadOutbound().(*wsframe.Message).Data)
		want := `{"event":"error","code":"unknown_event","msg":"unknown event \"nope\""}`
		if got != want {
			t.Fatalf("error reply\n got %s\nwant %s", got, want)
		}
	}
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
}

type historyReq struct {
	Type  string `json:"type"`
	Room  string `json:"room"`
	Since uint64 `json:"since"`
}

// TestErrorRepliesAreTheApplicationsTextAndValidUTF8: a payload of the
// wrong shape gets invalid_payload without the decoder's internals (Go
// type names, raw input bytes), and every error reply is valid UTF-8,
// even one that quotes invalid bytes the peer sent.
func TestErrorRepliesAreTheApplicationsTextAndValidUTF8(t *testing.T) {
	d := dispatch.New(dispatch.Config{Key: "type", Logger: slog.New(slog.DiscardHandler)})
	dispatch.On(d, "history", func(c *dispatch.Ctx, m *historyReq) error { return nil })
	dispatch.On(d, "say", func(c *dispatch.Ctx, m *userMsg) error { return errors.New("bad \xff input") })
	ch := pipelinetest.New(d)
	for _, in := range []string{
		`{"type":"history","room":"lobby","since":-1}`,
		`{"type":"history","room":"lobby","since":"\xff\xfe"}`,
		`{"type":"say","msg":"x"}`,
	} {
		ch.WriteInbound(text(in))
		out := ch.ReadOutbound().(*wsframe.Message).Data
		if !utf8.Valid(out) {
			t.Fatalf("reply to %q is not UTF-8: %q", in, out)
		}
		for _, leak := range []string{"uint64", "readUint64", "historyReq", "dispatch_test", "\xff"} {
			if strings.Contains(string(out), leak) {
				t.Fatalf("reply to %q leaks %q: %s", in, leak, out)
			}
		}
	}
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
}
