package timerq

import (
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/gnetty/gnetty/internal/goid"
)

func newQueue() *Queue {
	q := &Queue{}
	q.SetOwner(goid.Current())
	return q
}

func drain(q *Queue, now int64) []int64 {
	var got []int64
	for t := q.PopDue(now); t != nil; t = q.PopDue(now) {
		got = append(got, t.When())
		t.Run()
	}
	return got
}

func TestOrderAndTies(t *testing.T) {
	q := newQueue()
	var order []string
	add := func(when int64, name string) *Timer {
		tm := New(when, func() { order = append(order, name) })
		q.Push(tm)
		return tm
	}
	add(30, "c")
	add(10, "a1")
	add(20, "b")
	add(10, "a2")
	if next, ok := q.Next(); !ok || next != 10 {
		t.Fatalf("Next = %d, %v; want 10, true", next, ok)
	}
	drain(q, 15)
	if want := []string{"a1", "a2"}; !slices.Equal(order, want) {
		t.Fatalf("fired %v, want %v", order, want)
	}
	drain(q, 100)
	if want := []string{"a1", "a2", "b", "c"}; !slices.Equal(order, want) {
		t.Fatalf("fired %v, want %v", order, want)
	}
	if _, ok := q.Next(); ok {
		t.Fatal("queue should be empty")
	}
}

func TestStopOnOwnerRemovesAtOnce(t *testing.T) {
	q := newQueue()
	timers := make([]*Timer, 100)
	for i := range timers {
		timers[i] = New(int64(i), func() {})
		q.Push(timers[i])
	}
	for i := 0; i < 100; i += 2 {
		if !timers[i].Stop() {
			t.Fatalf("Stop(%d) = false", i)
		}
	}
	if timers[0].Stop() {
		t.Fatal("second Stop returned true")
	}
	if q.Len() != 50 {
		t.Fatalf("Len = %d, want 50", q.Len())
	}
	got := drain(q, 1000)
	for i, w := range got {
		if w != int64(2*i+1) {
			t.Fatalf("fired %v", got)
		}
	}
	if timers[1].Stop() {
		t.Fatal("Stop after firing returned true")
	}
}

func TestStopFromOtherGoroutine(t *testing.T) {
	q := newQueue()
	timers := make([]*Timer, 64)
	for i := range timers {
		timers[i] = New(int64(i), func() {})
		q.Push(timers[i])
	}
	var wg sync.WaitGroup
	for i := range timers {
		if i%4 != 0 {
			continue
		}
		wg.Add(1)
		go func() { defer wg.Done(); timers[i].Stop() }()
	}
	wg.Wait()
	// More pushes trigger compaction once over half the heap is stopped.
	got := drain(q, 1000)
	if len(got) != 48 {
		t.Fatalf("fired %d timers, want 48", len(got))
	}
	for _, w := range got {
		if w%4 == 0 {
			t.Fatalf("stopped timer %d fired", w)
		}
	}
}

func TestRandomAgainstSort(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	q := newQueue()
	var want []int64
	var timers []*Timer
	for range 2000 {
		w := r.Int64N(500)
		tm := New(w, func() {})
		q.Push(tm)
		timers = append(timers, tm)
	}
	for i, tm := range timers {
		if i%3 == 0 {
			tm.Stop()
		} else {
			want = append(want, tm.When())
		}
	}
	slices.Sort(want)
	got := drain(q, 1000)
	if !slices.Equal(got, want) {
		t.Fatal("heap order differs from sorted order")
	}
}

func BenchmarkPushStop(b *testing.B) {
	q := newQueue()
	for i := range 10000 {
		q.Push(New(int64(i), func() {}))
	}
	b.ReportAllocs()
	var i int64
	for b.Loop() {
		i++
		tm := New(5000+i%100, nil)
		q.Push(tm)
		tm.Stop()
	}
}

type countTask struct {
	n int
	q *Queue
	t Timer
}

func (c *countTask) RunTask() { c.n++ }

func TestRecordResetAndCancel(t *testing.T) {
	q := newQueue()
	others := []*Timer{New(15, func() {}), New(25, func() {})}
	for _, o := range others {
		q.Push(o)
	}
	r := &countTask{q: q}
	r.t.Init(r)
	if r.t.Armed() {
		t.Fatal("a fresh record is armed")
	}
	q.Reset(&r.t, 30)
	q.Reset(&r.t, 10) // moves up, stays one entry
	if q.Len() != 3 {
		t.Fatalf("Len = %d after two resets, want 3", q.Len())
	}
	if got := drain(q, 12); !slices.Equal(got, []int64{10}) || r.n != 1 {
		t.Fatalf("fired %v (record ran %d times), want [10] once", got, r.n)
	}
	if r.t.Armed() {
		t.Fatal("a fired record is still armed")
	}
	q.Reset(&r.t, 20) // re-armed after firing
	q.Reset(&r.t, 40) // moves down
	if got := drain(q, 30); !slices.Equal(got, []int64{15, 25}) || r.n != 1 {
		t.Fatalf("fired %v (record ran %d times), want [15 25] and the record not yet", got, r.n)
	}
	q.Cancel(&r.t)
	q.Cancel(&r.t) // twice is harmless
	if got := drain(q, 100); len(got) != 0 || r.n != 1 || q.Len() != 0 {
		t.Fatalf("after Cancel fired %v, ran %d, Len %d", got, r.n, q.Len())
	}
	if a := testing.AllocsPerRun(100, func() { q.Reset(&r.t, 50); q.Cancel(&r.t) }); a != 0 {
		t.Fatalf("re-arming a record allocates %.1f times", a)
	}
}
