package chat

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gnetty/gnetty/handler/ws/ack"
	"github.com/gnetty/gnetty/handler/ws/dispatch"
)

// event is one kind of client message, declared once: its name (the
// "type" field), its cost in tokens of the connection's rate limiter (by
// what it makes the server do: a history request reads up to 500 stored
// messages and writes them back, so it costs more than a post; an ack
// only updates the connection's own retry state), whether it must name a
// room the connection is in, and what handles it (on the connection's
// loop).
type event struct {
	name   string
	cost   int
	inRoom bool // "room" must be one of the connection's (a post may leave it out while the connection is in one room)
	handle func(s *Server, m *member, in *inMsg)
}

var events = []event{
	{name: "user", cost: 1, inRoom: true, handle: (*Server).onPost},
	{name: "dm", cost: 1, handle: (*Server).onDM},
	{name: "typing", cost: 0, handle: (*Server).onTyping}, // a budget of its own (typingRate), dropped past it, never refused
	{name: "join", cost: 1, handle: (*Server).onJoin},     // presence for everyone in the room, and a page of history
	{name: "leave", cost: 1, handle: (*Server).onLeave},
	{name: "history", cost: 3, handle: (*Server).onHistory},
	{name: "edit", cost: 1, handle: (*Server).onEdit},     // the author's own message, in a room or a dm
	{name: "delete", cost: 1, handle: (*Server).onDelete}, // likewise
	{name: "ack", cost: 0, handle: (*Server).onAck},
}

// routes registers every event with the dispatcher: charge, check the
// room, handle.
func (s *Server) routes() {
	for _, ev := range events {
		dispatch.On(s.d, ev.name, func(c *dispatch.Ctx, in *inMsg) error {
			m, _ := memberKey.Get(c.Channel())
			if !s.allow(m, ev.cost) {
				return nil
			}
			if ev.inRoom {
				if in.Room == "" && ev.name == "user" {
					in.Room = m.firstRoom()
				}
				if !m.rooms[in.Room] {
					s.refuse(m, "not_in_room", "join the room first")
					return nil
				}
			}
			ev.handle(s, m, in)
			return nil
		})
	}
}

// firstRoom is the room a post without one goes to: the connection's
// first by name.
func (m *member) firstRoom() string {
	name := ""
	for r := range m.rooms {
		if name == "" || r < name {
			name = r
		}
	}
	return name
}

func (s *Server) onPost(m *member, in *inMsg) {
	s.m.in.Inc()
	text, ok := s.messageText(m, in)
	if !ok || !s.checkCID(m, in.CID) {
		return
	}
	s.submitPost(&post{kind: kindUser, key: in.Room, groups: []string{in.Room}, received: time.Now(), sender: m,
		msg: Msg{Room: in.Room, From: m.user.Name, FromID: m.user.ID, Avatar: m.user.Avatar, Text: text, Time: time.Now().UTC(), CID: in.CID}})
}

func (s *Server) onDM(m *member, in *inMsg) {
	s.m.in.Inc()
	text, ok := s.messageText(m, in)
	if !ok {
		return
	}
	to := strings.TrimSpace(in.To)
	if to == "" && in.ToID == "" || utf8.RuneCountInString(to) > s.cfg.MaxNameLen || len(in.ToID) > maxIDLen {
		s.refuse(m, "bad_request", "to (a name) or to_id (an identity) names the user the message is for")
		return
	}
	if !s.checkCID(m, in.CID) {
		return
	}
	s.sendDM(m, to, in.ToID, text, in.CID, time.Now())
}

// onTyping relays a typing notice: to a room's other connections, or,
// with to or to_id and no room, to the other user of a direct
// conversation.
func (s *Server) onTyping(m *member, in *inMsg) {
	if in.Room == "" && (in.To != "" || in.ToID != "") {
		to := strings.TrimSpace(in.To)
		if utf8.RuneCountInString(to) > s.cfg.MaxNameLen || len(in.ToID) > maxIDLen {
			s.refuse(m, "bad_request", "to (a name) or to_id (an identity) names the user the message is for")
			return
		}
		s.relayDMTyping(m, to, in.ToID, time.Now())
		return
	}
	if !m.rooms[in.Room] {
		s.refuse(m, "not_in_room", "join the room first")
		return
	}
	s.relayTyping(m, in.Room, time.Now())
}

func (s *Server) onJoin(m *member, in *inMsg) {
	s.join(m, in.Room, historyQuery{since: in.Since, epoch: in.Epoch})
}

func (s *Server) onLeave(m *member, in *inMsg) { s.leave(m, in.Room) }

func (s *Server) onHistory(m *member, in *inMsg) {
	if in.DM == "" && in.DMID == "" && !m.rooms[in.Room] {
		s.refuse(m, "not_in_room", "join the room first")
		return
	}
	q := historyQuery{since: in.Since, before: in.Before, limit: HistoryPageMax, epoch: in.Epoch}
	if in.Limit > 0 && in.Limit < HistoryPageMax {
		q.limit = in.Limit
	}
	if in.Before > 0 && in.Since > 0 {
		s.refuse(m, "bad_request", "give since or before, not both")
		return
	}
	if in.DM != "" || in.DMID != "" {
		if len(in.DMID) > maxIDLen || utf8.RuneCountInString(in.DM) > s.cfg.MaxNameLen {
			s.refuse(m, "bad_request", "dm names the other user, dm_id its identity")
			return
		}
		if !s.startHistory(m) {
			return
		}
		me, name, uid := m.user.ID, strings.TrimSpace(in.DM), in.DMID
		s.sendHistory(m, func() any { return s.readDMHistory(me, name, uid, q) })
		return
	}
	if !s.startHistory(m) {
		return
	}
	room := in.Room
	s.sendHistory(m, func() any { return s.readHistory(room, q) })
}

func (s *Server) onAck(m *member, in *inMsg) {
	m.acks.Store(true)
	s.mu.Lock()
	current := s.epochs[in.Room]
	s.mu.Unlock()
	if in.Epoch != "" && current != "" && in.Epoch != current {
		return // an ack of an older numbering: its ids are not today's
	}
	if t := ack.FromChannel(m.ch); t != nil {
		t.AckUpTo(ackGroup(in.Room, current), in.ID)
	}
}

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
