package executor_test

import (
	"fmt"
	"sync"

	"github.com/gnetty/gnetty/executor"
)

// Jobs of one key run one at a time, in the order they were submitted;
// jobs of other keys run beside them on the pool's goroutines.
func ExampleExecutor() {
	e := executor.New(executor.Config{Workers: 4})
	defer e.Close()
	var mu sync.Mutex
	var wg sync.WaitGroup
	perKey := map[uint64][]int{}
	for i := range 6 {
		key := uint64(i % 2) // two channels, say
		wg.Add(1)
		if err := e.Submit(key, func() {
			defer wg.Done()
			mu.Lock()
			perKey[key] = append(perKey[key], i)
			mu.Unlock()
		}); err != nil {
			fmt.Println(err)
		}
	}
	wg.Wait()
	fmt.Println(perKey[0], perKey[1])
	// Output: [0 2 4] [1 3 5]
}

// A Queue is one connection's ordered blocking work, on a goroutine that
// exists only while there is some.
func ExampleQueue() {
	var q executor.Queue
	done := make(chan struct{})
	for _, word := range []string{"first", "second"} {
		q.Submit(func() { fmt.Println(word) })
	}
	q.Submit(func() { close(done) })
	<-done
	// Output:
	// first
	// second
}
