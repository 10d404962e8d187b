// Package executor runs blocking work off the event loops, in order per
// key (a channel's ID): Netty's EventExecutorGroup. A bounded set of worker
// goroutines serves all keys; jobs of one key never run concurrently and
// run in submission order, jobs of different keys run in parallel.
//
// The queue is bounded. When it is full the policy decides: Reject (the
// default) returns ErrFull at once, so a handler on an event loop can
// answer with an error; Wait blocks the submitter up to WaitTimeout, which
// is for submitters that are not event loops.
//
// # Concurrency
//
// Every method is safe for concurrent use.
package executor
