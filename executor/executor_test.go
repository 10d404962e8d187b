package executor_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gnetty/gnetty/executor"
)

func TestOrderPerKeyParallelAcrossKeys(t *testing.T) {
	e := executor.New(executor.Config{Workers: 4})
	defer e.Close()
	const keys, jobs = 8, 200
	var mu sync.Mutex
	seen := map[uint64][]int{}
	var running, maxRunning atomic.Int32
	perKey := make([]atomic.Int32, keys)
	var wg sync.WaitGroup
	wg.Add(keys * jobs)
	for j := range jobs {
		for k := range uint64(keys) {
			if err := e.Submit(k, func() {
				defer wg.Done()
				if perKey[k].Add(1) != 1 {
					t.Error("two jobs of one key ran at once")
				}
				n := running.Add(1)
				for {
					m := maxRunning.Load()
					if n <= m || maxRunning.CompareAndSwap(m, n) {
						break
					}
				}
				if j%50 == 0 {
					time.Sleep(time.Millisecond)
				}
				mu.Lock()
				seen[k] = append(seen[k], j)
				mu.Unlock()
				running.Add(-1)
				perKey[k].Add(-1)
			}); err != nil {
				t.Fatal(err)
			}
		}
	}
	wg.Wait()
	for k, got := range seen {
		for i, j := range got {
			if i != j {
				t.Fatalf("key %d ran job %d at position %d", k, j, i)
			}
		}
	}
	if maxRunning.Load() < 2 {
		t.Fatal("keys never ran in parallel")
	}
}

func TestRejectAndWaitWhenFull(t *testing.T) {
	block := make(chan struct{})
	e := executor.New(executor.Config{Workers: 1, QueueSize: 2})
	_ = e.Submit(1, func() { <-block })
	_ = e.Submit(1, func() {})
	if err := e.Submit(2, func() {}); err != executor.ErrFull {
		t.Fatalf("full queue: %v", err)
	}
	close(block)
	e.Close()
	if err := e.Submit(1, func() {}); err != executor.ErrClosed {
		t.Fatalf("after close: %v", err)
	}

	block = make(chan struct{})
	w := executor.New(executor.Config{Workers: 1, QueueSize: 1, Policy: executor.Wait, WaitTimeout: 50 * time.Millisecond})
	_ = w.Submit(1, func() { <-block })
	start := time.Now()
	if err := w.Submit(2, func() {}); err != executor.ErrFull || time.Since(start) < 40*time.Millisecond {
		t.Fatalf("wait: %v after %v", err, time.Since(start))
	}
	close(block)
	w.Close()

	// Room freed while a submitter waits (for as long as it takes: the
	// bound is generous) lets it in.
	block = make(chan struct{})
	w = executor.New(executor.Config{Workers: 1, QueueSize: 1, Policy: executor.Wait, WaitTimeout: time.Minute})
	_ = w.Submit(1, func() { <-block })
	submitting, result := make(chan struct{}), make(chan error, 1)
	go func() {
		close(submitting)
		result <- w.Submit(3, func() {})
	}()
	<-submitting
	close(block)
	if err := <-result; err != nil {
		t.Fatalf("wait with room freed: %v", err)
	}
	w.Close()
}

func TestPanicDoesNotKillWorkers(t *testing.T) {
	e := executor.New(executor.Config{Workers: 1})
	defer e.Close()
	_ = e.Submit(1, func() { panic("boom") })
	done := make(chan struct{})
	_ = e.Submit(1, func() { close(done) })
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("worker died")
	}
}

// A Queue runs its jobs one at a time, in order, and its goroutine ends
// when the work does (a later Submit starts another).
func TestQueueOrderAndIdle(t *testing.T) {
	var q executor.Queue
	var running, maxRunning atomic.Int32
	got := make(chan int, 100)
	for i := range 100 {
		q.Submit(func() {
			n := running.Add(1)
			if n > maxRunning.Load() {
				maxRunning.Store(n)
			}
			got <- i
			running.Add(-1)
		})
	}
	for i := range 100 {
		if v := <-got; v != i {
			t.Fatalf("job %d ran as %d", v, i)
		}
	}
	if maxRunning.Load() != 1 {
		t.Fatalf("%d jobs ran at once", maxRunning.Load())
	}
	done := make(chan struct{})
	q.Submit(func() { close(done) }) // after going idle
	<-done
}
