package pipeline_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/gnetty/gnetty/pipeline"
	"github.com/gnetty/gnetty/pipeline/pipelinetest"
)

// recorder logs every event it sees into a shared journal and passes it on.
type recorder struct {
	name string
	log  *[]string
}

func (r *recorder) HandleRead(ctx *pipeline.Context, msg any) {
	*r.log = append(*r.log, r.name+":read")
	ctx.FireRead(msg)
}

func (r *recorder) HandleWrite(ctx *pipeline.Context, msg any) {
	*r.log = append(*r.log, r.name+":write")
	ctx.Write(msg)
}

type readOnly struct {
	name string
	log  *[]string
}

func (r *readOnly) HandleRead(ctx *pipeline.Context, msg any) {
	*r.log = append(*r.log, r.name+":read")
	ctx.FireRead(msg)
}

type writeOnly struct {
	name string
	log  *[]string
}

func (w *writeOnly) HandleWrite(ctx *pipeline.Context, msg any) {
	*w.log = append(*w.log, w.name+":write")
	ctx.Write(msg)
}

func TestInboundAndOutboundOrderAndSkipping(t *testing.T) {
	var log []string
	ch := pipelinetest.New(&readOnly{"a", &log},
		&writeOnly{"b", &log},
		&recorder{"c", &log},
		&writeOnly{"d", &log},
	)
	ch.WriteInbound("m")
	if got := ch.ReadInbound(); got != "m" {
		t.Fatalf("tail got %v", got)
	}
	ch.WriteOutbound("o")
	if got := ch.ReadOutbound(); got != "o" {
		t.Fatalf("head got %v", got)
	}
	want := []string{"a:read", "c:read", "d:write", "c:write", "b:write"}
	if !slices.Equal(log, want) {
		t.Fatalf("events %v, want %v", log, want)
	}
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
}

func TestContextWriteStartsBeforeCurrentChannelWriteAtTail(t *testing.T) {
	var log []string
	replier := pipeline.ReadFunc(func(ctx *pipeline.Context, msg any) {
		if msg == "ctx" {
			ctx.WriteAndFlush("via-ctx")
		} else {
			ctx.Channel().WriteAndFlush("via-channel")
		}
	})
	ch := pipelinetest.New(&writeOnly{"before", &log})
	if err := ch.Pipeline().AddLast("replier", replier); err != nil {
		t.Fatal(err)
	}
	if err := ch.Pipeline().AddLast("after", &writeOnly{"after", &log}); err != nil {
		t.Fatal(err)
	}
	ch.WriteInbound("ctx")
	if !slices.Equal(log, []string{"before:write"}) {
		t.Fatalf("ctx.Write passed %v, want only the handler before", log)
	}
	log = nil
	ch.WriteInbound("channel")
	if !slices.Equal(log, []string{"after:write", "before:write"}) {
		t.Fatalf("Channel.Write passed %v, want tail to head", log)
	}
	if a, b := ch.ReadOutbound(), ch.ReadOutbound(); a != "via-ctx" || b != "via-channel" {
		t.Fatalf("outbound %v %v", a, b)
	}
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
}

type hooks struct {
	name string
	log  *[]string
}

func (h *hooks) HandleRead(ctx *pipeline.Context, msg any) {
	*h.log = append(*h.log, h.name+":read:"+msg.(string))
	ctx.FireRead(msg)
}
func (h *hooks) HandlerAdded(*pipeline.Context)   { *h.log = append(*h.log, h.name+":added") }
func (h *hooks) HandlerRemoved(*pipeline.Context) { *h.log = append(*h.log, h.name+":removed") }

func TestRuntimeChangesDuringPropagation(t *testing.T) {
	cases := []struct {
		name   string
		change func(ctx *pipeline.Context, log *[]string) error
		want   []string
	}{
		{
			name: "add after self reaches the new handler",
			change: func(ctx *pipeline.Context, log *[]string) error {
				return ctx.Pipeline().AddAfter(ctx.Name(), "x", &hooks{"x", log})
			},
			want: []string{"x:added", "x:read:m", "b:read:m"},
		},
		{
			name: "remove next skips it",
			change: func(ctx *pipeline.Context, _ *[]string) error {
				_, err := ctx.Pipeline().Remove("b")
				return err
			},
			want: []string{"b:removed"},
		},
		{
			name: "remove self still forwards once",
			change: func(ctx *pipeline.Context, _ *[]string) error {
				_, err := ctx.Pipeline().Remove(ctx.Name())
				return err
			},
			want: []string{"b:read:m"},
		},
		{
			name: "replace next delivers to replacement",
			change: func(ctx *pipeline.Context, log *[]string) error {
				_, err := ctx.Pipeline().Replace("b", "y", &hooks{"y", log})
				return err
			},
			want: []string{"y:added", "b:removed", "y:read:m"},
		},
		{
			name: "add first does not redeliver",
			change: func(ctx *pipeline.Context, log *[]string) error {
				return ctx.Pipeline().AddFirst("z", &hooks{"z", log})
			},
			want: []string{"z:added", "b:read:m"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var log []string
			changer := pipeline.ReadFunc(func(ctx *pipeline.Context, msg any) {
				if err := tc.change(ctx, &log); err != nil {
					t.Fatal(err)
				}
				ctx.FireRead(msg)
			})
			ch := pipelinetest.New()
			p := ch.Pipeline()
			if err := p.AddLast("changer", changer); err != nil {
				t.Fatal(err)
			}
			if err := p.AddLast("b", &hooks{"b", &log}); err != nil {
				t.Fatal(err)
			}
			log = nil
			ch.WriteInbound("m")
			if got := ch.ReadInbound(); got != "m" {
				t.Fatalf("tail got %v, want the message exactly once", got)
			}
			if extra := ch.ReadInbound(); extra != nil {
				t.Fatalf("message delivered twice: %v", extra)
			}
			if !slices.Equal(log, tc.want) {
				t.Fatalf("events %v, want %v", log, tc.want)
			}
			if err := ch.Finish(); err != nil {
				t.Error(err)
			}
		})
	}
}

// splitter is a toy decoder that consumes one line, then replaces itself
// with next and hands its leftover bytes on, as the WebSocket handshake
// swaps the HTTP codec for the frame codec.
type splitter struct{ next any }

func (s *splitter) HandleRead(ctx *pipeline.Context, msg any) {
	b := msg.(*pipeline.Bytes)
	i := strings.IndexByte(string(b.Bytes()), '\n')
	if i < 0 {
		return // wait for more: nothing consumed
	}
	line := string(b.Bytes()[:i])
	b.Skip(i + 1)
	ctx.FireRead("line:" + line)
	if _, err := ctx.Pipeline().Replace(ctx.Name(), "upper", s.next); err != nil {
		panic(err)
	}
	if b.Len() > 0 {
		ctx.FireRead(b) // goes to the replacement
	}
}

func TestReplaceHandsLeftoverBytesToReplacement(t *testing.T) {
	upper := pipeline.ReadFunc(func(ctx *pipeline.Context, msg any) {
		switch m := msg.(type) {
		case *pipeline.Bytes:
			ctx.FireRead("upper:" + strings.ToUpper(m.String()))
			m.Skip(m.Len())
		default:
			ctx.FireRead(msg)
		}
	})
	ch := pipelinetest.New(&splitter{next: upper})
	ch.WriteInbound([]byte("hel"))
	if ch.ReadInbound() != nil || string(ch.Unconsumed()) != "hel" {
		t.Fatalf("partial line should wait; unconsumed %q", ch.Unconsumed())
	}
	ch.WriteInbound([]byte("lo\nrest of it"))
	for _, want := range []string{"line:hello", "upper:REST OF IT"} {
		if got := ch.ReadInbound(); got != want {
			t.Fatalf("got %v, want %q", got, want)
		}
	}
	ch.WriteInbound([]byte("more"))
	if got := ch.ReadInbound(); got != "upper:MORE" {
		t.Fatalf("after replace got %v", got)
	}
	if names := ch.Pipeline().Names(); !slices.Equal(names, []string{"upper"}) {
		t.Fatalf("names %v", names)
	}
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
}

func TestUnconsumedBytesAreDeliveredAgainAndWake(t *testing.T) {
	var seen []string
	take := 2
	h := pipeline.ReadFunc(func(ctx *pipeline.Context, msg any) {
		b := msg.(*pipeline.Bytes)
		seen = append(seen, b.String())
		b.Skip(take)
	})
	ch := pipelinetest.New(h)
	ch.WriteInbound([]byte("abcd"))
	ch.WriteInbound([]byte("ef"))
	ch.Wake()
	ch.RunPendingTasks()
	want := []string{"abcd", "cdef", "ef"}
	if !slices.Equal(seen, want) {
		t.Fatalf("reads %q, want %q", seen, want)
	}
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
}

func TestErrorsPropagateFromPositionAndTailKeepsChannelOpen(t *testing.T) {
	boom := errors.New("boom")
	var before, after []error
	raise := pipeline.ReadFunc(func(ctx *pipeline.Context, msg any) { ctx.FireError(boom) })
	ch := pipelinetest.New(pipeline.ErrorFunc(func(ctx *pipeline.Context, err error) { before = append(before, err); ctx.FireError(err) }),
		raise,
		pipeline.ErrorFunc(func(ctx *pipeline.Context, err error) { after = append(after, err); ctx.FireError(err) }),
	)
	ch.WriteInbound("x")
	if len(before) != 0 || len(after) != 1 || after[0] != boom {
		t.Fatalf("before %v after %v", before, after)
	}
	if err := ch.ReadError(); err != boom {
		t.Fatalf("tail error %v", err)
	}
	if !ch.IsActive() {
		t.Fatal("an error at the tail must not close the channel")
	}
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
}

func TestPanicIsRecoveredReportedAndClosesOnlyThatChannel(t *testing.T) {
	var caught error
	inactive := false
	other := pipelinetest.New()
	ch := pipelinetest.New(pipeline.ErrorFunc(func(ctx *pipeline.Context, err error) { caught = err }),
		pipeline.InactiveFunc(func(ctx *pipeline.Context) { inactive = true }),
		pipeline.ReadFunc(func(ctx *pipeline.Context, msg any) { panic("kaboom") }),
	)
	ch.WriteInbound([]byte("x"))
	var pe *pipeline.PanicError
	if !errors.As(caught, &pe) || pe.Value != "kaboom" || len(pe.Stack) == 0 {
		t.Fatalf("caught %v", caught)
	}
	if !ch.IsClosed() || ch.IsActive() || !inactive {
		t.Fatal("the panicking channel should be closed")
	}
	if !other.IsActive() {
		t.Fatal("another channel was affected")
	}
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
	if err := other.Finish(); err != nil {
		t.Error(err)
	}
}

func TestUserEvents(t *testing.T) {
	type hello struct{ n int }
	var got []any
	ch := pipelinetest.New(pipeline.UserEventFunc(func(ctx *pipeline.Context, ev any) {
		got = append(got, ev)
		ctx.FireUserEvent(ev)
	}))
	ch.FireUserEvent(hello{1})
	ch.FireUserEvent(pipeline.ShutdownEvent{})
	if len(got) != 2 || got[0] != (hello{1}) {
		t.Fatalf("handler saw %v", got)
	}
	if ev := ch.ReadUserEvent(); ev != (hello{1}) {
		t.Fatalf("tail saw %v", ev)
	}
	if ev := ch.ReadUserEvent(); ev != (pipeline.ShutdownEvent{}) {
		t.Fatalf("tail saw %v", ev)
	}
	if !ch.IsClosed() {
		t.Fatal("a ShutdownEvent nobody took should close the channel")
	}
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
}

func TestNamesAndErrors(t *testing.T) {
	ch := pipelinetest.New()
	p := ch.Pipeline()
	h := pipeline.ReadFunc(func(ctx *pipeline.Context, msg any) { ctx.FireRead(msg) })
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(p.AddLast("b", h))
	must(p.AddFirst("a", h))
	must(p.AddAfter("b", "d", h))
	must(p.AddBefore("d", "c", h))
	must(p.AddLast("", h))
	names := p.Names()
	if !slices.Equal(names[:4], []string{"a", "b", "c", "d"}) || !strings.HasPrefix(names[4], "pipeline.ReadFunc#") {
		t.Fatalf("names %v", names)
	}
	if err := p.AddLast("a", h); !errors.Is(err, pipeline.ErrDuplicateName) {
		t.Fatalf("duplicate: %v", err)
	}
	if err := p.AddAfter("nope", "x", h); !errors.Is(err, pipeline.ErrNoSuchHandler) {
		t.Fatalf("missing base: %v", err)
	}
	if err := p.AddLast("x", 42); !errors.Is(err, pipeline.ErrNotHandler) {
		t.Fatalf("not a handler: %v", err)
	}
	if _, err := p.Remove("nope"); !errors.Is(err, pipeline.ErrNoSuchHandler) {
		t.Fatalf("remove missing: %v", err)
	}
	if _, err := p.Replace("a", "b", h); !errors.Is(err, pipeline.ErrDuplicateName) {
		t.Fatalf("replace onto taken name: %v", err)
	}
	if p.Get("c") == nil || p.Context("c").Name() != "c" || p.Get("zz") != nil {
		t.Fatal("Get/Context")
	}
	done := make(chan error)
	go func() { done <- p.AddLast("g", h) }()
	if err := <-done; !errors.Is(err, pipeline.ErrNotInLoop) {
		t.Fatalf("off-loop add: %v", err)
	}
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
}

func TestCloseRemovesHandlersAndFiresInactive(t *testing.T) {
	var log []string
	ch := pipelinetest.New(&hooks{"a", &log}, pipeline.InactiveFunc(func(ctx *pipeline.Context) {
		log = append(log, "inactive")
		ctx.FireInactive()
	}))
	log = nil
	ch.Close()
	if !slices.Equal(log, []string{"inactive", "a:removed"}) {
		t.Fatalf("events %v", log)
	}
	select {
	case <-ch.Done():
	default:
		t.Fatal("Done not closed")
	}
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
}

func TestAttributes(t *testing.T) {
	user := pipeline.NewAttrKey[string]("user")
	count := pipeline.NewAttrKey[int]("count")
	ch := pipelinetest.New()
	if _, ok := user.Get(ch.Channel); ok {
		t.Fatal("unset attribute reported set")
	}
	user.Set(ch.Channel, "ann")
	count.Set(ch.Channel, 3)
	count.Set(ch.Channel, 4)
	if v, ok := user.Get(ch.Channel); !ok || v != "ann" {
		t.Fatalf("user = %q", v)
	}
	if v, _ := count.Get(ch.Channel); v != 4 {
		t.Fatalf("count = %d", v)
	}
	user.Delete(ch.Channel)
	if _, ok := user.Get(ch.Channel); ok {
		t.Fatal("deleted attribute still set")
	}
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
}

// Every single-method handler interface has a Func adapter, and the
// pipeline calls it for its event.
func TestFuncAdapters(t *testing.T) {
	var got []string
	note := func(s string) { got = append(got, s) }
	var (
		_ pipeline.ReadHandler         = pipeline.ReadFunc(nil)
		_ pipeline.ReadCompleteHandler = pipeline.ReadCompleteFunc(nil)
		_ pipeline.ActiveHandler       = pipeline.ActiveFunc(nil)
		_ pipeline.InactiveHandler     = pipeline.InactiveFunc(nil)
		_ pipeline.UserEventHandler    = pipeline.UserEventFunc(nil)
		_ pipeline.ErrorHandler        = pipeline.ErrorFunc(nil)
		_ pipeline.WritabilityHandler  = pipeline.WritabilityFunc(nil)
		_ pipeline.WriteHandler        = pipeline.WriteFunc(nil)
		_ pipeline.FlushHandler        = pipeline.FlushFunc(nil)
		_ pipeline.CloseHandler        = pipeline.CloseFunc(nil)
		_ pipeline.AddedHandler        = pipeline.AddedFunc(nil)
		_ pipeline.RemovedHandler      = pipeline.RemovedFunc(nil)
	)
	ch := pipelinetest.New(
		pipeline.AddedFunc(func(ctx *pipeline.Context) { note("added") }),
		pipeline.CloseFunc(func(ctx *pipeline.Context) { note("close"); ctx.Close() }),
		pipeline.FlushFunc(func(ctx *pipeline.Context) { note("flush"); ctx.Flush() }),
		pipeline.ReadCompleteFunc(func(ctx *pipeline.Context) { note("read complete"); ctx.FireReadComplete() }),
		pipeline.WritabilityFunc(func(ctx *pipeline.Context, w bool) { note(fmt.Sprint("writable ", w)) }),
	)
	if err := ch.Pipeline().AddLast("removed", pipeline.RemovedFunc(func(ctx *pipeline.Context) { note("removed") })); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.Pipeline().Remove("removed"); err != nil {
		t.Fatal(err)
	}
	ch.WriteInbound([]byte("x"))
	ch.SetBacklog(1 << 20)
	ch.SetBacklog(0)
	ch.WriteOutbound([]byte("y"))
	ch.Close()
	want := "added,removed,read complete,writable false,writable true,flush,close"
	if strings.Join(got, ",") != want {
		t.Fatalf("called %q, want %q", strings.Join(got, ","), want)
	}
}
