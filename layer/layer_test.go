package layer_test

import (
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gobwas/ws"

	"github.com/gnetty/gnetty/codec/wsframe"
	"github.com/gnetty/gnetty/layer"
	"github.com/gnetty/gnetty/pipeline"
	"github.com/gnetty/gnetty/pipeline/pipelinetest"
)

func TestGroupsEncodeOnceAndSendByName(t *testing.T) {
	l := layer.NewLocal()
	var chans []*pipelinetest.Channel
	for range 5 {
		ch := pipelinetest.New()
		l.Register(ch.Channel)
		chans = append(chans, ch)
	}
	for _, ch := range chans[:3] {
		must(t, l.GroupAdd("room", ch.Channel))
	}
	must(t, l.GroupAdd("room", chans[0].Channel)) // twice: still one member
	if l.Members("room") != 3 {
		t.Fatalf("members %d", l.Members("room"))
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // from another goroutine
		defer wg.Done()
		must(t, l.GroupSend("room", layer.Message{Text: true, Data: []byte("hello room")}))
		if err := l.Send(l.Name(chans[4].Channel), layer.Message{Text: true, Data: []byte("just you")}); err != nil {
			t.Error(err)
		}
	}()
	wg.Wait()
	var first any
	for i, ch := range chans {
		ch.RunPendingTasks()
		m := ch.ReadOutbound()
		switch {
		case i < 3:
			p, ok := m.(*wsframe.Prepared)
			if !ok {
				t.Fatalf("member %d got %T", i, m)
			}
			if first == nil {
				first = p
			} else if first != any(p) {
				t.Fatal("the group message was encoded more than once")
			}
		case i == 3:
			if m != nil {
				t.Fatalf("non-member got %v", m)
			}
		case i == 4:
			if m == nil {
				t.Fatal("named send lost")
			}
		}
	}
	must(t, l.GroupDiscard("room", chans[1].Channel))
	chans[2].Close()
	must(t, l.GroupSend("room", layer.Message{Data: []byte("x")}))
	if l.Members("room") != 1 {
		t.Fatalf("closed or discarded members kept: %d", l.Members("room"))
	}
	if err := l.Send(l.Name(chans[2].Channel), layer.Message{}); err != layer.ErrNoChannel {
		t.Fatalf("send to a closed channel: %v", err)
	}
	for _, ch := range chans {
		ch.RunPendingTasks()
		for ch.ReadOutbound() != nil {
		}
		if err := ch.Finish(); err != nil {
			t.Error(err)
		}
	}
}

func TestGroupSendExceptSkipsOneChannel(t *testing.T) {
	l := layer.NewLocal()
	a, b := pipelinetest.New(), pipelinetest.New()
	must(t, l.GroupAdd("g", a.Channel))
	must(t, l.GroupAdd("g", b.Channel))
	must(t, l.GroupSendExcept("g", l.Name(a.Channel), layer.Message{Text: true, Data: []byte("typing")}))
	a.RunPendingTasks()
	b.RunPendingTasks()
	if m := a.ReadOutbound(); m != nil {
		t.Fatalf("the skipped channel got %v", m)
	}
	if m := b.ReadOutbound(); m == nil {
		t.Fatal("the other member got nothing")
	}
}

func TestEachAndGroupsSeeLocalMembers(t *testing.T) {
	l := layer.NewLocal()
	a, b := pipelinetest.New(), pipelinetest.New()
	must(t, l.GroupAdd("g", a.Channel))
	must(t, l.GroupAdd("g", b.Channel))
	must(t, l.GroupAdd("h", a.Channel))
	n := 0
	l.Each("g", func(ch *pipeline.Channel) {
		n++
		_ = l.GroupDiscard("g", ch) // f may call the layer
	})
	if n != 2 || l.Members("g") != 0 {
		t.Fatalf("each saw %d, %d left", n, l.Members("g"))
	}
	if gs := l.Groups(); len(gs) != 1 || gs[0] != "h" {
		t.Fatalf("groups %v", gs)
	}
}

// TestLocalSubscribe: subscribers receive group sends beside channels,
// count as members, list their group, and stop at cancel; a group with
// subscribers only never encodes a frame.
func TestLocalSubscribe(t *testing.T) {
	l := layer.NewLocal()
	encoded := 0
	l.Encode = func(m layer.Message) any { encoded++; return wsframe.Prepare(ws.OpText, m.Data) }
	var got []string
	cancel := l.Subscribe("g", func(except string, m layer.Message) { got = append(got, except+"|"+string(m.Data)) })
	if l.Members("g") != 1 || !slices.Equal(l.Groups(), []string{"g"}) {
		t.Fatalf("members %d groups %v", l.Members("g"), l.Groups())
	}
	must(t, l.GroupSend("g", layer.Message{Data: []byte("one")}))
	must(t, l.GroupSendExcept("g", "7", layer.Message{Data: []byte("two")}))
	if !slices.Equal(got, []string{"|one", "7|two"}) || encoded != 0 {
		t.Fatalf("got %q, encoded %d", got, encoded)
	}
	cancel()
	must(t, l.GroupSend("g", layer.Message{Data: []byte("three")}))
	if len(got) != 2 || l.Members("g") != 0 || len(l.Groups()) != 0 {
		t.Fatalf("after cancel: got %q members %d groups %v", got, l.Members("g"), l.Groups())
	}
}

// must fails the test on a layer call's error.
func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// Tap sees each group message once, with the members it was written to:
// not the one skipped, not a closed one.
func TestTapSeesTheMembersSentTo(t *testing.T) {
	l := layer.NewLocal()
	var tapped []string
	l.Tap = func(group string, m layer.Message, sentTo []*pipeline.Channel) {
		var names []string
		for _, ch := range sentTo {
			names = append(names, l.Name(ch))
		}
		slices.Sort(names)
		tapped = append(tapped, group+":"+string(m.Data)+":"+strings.Join(names, ","))
	}
	a, b, c := pipelinetest.New(), pipelinetest.New(), pipelinetest.New()
	for _, ch := range []*pipelinetest.Channel{a, b, c} {
		must(t, l.GroupAdd("g", ch.Channel))
	}
	must(t, l.GroupSendExcept("g", l.Name(b.Channel), layer.Message{Text: true, Data: []byte("1")}))
	c.Close()
	must(t, l.GroupSend("g", layer.Message{Text: true, Data: []byte("2")}))
	names := []string{l.Name(a.Channel), l.Name(c.Channel)}
	slices.Sort(names)
	want := []string{"g:1:" + strings.Join(names, ","), "g:2:" + strings.Join(sortedNames(l, a, b), ",")}
	if !slices.Equal(tapped, want) {
		t.Fatalf("tapped %q, want %q", tapped, want)
	}
}

func sortedNames(l *layer.Local, chs ...*pipelinetest.Channel) []string {
	var out []string
	for _, ch := range chs {
		out = append(out, l.Name(ch.Channel))
	}
	slices.Sort(out)
	return out
}
