package executor

import "sync"

// Queue runs jobs one at a time, in the order they were submitted, on a
// goroutine that exists only while the queue has work: one connection's
// blocking work in order, with no pool shared with other connections (a
// job that blocks for long holds up only its own queue). Use an Executor
// instead to bound the goroutines of many keys.
//
// The zero Queue is ready to use. Safe for concurrent use.
type Queue struct {
	mu      sync.Mutex
	jobs    []func()
	running bool
}

// Submit queues job; it never runs job on the caller.
func (q *Queue) Submit(job func()) {
	q.mu.Lock()
	q.jobs = append(q.jobs, job)
	start := !q.running
	q.running = true
	q.mu.Unlock()
	if start {
		go q.run()
	}
}

func (q *Queue) run() {
	for {
		q.mu.Lock()
		if len(q.jobs) == 0 {
			q.running = false
			q.mu.Unlock()
			return
		}
		var job func()
		job, q.jobs = popJob(q.jobs)
		q.mu.Unlock()
		job()
	}
}

// popJob takes the first job off jobs, leaving no reference to it behind.
func popJob(jobs []func()) (func(), []func()) {
	job := jobs[0]
	jobs[0] = nil
	return job, jobs[1:]
}
