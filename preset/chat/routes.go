package chat

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gnetty/gnetty/handler/ws/ack"
	"github.com/gnetty/gnetty/handler/ws/dispatch"
)

func (s *Server) routes() {
	dispatch.On(s.d, "user", func(c *dispatch.Ctx, in *inMsg) error {
		m, _ := memberKey.Get(c.Channel())
		s.m.in.Inc()
		if !s.allow(m, "user") {
			return nil
		}
		text, ok := s.messageText(m, in)
		if !ok {
			return nil
		}
		name := in.Room
		if name == "" {
			for r := range m.rooms {
				if name == "" || r < name {
					name = r
				}
			}
		}
		if !m.rooms[name] {
			s.refuse(m, "not_in_room", "join the room first")
			return nil
		}
		if !s.checkCID(m, in.CID) {
			return nil
		}
		s.submitPost(&post{kind: kindUser, key: name, groups: []string{name}, received: time.Now(), sender: m,
			msg: Msg{Room: name, From: m.user.Name, FromID: m.user.ID, Avatar: m.user.Avatar, Text: text, Time: time.Now().UTC(), CID: in.CID}})
		return nil
	})
	dispatch.On(s.d, "dm", func(c *dispatch.Ctx, in *inMsg) error {
		m, _ := memberKey.Get(c.Channel())
		s.m.in.Inc()
		if !s.allow(m, "dm") {
			return nil
		}
		text, ok := s.messageText(m, in)
		if !ok {
			return nil
		}
		to := strings.TrimSpace(in.To)
		if to == "" && in.ToID == "" || utf8.RuneCountInString(to) > s.cfg.MaxNameLen || len(in.ToID) > maxIDLen {
			s.refuse(m, "bad_request", "to (a name) or to_id (an identity) names the user the message is for")
			return nil
		}
		if !s.checkCID(m, in.CID) {
			return nil
		}
		s.sendDM(m, to, in.ToID, text, in.CID, time.Now())
		return nil
	})
	dispatch.On(s.d, "typing", func(c *dispatch.Ctx, in *inMsg) error {
		m, _ := memberKey.Get(c.Channel())
		if !m.rooms[in.Room] {
			s.refuse(m, "not_in_room", "join the room first")
			return nil
		}
		s.relayTyping(m, in.Room, time.Now())
		return nil
	})
	dispatch.On(s.d, "join", func(c *dispatch.Ctx, in *inMsg) error {
		m, _ := memberKey.Get(c.Channel())
		if s.allow(m, "join") {
			s.join(m, in.Room, historyQuery{since: in.Since, epoch: in.Epoch})
		}
		return nil
	})
	dispatch.On(s.d, "leave", func(c *dispatch.Ctx, in *inMsg) error {
		m, _ := memberKey.Get(c.Channel())
		if s.allow(m, "leave") {
			s.leave(m, in.Room)
		}
		return nil
	})
	dispatch.On(s.d, "history", func(c *dispatch.Ctx, in *inMsg) error {
		m, _ := memberKey.Get(c.Channel())
		if !s.allow(m, "history") {
			return nil
		}
		if in.DM == "" && in.DMID == "" && !m.rooms[in.Room] {
			s.refuse(m, "not_in_room", "join the room first")
			return nil
		}
		q := historyQuery{since: in.Since, before: in.Before, limit: HistoryPageMax, epoch: in.Epoch}
		if in.Limit > 0 && in.Limit < HistoryPageMax {
			q.limit = in.Limit
		}
		if in.Before > 0 && in.Since > 0 {
			s.refuse(m, "bad_request", "give since or before, not both")
			return nil
		}
		if !s.startHistory(m) {
			return nil
		}
		if in.DM != "" || in.DMID != "" {
			if len(in.DMID) > maxIDLen || utf8.RuneCountInString(in.DM) > s.cfg.MaxNameLen {
				m.history.Store(false)
				s.refuse(m, "bad_request", "dm names the other user, dm_id its identity")
				return nil
			}
			me, name, uid := m.user.ID, strings.TrimSpace(in.DM), in.DMID
			s.sendHistory(m, func() any { return s.readDMHistory(me, name, uid, q) })
		} else {
			room := in.Room
			s.sendHistory(m, func() any { return s.readHistory(room, q) })
		}
		return nil
	})
	dispatch.On(s.d, "ack", func(c *dispatch.Ctx, in *inMsg) error {
		m, _ := memberKey.Get(c.Channel())
		m.acks.Store(true)
		s.mu.Lock()
		current := s.epochs[in.Room]
		s.mu.Unlock()
		if in.Epoch != "" && current != "" && in.Epoch != current {
			return nil // an ack of an older numbering: its ids are not today's
		}
		if t := ack.FromChannel(c.Channel()); t != nil {
			t.AckUpTo(ackGroup(in.Room, current), in.ID)
		}
		return nil
	})
}

// messageText returns a user or dm message's text, trimmed, or refuses
// it (too_long) when it is empty or over the limit.
func (s *Server) messageText(m *member, in *inMsg) (string, bool) {
	text := strings.TrimSpace(in.Msg)
	if text == "" || utf8.RuneCountInString(text) > s.cfg.MaxMessageLen {
		s.refuse(m, "too_long", fmt.Sprintf("messages are 1 to %d characters", s.cfg.MaxMessageLen))
		return "", false
	}
	return text, true
}

// checkCID refuses (bad_request) a cid that is too long or holds control
// characters.
func (s *Server) checkCID(m *member, cid string) bool {
	if !validCID(cid) {
		s.refuse(m, "bad_request", fmt.Sprintf("cid is at most %d characters, without control characters", maxCIDLen))
		return false
	}
	return true
}
