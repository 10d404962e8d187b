package goid

import (
	"sync"
	"testing"
)

func TestCurrentStableAndDistinct(t *testing.T) {
	me := Current()
	if me == 0 {
		t.Fatal("Current returned 0")
	}
	if Current() != me {
		t.Fatal("Current changed within one goroutine")
	}
	const n = 16
	got := make(chan uintptr, n)
	release := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(n)
	for range n {
		go func() {
			defer wg.Done()
			id := Current()
			if Current() != id {
				t.Error("Current changed within one goroutine")
			}
			got <- id
			<-release // stay alive so that no identifier can be reused
		}()
	}
	seen := map[uintptr]bool{me: true}
	for range n {
		id := <-got
		if seen[id] {
			t.Errorf("identifier %#x shared by two live goroutines", id)
		}
		seen[id] = true
	}
	close(release)
	wg.Wait()
}

func BenchmarkCurrent(b *testing.B) {
	b.ReportAllocs()
	var x uintptr
	for b.Loop() {
		x += Current()
	}
	_ = x
}
