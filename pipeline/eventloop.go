package pipeline

import "time"

// EventLoop runs a set of channels on one goroutine. Each channel belongs
// to exactly one loop for its whole life; every handler of the channel runs
// on that loop.
//
// # Concurrency
//
// Every method is safe for concurrent use.
type EventLoop interface {
	// Execute runs task on the loop, after the current callback when
	// called from the loop itself. Tasks submitted from one goroutine run in
	// submission order. A task submitted after the loop stopped is dropped.
	Execute(task func())
	// Schedule runs task on the loop once delay has passed on the loop's
	// clock. Stop on the returned Timer cancels it.
	Schedule(delay time.Duration, task func()) Timer
	// InLoop reports whether the caller runs on the loop's goroutine.
	InLoop() bool
	// Now returns the loop's clock: the wall clock for a network loop
	// (read once per callback, so every message of one read shares it),
	// a fake clock for a test channel. Handlers that measure time (idle
	// detection, retries) use it so tests can advance time.
	Now() time.Time
}

// Timer is a task scheduled on an event loop.
type Timer interface {
	// Stop cancels the task and reports whether it stopped it (false if it
	// already ran or was already stopped). Safe for concurrent use.
	Stop() bool
}
