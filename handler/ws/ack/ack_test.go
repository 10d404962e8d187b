package ack_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/gnetty/gnetty/codec/wsframe"
	"github.com/gnetty/gnetty/handler/ws/ack"
	"github.com/gnetty/gnetty/pipeline/pipelinetest"
)

// sent flushes (as the end of a loop callback would) and returns what went
// out.
func sent(ch *pipelinetest.Channel) []string {
	ch.RunPendingTasks()
	var out []string
	for m := ch.ReadOutbound(); m != nil; m = ch.ReadOutbound() {
		out = append(out, string(m.(*wsframe.Message).Data))
	}
	return out
}

func msg(room string, id uint64) []byte { return fmt.Appendf(nil, `{"room":%q,"id":%d}`, room, id) }

func TestRetriesWithSameIDThenGivesUp(t *testing.T) {
	tr := ack.New(ack.Config{Timeout: time.Second, MaxRetries: 2})
	ch := pipelinetest.New(tr)
	tr.Send("a", 1, msg("a", 1))
	tr.Send("a", 2, msg("a", 2))
	if got := sent(ch); len(got) != 2 {
		t.Fatalf("sent %v", got)
	}
	tr.Ack("a", 2)
	ch.Advance(time.Second)
	if got := sent(ch); !slices.Equal(got, []string{string(msg("a", 1))}) {
		t.Fatalf("first retry %v", got)
	}
	ch.Advance(time.Second)
	if got := sent(ch); len(got) != 1 {
		t.Fatalf("second retry %v", got)
	}
	ch.Advance(time.Second)
	if got := sent(ch); len(got) != 0 {
		t.Fatalf("retried past the limit: %v", got)
	}
	ev, ok := ch.ReadUserEvent().(ack.GaveUp)
	if !ok || ev.ID != 1 || ev.Group != "a" || ev.Attempts != 3 {
		t.Fatalf("event %+v", ev)
	}
	if p := tr.Pending("a"); len(p) != 0 {
		t.Fatalf("pending %v after giving up", p)
	}
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
}

func TestCumulativeAckPerGroup(t *testing.T) {
	tr := ack.New(ack.Config{Timeout: time.Second})
	ch := pipelinetest.New(tr)
	for id := uint64(1); id <= 5; id++ {
		tr.Send("a", id, msg("a", id))
		tr.Send("b", id, msg("b", id))
	}
	sent(ch)
	if n := tr.AckUpTo("a", 3); n != 3 {
		t.Fatalf("freed %d", n)
	}
	if got := tr.Pending("a"); !slices.Equal(got, []uint64{4, 5}) {
		t.Fatalf("a pending %v", got)
	}
	if got := tr.Pending("b"); len(got) != 5 {
		t.Fatalf("b touched: %v", got)
	}
	if tr.Ack("a", 3) {
		t.Fatal("acked twice")
	}
	ch.Advance(time.Second)
	if got := sent(ch); len(got) != 7 {
		t.Fatalf("retries %v", got)
	}
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
}

func TestCloseFreesAndStopsRetries(t *testing.T) {
	tr := ack.New(ack.Config{Timeout: time.Second})
	ch := pipelinetest.New(tr)
	if ack.FromChannel(ch.Channel) != tr {
		t.Fatal("tracker not on the channel")
	}
	tr.Send("a", 1, msg("a", 1))
	sent(ch)
	ch.Close()
	ch.Advance(10 * time.Second)
	if got := sent(ch); len(got) != 0 {
		t.Fatalf("sent after close: %v", got)
	}
	if len(tr.Pending("a")) != 0 {
		t.Fatal("pending kept after close")
	}
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
}

func TestMaxPendingGivesUpOldest(t *testing.T) {
	tr := ack.New(ack.Config{MaxPending: 2})
	ch := pipelinetest.New(tr)
	for id := uint64(1); id <= 3; id++ {
		tr.Send("a", id, msg("a", id))
	}
	sent(ch)
	if ev, ok := ch.ReadUserEvent().(ack.GaveUp); !ok || ev.ID != 1 {
		t.Fatalf("event %+v", ev)
	}
	if got := tr.Pending("a"); !slices.Equal(got, []uint64{2, 3}) {
		t.Fatalf("pending %v", got)
	}
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
}
