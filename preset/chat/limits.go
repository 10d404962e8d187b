package chat

import (
	"fmt"
	"time"

	"github.com/gnetty/gnetty/handler/ws/dispatch"
	"github.com/gnetty/gnetty/preset/websocket"
)

// Refusals: a connection whose messages are refused more than
// maxRefusals times within refusalWindow is closed with 1008, so a client
// that floods cannot keep the server busy writing it error replies.
const (
	maxRefusals   = 50
	refusalWindow = 10 * time.Second
)

// HistoryPageMax is the most messages one history reply carries; a
// client pages through older ones (see PROTOCOL.md).
const HistoryPageMax = 500

// allow charges m cost tokens (events declares each message's) and
// answers rate_limited when they are spent. Call it on m's event loop.
func (s *Server) allow(m *member, cost int) bool {
	if cost == 0 || m.limiter.AllowN(time.Now(), cost) {
		return true
	}
	s.m.limited.Inc()
	s.refuse(m, "rate_limited", fmt.Sprintf("too many messages: at most %.0f a second", s.cfg.MessagesPerSecond))
	return false
}

// refuse answers m with an error and counts it against m's refusals.
// Call it on m's event loop.
func (s *Server) refuse(m *member, code, msg string) {
	now := time.Now()
	if now.Sub(m.refusedSince) > refusalWindow {
		m.refusedSince, m.refused = now, 0
	}
	m.refused++
	if m.refused > maxRefusals {
		if m.refused == maxRefusals+1 {
			s.m.abusive.Inc()
			s.cfg.Logger.Info("chat: closing a connection that keeps sending refused messages", "user", m.user.Name, "remote", m.ch.RemoteAddr())
			m.conn.Close(websocket.StatusPolicyViolation, "too many refused messages")
		}
		return
	}
	s.send(m, errMsg(code, msg))
}

// startHistory claims m's one history slot: a connection has at most one
// history request being read and written at a time, and none while its
// output is backed up, so one client's backlog is bounded by one page.
func (s *Server) startHistory(m *member) bool {
	if !m.ch.IsWritable() {
		s.refuse(m, dispatch.CodeBusy, "read what was sent before asking for more history")
		return false
	}
	if !m.history.CompareAndSwap(false, true) {
		s.refuse(m, dispatch.CodeBusy, "one history request at a time")
		return false
	}
	return true
}
