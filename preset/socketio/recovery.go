package socketio

import (
	"sync"
	"sync/atomic"
	"time"
)

// recovery keeps, per namespace, the sessions that may come back and the
// broadcasts they may have missed (the Node server's session-aware
// in-memory adapter). Every node logs every broadcast of the namespace,
// its own and those the layer brings, so a client recovers on any node
// that holds its session.
//
// Safe for concurrent use.
type recovery struct {
	cfg    Recovery
	prefix string // makes this node's offsets unique across nodes
	seq    atomic.Uint64

	mu       sync.Mutex
	packets  []logged
	sessions map[string]*saved // by private ID
	swept    time.Time
}

type logged struct {
	offset string
	at     time.Time
	rooms  []string
	except []string
	e      *encoded
}

type saved struct {
	sid, pid string
	rooms    []string
	data     any
	at       time.Time
}

func newRecovery(cfg *Recovery) *recovery {
	return &recovery{cfg: *cfg, prefix: newSessionID()[:8] + "-", sessions: map[string]*saved{}}
}

// log keeps a broadcast for replay.
func (r *recovery) log(offset string, rooms, except []string, e *encoded) {
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.packets = append(r.packets, logged{offset: offset, at: now, rooms: rooms, except: except, e: e})
	r.sweep(now)
}

// sweep drops expired packets and sessions (with r.mu held); the
// sessions at most once a second.
func (r *recovery) sweep(now time.Time) {
	horizon := now.Add(-r.cfg.MaxDisconnection)
	drop := 0
	for drop < len(r.packets) && (r.packets[drop].at.Before(horizon) || len(r.packets)-drop > r.cfg.MaxPackets) {
		drop++
	}
	if drop > 0 {
		clear(r.packets[:drop])
		r.packets = r.packets[drop:]
		if cap(r.packets) > 2*r.cfg.MaxPackets && len(r.packets) < cap(r.packets)/4 {
			r.packets = append([]logged(nil), r.packets...)
		}
	}
	if now.Sub(r.swept) < time.Second {
		return
	}
	r.swept = now
	for pid, s := range r.sessions {
		if s.at.Before(horizon) {
			delete(r.sessions, pid)
		}
	}
}

func (r *recovery) save(s *saved) {
	now := time.Now()
	s.at = now
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sessions[s.pid] = s
	r.sweep(now)
}

// restore takes the session pid back with the broadcasts after offset
// that were meant for its rooms. ok is false when the session expired or
// is unknown, or offset is no longer kept.
func (r *recovery) restore(pid, offset string) (*saved, []*encoded, bool) {
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sweep(now)
	s := r.sessions[pid]
	if s == nil {
		return nil, nil, false
	}
	delete(r.sessions, pid)
	if s.at.Before(now.Add(-r.cfg.MaxDisconnection)) {
		return nil, nil, false
	}
	idx := -1
	for i := len(r.packets) - 1; i >= 0; i-- {
		if r.packets[i].offset == offset {
			idx = i
			break
		}
	}
	if idx < 0 {
		return nil, nil, false
	}
	in := make(map[string]bool, len(s.rooms))
	for _, room := range s.rooms {
		in[room] = true
	}
	var missed []*encoded
	for _, p := range r.packets[idx+1:] {
		if matches(in, p.rooms, p.except) {
			missed = append(missed, p.e)
		}
	}
	return s, missed, true
}

// matches reports whether a socket in rooms in gets a broadcast to rooms
// (all when empty) except except.
func matches(in map[string]bool, rooms, except []string) bool {
	for _, r := range except {
		if in[r] {
			return false
		}
	}
	if len(rooms) == 0 {
		return true
	}
	for _, r := range rooms {
		if in[r] {
			return true
		}
	}
	return false
}
