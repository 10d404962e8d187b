package executor

import (
	"errors"
	"sync"
	"time"
)

// Policy says what Submit does when the queue is full.
type Policy int

const (
	// Reject returns ErrFull at once.
	Reject Policy = iota
	// Wait blocks up to WaitTimeout for room, then returns ErrFull.
	Wait
)

// Config sizes an Executor; zero values mean the defaults.
type Config struct {
	// Workers is the number of goroutines (default 16).
	Workers int
	// QueueSize bounds the jobs waiting or running (default 4096).
	QueueSize int
	// Policy applies when the queue is full.
	Policy Policy
	// WaitTimeout bounds a Wait (default 1 s).
	WaitTimeout time.Duration
}

// Errors.
var (
	ErrFull   = errors.New("executor: queue full")
	ErrClosed = errors.New("executor: closed")
)

// Executor is an ordered-per-key worker pool.
type Executor struct {
	cfg     Config
	mu      sync.Mutex
	room    *sync.Cond
	keys    map[uint64]*serial
	ready   chan *serial
	pending int
	closed  bool
	wg      sync.WaitGroup
}

type serial struct {
	key     uint64
	jobs    []func()
	running bool
}

// New starts an executor.
func New(cfg Config) *Executor {
	if cfg.Workers <= 0 {
		cfg.Workers = 16
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 4096
	}
	if cfg.WaitTimeout <= 0 {
		cfg.WaitTimeout = time.Second
	}
	e := &Executor{cfg: cfg, keys: map[uint64]*serial{}, ready: make(chan *serial, cfg.QueueSize)}
	e.room = sync.NewCond(&e.mu)
	e.wg.Add(cfg.Workers)
	for range cfg.Workers {
		go e.work()
	}
	return e
}

// Submit queues job under key. It never runs job on the caller.
func (e *Executor) Submit(key uint64, job func()) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return ErrClosed
	}
	if e.pending >= e.cfg.QueueSize {
		if e.cfg.Policy != Wait {
			return ErrFull
		}
		deadline := time.Now().Add(e.cfg.WaitTimeout)
		t := time.AfterFunc(e.cfg.WaitTimeout, func() {
			e.mu.Lock()
			e.room.Broadcast()
			e.mu.Unlock()
		})
		for e.pending >= e.cfg.QueueSize && !e.closed && time.Now().Before(deadline) {
			e.room.Wait()
		}
		t.Stop()
		if e.closed {
			return ErrClosed
		}
		if e.pending >= e.cfg.QueueSize {
			return ErrFull
		}
	}
	e.pending++
	s := e.keys[key]
	if s == nil {
		s = &serial{key: key}
		e.keys[key] = s
	}
	s.jobs = append(s.jobs, job)
	if !s.running {
		s.running = true
		e.ready <- s // never blocks: at most QueueSize serials are ready
	}
	return nil
}

func (e *Executor) work() {
	defer e.wg.Done()
	for s := range e.ready {
		for {
			e.mu.Lock()
			if len(s.jobs) == 0 {
				s.running = false
				delete(e.keys, s.key)
				e.mu.Unlock()
				break
			}
			var job func()
			job, s.jobs = popJob(s.jobs)
			e.mu.Unlock()
			func() {
				defer func() { _ = recover() }() // a job's panic must not kill a worker
				job()
			}()
			e.mu.Lock()
			e.pending--
			e.room.Signal()
			e.mu.Unlock()
		}
	}
}

// Pending returns the number of jobs waiting or running.
func (e *Executor) Pending() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.pending
}

// Close lets queued jobs finish, then stops the workers.
func (e *Executor) Close() {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return
	}
	e.closed = true
	e.room.Broadcast()
	e.mu.Unlock()
	for {
		e.mu.Lock()
		n := e.pending
		e.mu.Unlock()
		if n == 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	close(e.ready)
	e.wg.Wait()
}
