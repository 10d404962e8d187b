package chat

import (
	"context"

	"github.com/gnetty/gnetty/handler/ws/dispatch"
)

// historyQuery is one page of history: after since (oldest first; since
// 0 with no before: the newest page), or before an id.
type historyQuery struct {
	since, before uint64
	limit         int
	epoch         string // the client's; another than the room's means since and before are void
}

// sendHistory reads and sends a page of history off the loop, on the
// executor queue of m's connection (not of the room), so one connection's
// requests never wait behind another's, nor hold up a room's posts. The
// caller has claimed m's history slot (startHistory); it is freed here.
func (s *Server) sendHistory(m *member, read func() any) {
	if err := s.exec.Submit(m.ch.ID(), func() {
		reply := read()
		m.history.Store(false) // before the reply: a client that asks again on receipt is never refused
		s.send(m, reply)
	}); err != nil {
		m.history.Store(false)
		s.send(m, errMsg(dispatch.CodeBusy, "server busy, try again"))
	}
}

// readHistory reads a page of history and returns the reply (a history
// page, or an error message); it blocks on the store: call it on the
// executor.
func (s *Server) readHistory(name string, q historyQuery) any {
	epoch, err := s.store.Epoch(name)
	if err != nil {
		s.cfg.Logger.Error("chat: history", "room", name, "err", err)
		return errMsg("internal", "history unavailable")
	}
	if q.epoch != "" && epoch != "" && q.epoch != epoch {
		q.since, q.before = 0, 0 // the client's ids belong to an older numbering: the newest page
	}
	// One message more than the page tells whether there are more.
	var msgs []Msg
	more := false
	switch {
	case q.before > 0:
		msgs, err = s.store.Before(name, q.before, q.limit+1)
		if len(msgs) > q.limit {
			msgs, more = msgs[1:], true
		}
	case q.since == 0:
		msgs, err = s.store.History(name, 0, q.limit+1)
		if len(msgs) > q.limit {
			msgs, more = msgs[1:], true // older ones exist: page back with before
		}
	default:
		msgs, err = s.store.History(name, q.since, q.limit+1)
		if len(msgs) > q.limit {
			msgs, more = msgs[:q.limit], true
		}
	}
	if err != nil {
		s.cfg.Logger.Error("chat: history", "room", name, "err", err)
		return errMsg("internal", "history unavailable")
	}
	last, _ := s.store.LastID(name)
	if msgs == nil {
		msgs = []Msg{}
	}
	return historyMsg{Type: "history", Room: name, Messages: msgs, Last: last, Epoch: epoch, More: more}
}

// readDMHistory is readHistory for the conversation between identity me
// and the user named name or with identity uid (one conversation of
// me's own, whoever that is): the reply names the partner (dm, dm_id),
// not the conversation's key.
func (s *Server) readDMHistory(me, name, uid string, q historyQuery) any {
	if uid == "" {
		u, ok, err := s.findUser(context.Background(), name, "")
		if err != nil {
			return errMsg("unavailable", "history unavailable, try again")
		}
		if !ok {
			return errMsg("no_such_user", "nobody of that name is here")
		}
		uid = u.ID
	}
	reply := s.readHistory(dmRoom(me, uid), q)
	h, ok := reply.(historyMsg)
	if !ok {
		return reply
	}
	h.Room, h.DM, h.DMID = "", name, uid
	for i := range h.Messages {
		h.Messages[i].Room = ""
	}
	return h
}
