package layer_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/gnetty/gnetty/internal/servertest"

	"github.com/redis/go-redis/v9"

	"github.com/gnetty/gnetty/codec/wsframe"
	"github.com/gnetty/gnetty/internal/redistest"
	"github.com/gnetty/gnetty/layer"
	"github.com/gnetty/gnetty/pipeline"
	"github.com/gnetty/gnetty/pipeline/pipelinetest"
)

func node(t *testing.T, addr, name string) *layer.Redis {
	t.Helper()
	client := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: 1, DialTimeout: time.Second})
	t.Cleanup(func() { client.Close() })
	l, err := layer.NewRedis(context.Background(), layer.RedisConfig{Client: client, Node: name})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// received collects what reached a test channel as frames' payloads.
func received(ch *pipelinetest.Channel) []string {
	ch.RunPendingTasks()
	var out []string
	for m := ch.ReadOutbound(); m != nil; m = ch.ReadOutbound() {
		b := m.(*wsframe.Prepared).AppendTo(nil)
		out = append(out, string(b[2:])) // short frames: 2-byte header
	}
	return out
}

// eventually polls until f reports done, for deliveries that cross Redis.
func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	servertest.WaitFor(t, what, f)
}

func TestRedisLayerAcrossNodes(t *testing.T) {
	rs := redistest.Start(t)
	a, b, c := node(t, rs.Addr, "a"), node(t, rs.Addr, "b"), node(t, rs.Addr, "c")
	onA, onB, onC := pipelinetest.New(), pipelinetest.New(), pipelinetest.New()
	for _, x := range []struct {
		l  *layer.Redis
		ch *pipelinetest.Channel
	}{{a, onA}, {b, onB}, {c, onC}} {
		x.l.Register(x.ch.Channel)
	}
	must(t, a.GroupAdd("room", onA.Channel))
	must(t, b.GroupAdd("room", onB.Channel))
	// c has no member in "room": it must not subscribe to it.
	chans, err := redis.NewClient(&redis.Options{Addr: rs.Addr}).PubSubChannels(context.Background(), "gnetty:group:*").Result()
	if err != nil || !slices.Equal(chans, []string{"gnetty:group:room"}) {
		t.Fatalf("subscribed group channels %v %v", chans, err)
	}

	if err := b.GroupSend("room", layer.Message{Text: true, Data: []byte("from b")}); err != nil {
		t.Fatal(err)
	}
	var gotA, gotB []string
	eventually(t, "a receives b's group message", func() bool { gotA = append(gotA, received(onA)...); return len(gotA) >= 1 })
	// A marker from b crosses Redis after the message on the same
	// subscription: once a has it, a duplicate would have come before it.
	must(t, b.GroupSend("room", layer.Message{Text: true, Data: []byte("marker")}))
	eventually(t, "a receives the marker", func() bool {
		gotA = append(gotA, received(onA)...)
		return slices.Contains(gotA, "marker")
	})
	gotB = received(onB)
	if !slices.Equal(gotA, []string{"from b", "marker"}) || !slices.Equal(gotB, []string{"from b", "marker"}) || len(received(onC)) != 0 {
		t.Fatalf("a %v b %v: each member exactly once, c nothing", gotA, gotB)
	}

	// By name, from a node that does not hold the channel.
	if err := a.Send(c.Name(onC.Channel), layer.Message{Text: true, Data: []byte("to c")}); err != nil {
		t.Fatal(err)
	}
	var gotC []string
	eventually(t, "c receives a's direct message", func() bool { gotC = append(gotC, received(onC)...); return len(gotC) == 1 })
	if gotC[0] != "to c" {
		t.Fatalf("c got %v", gotC)
	}

	// The last member leaving unsubscribes the node.
	must(t, b.GroupDiscard("room", onB.Channel))
	eventually(t, "b unsubscribes", func() bool {
		n, _ := redis.NewClient(&redis.Options{Addr: rs.Addr}).PubSubNumSub(context.Background(), "gnetty:group:room").Result()
		return n["gnetty:group:room"] == 1
	})
	for _, ch := range []*pipelinetest.Channel{onA, onB, onC} {
		received(ch)
		if err := ch.Finish(); err != nil {
			t.Error(err)
		}
	}
}

func TestRedisLostAndBack(t *testing.T) {
	rs := redistest.Start(t)
	a, b := node(t, rs.Addr, "a"), node(t, rs.Addr, "b")
	onA, onB := pipelinetest.New(), pipelinetest.New()
	must(t, a.GroupAdd("room", onA.Channel))
	must(t, b.GroupAdd("room", onB.Channel))

	rs.Stop()
	// Local delivery goes on; the loss for other nodes is counted, and
	// once a publish has failed, the next sends say so (publishing runs
	// on a goroutine of its own: a send never waits for Redis).
	if err := a.GroupSend("room", layer.Message{Data: []byte("while down")}); err != nil {
		t.Fatalf("the first send after Redis went: %v (it cannot know yet)", err)
	}
	if got := received(onA); !slices.Equal(got, []string{"while down"}) {
		t.Fatalf("local delivery while Redis is down: %v", got)
	}
	eventually(t, "the lost publish counted", func() bool { return a.Stats.PublishErrors.Load() > 0 })
	if err := a.GroupSend("room", layer.Message{Data: []byte("still down")}); err == nil {
		t.Fatal("a send after a failed publish reported success")
	}
	received(onA)

	rs.Restart()
	// Subscriptions come back by themselves; publish until b hears again.
	var gotB []string
	eventually(t, "delivery resumes after Redis restarts", func() bool {
		_ = a.GroupSend("room", layer.Message{Data: []byte("after")}) // an error until a publish gets through again
		time.Sleep(20 * time.Millisecond)
		gotB = append(gotB, received(onB)...)
		return slices.Contains(gotB, "after")
	})
	for _, ch := range []*pipelinetest.Channel{onA, onB} {
		received(ch)
		if err := ch.Finish(); err != nil {
			t.Error(err)
		}
	}
}

func TestRedisUnreachableAtStart(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 200 * time.Millisecond, MaxRetries: 0})
	defer client.Close()
	if _, err := layer.NewRedis(context.Background(), layer.RedisConfig{Client: client}); err == nil {
		t.Fatal("no error for an unreachable Redis")
	}
}

// Labels travel with a message to the other nodes' Tap, and
// GroupSendExcept skips the one channel named, wherever it lives.
func TestRedisLabelsAndExcept(t *testing.T) {
	rs := redistest.Start(t)
	client := redis.NewClient(&redis.Options{Addr: rs.Addr})
	t.Cleanup(func() { client.Close() })
	type tapped struct {
		group string
		m     layer.Message
	}
	taps := make(chan tapped, 16)
	b, err := layer.NewRedis(context.Background(), layer.RedisConfig{Client: client, Node: "b",
		Tap: func(g string, m layer.Message, _ []*pipeline.Channel) {
			taps <- tapped{g, layer.Message{Kind: m.Kind, Epoch: m.Epoch, Seq: m.Seq, Data: append([]byte(nil), m.Data...)}}
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	a := node(t, rs.Addr, "a")
	a1, a2, b1, b2 := pipelinetest.New(), pipelinetest.New(), pipelinetest.New(), pipelinetest.New()
	for _, x := range []*pipelinetest.Channel{a1, a2} {
		must(t, a.GroupAdd("room", x.Channel))
	}
	for _, x := range []*pipelinetest.Channel{b1, b2} {
		must(t, b.GroupAdd("room", x.Channel))
	}
	if err := a.GroupSend("room", layer.Message{Text: true, Data: []byte("numbered"), Kind: "user", Epoch: "e1", Seq: 7}); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-taps:
		if got.group != "room" || got.m.Kind != "user" || got.m.Epoch != "e1" || got.m.Seq != 7 || string(got.m.Data) != "numbered" {
			t.Fatalf("b tapped %+v", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("b never saw the message")
	}
	// From a, skipping a channel of b, then one of a.
	must(t, a.GroupSendExcept("room", b.Name(b2.Channel), layer.Message{Text: true, Data: []byte("not b2")}))
	must(t, a.GroupSendExcept("room", a.Name(a1.Channel), layer.Message{Text: true, Data: []byte("not a1")}))
	// A marker to everyone follows them on the same path: once every
	// channel has it, a wrongly delivered copy would have come before it.
	must(t, a.GroupSend("room", layer.Message{Text: true, Data: []byte("marker")}))
	var got [4][]string
	chans := []*pipelinetest.Channel{a1, a2, b1, b2}
	eventually(t, "the marker at every channel", func() bool {
		all := true
		for i, ch := range chans {
			got[i] = append(got[i], received(ch)...)
			all = all && slices.Contains(got[i], "marker")
		}
		return all
	})
	want := [4][]string{{"numbered", "not b2", "marker"}, {"numbered", "not b2", "not a1", "marker"}, {"numbered", "not b2", "not a1", "marker"}, {"numbered", "not a1", "marker"}}
	for i := range want {
		if !slices.Equal(got[i], want[i]) {
			t.Errorf("channel %d got %q, want %q", i, got[i], want[i])
		}
	}
}

// A Lua script's labeled envelope reads back as the labels it wrote.
func TestLabeledEnvelopeFromAScript(t *testing.T) {
	rs := redistest.Start(t)
	client := redis.NewClient(&redis.Options{Addr: rs.Addr})
	t.Cleanup(func() { client.Close() })
	taps := make(chan layer.Message, 4)
	l, err := layer.NewRedis(context.Background(), layer.RedisConfig{Client: client, Node: "n",
		Tap: func(g string, m layer.Message, _ []*pipeline.Channel) {
			taps <- layer.Message{Kind: m.Kind, Epoch: m.Epoch, Seq: m.Seq, Data: append([]byte(nil), m.Data...)}
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	ch := pipelinetest.New()
	must(t, l.GroupAdd("g", ch.Channel))
	payload := append(layer.LabeledEnvelopeHeader(true), layer.Labels("dm", "ep", 12345)...)
	payload = append(payload, "body"...)
	if err := client.Publish(context.Background(), l.GroupTopic("g"), payload).Err(); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-taps:
		if m.Kind != "dm" || m.Epoch != "ep" || m.Seq != 12345 || string(m.Data) != "body" {
			t.Fatalf("tapped %+v", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the script's message never arrived")
	}
}

// TestRedisSubscribe: a function member of a group receives the group's
// messages from its own node (synchronously) and from others, keeps the
// node subscribed while it exists, and stops receiving once cancelled.
func TestRedisSubscribe(t *testing.T) {
	rs := redistest.Start(t)
	a, b := node(t, rs.Addr, "a"), node(t, rs.Addr, "b")
	probe := redis.NewClient(&redis.Options{Addr: rs.Addr})
	defer probe.Close()
	subscribers := func() int64 {
		n, err := probe.PubSubNumSub(context.Background(), a.GroupTopic("g")).Result()
		if err != nil {
			t.Fatal(err)
		}
		return n[a.GroupTopic("g")]
	}
	got := make(chan string, 10)
	cancelB := b.Subscribe("g", func(except string, m layer.Message) { got <- "b:" + string(m.Data) + ":" + m.Kind })
	var onA []string
	cancelA := a.Subscribe("g", func(except string, m layer.Message) { onA = append(onA, string(m.Data)) })
	defer cancelA()
	eventually(t, "both nodes subscribed", func() bool { return subscribers() == 2 })
	if err := a.GroupSend("g", layer.Message{Data: []byte("hi"), Kind: "k"}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(onA, []string{"hi"}) {
		t.Fatalf("the sender's own subscriber got %q", onA)
	}
	select {
	case m := <-got:
		if m != "b:hi:k" {
			t.Fatalf("b got %q", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("b's subscriber got nothing")
	}
	cancelB()
	cancelB() // idempotent
	eventually(t, "b unsubscribed", func() bool { return subscribers() == 1 })
	if err := a.GroupSend("g", layer.Message{Data: []byte("after")}); err != nil {
		t.Fatal(err)
	}
	if n := b.Members("g"); n != 0 {
		t.Fatalf("b still counts %d members", n)
	}
}
