package pipeline

import (
	"testing"
	"time"
)

func TestPanicLimiterRations(t *testing.T) {
	var l panicLimiter
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	logged, stacks := 0, 0
	var suppressed uint64
	// 1,000 panics in one second: 10 lines, 5 of them with stacks.
	for i := range 1000 {
		ok, stack, s := l.admit(t0.Add(time.Duration(i) * time.Millisecond))
		if ok {
			logged++
		}
		if stack {
			stacks++
		}
		suppressed += s
	}
	if logged != PanicLinesPerSecond || stacks != PanicStacksPerMinute || suppressed != 0 {
		t.Fatalf("first second: %d lines, %d stacks, %d reported suppressed", logged, stacks, suppressed)
	}
	// The next second: a line again, without a stack (the minute's are
	// spent), carrying the count of what was dropped.
	ok, stack, s := l.admit(t0.Add(time.Second))
	if !ok || stack || s != 1000-PanicLinesPerSecond {
		t.Fatalf("next second: logged %v stack %v suppressed %d", ok, stack, s)
	}
	// A minute on, stacks come back.
	if ok, stack, _ := l.admit(t0.Add(time.Minute + time.Second)); !ok || !stack {
		t.Fatalf("a minute later: logged %v stack %v", ok, stack)
	}
}
