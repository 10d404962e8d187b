package chat

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gnetty/gnetty/codec/jsonmsg"
	"github.com/gnetty/gnetty/layer"
)

// Edits and deletes: the author of a message, and nobody else, changes
// its text or deletes it, in a room or a direct conversation. The change
// runs on the conversation's executor queue (after the posts that came
// before it; the stores may block), is kept by the store (so history and
// restarts show it), and goes to every member of the room, or both users
// of the conversation, on every node, as "edited" or "deleted" with the
// message as it now is.

// onEdit handles {"type":"edit", room or dm/dm_id, id, epoch, msg}.
func (s *Server) onEdit(m *member, in *inMsg) { s.change(m, in, false) }

// onDelete handles {"type":"delete", room or dm/dm_id, id, epoch}.
func (s *Server) onDelete(m *member, in *inMsg) { s.change(m, in, true) }

// Kinds of the layer messages and the wire types of a change.
const (
	kindEdited  = "edited"
	kindDeleted = "deleted"
)

func (s *Server) change(m *member, in *inMsg, del bool) {
	s.m.in.Inc()
	e := Edit{By: m.user.ID, Delete: del, At: time.Now()}
	if !del {
		text, ok := s.messageText(m, in)
		if !ok {
			return
		}
		e.Text = text
	}
	if in.ID == 0 {
		s.refuse(m, "bad_request", "id names the message to change")
		return
	}
	id, epoch := in.ID, in.Epoch
	if in.Room != "" {
		if !m.rooms[in.Room] {
			s.refuse(m, "not_in_room", "join the room first")
			return
		}
		room := in.Room
		s.submitChange(m, room, func() (string, []string, error) { return room, []string{room}, nil }, id, epoch, e)
		return
	}
	name := strings.TrimSpace(in.DM)
	if name == "" && in.DMID == "" || utf8.RuneCountInString(name) > s.cfg.MaxNameLen || len(in.DMID) > maxIDLen {
		s.refuse(m, "bad_request", "room, or dm (a name) or dm_id (an identity), names the conversation")
		return
	}
	me, uid := m.user.ID, in.DMID
	s.submitChange(m, "@"+me, func() (string, []string, error) {
		other := uid
		if name != "" {
			// By name: whoever holds it now (and, with dm_id too, only if
			// that is still the identity).
			u, ok, err := s.findUser(context.Background(), name, uid)
			if err != nil {
				return "", nil, err
			}
			if !ok {
				return "", nil, errNoSuchUser
			}
			other = u.ID
		}
		groups := []string{userGroup(me)}
		if other != me {
			groups = append(groups, userGroup(other))
		}
		return dmRoom(me, other), groups, nil
	}, id, epoch, e)
}

var errNoSuchUser = errors.New("chat: no such user")

// submitChange finds the conversation (where, off the loop), then, on the
// conversation's queue, checks the epoch, edits the stored message and
// tells everyone in it.
func (s *Server) submitChange(m *member, queue string, where func() (key string, groups []string, err error), id uint64, epoch string, e Edit) {
	fail := func(code, msg string) { s.send(m, errMsg(code, msg)) }
	if err := s.exec.Submit(roomKey(queue), func() {
		key, groups, err := where()
		switch {
		case errors.Is(err, errNoSuchUser):
			fail("no_such_user", "nobody of that name is here")
			return
		case err != nil:
			s.cfg.Logger.Warn("chat: change: find user", "err", err)
			fail("unavailable", "not changed: storage unavailable, try again")
			return
		}
		if err := s.exec.Submit(roomKey(key), func() { s.runChange(m, key, groups, id, epoch, e) }); err != nil {
			fail("busy", "server busy, try again")
		}
	}); err != nil {
		fail("busy", "server busy, try again")
	}
}

func (s *Server) runChange(m *member, key string, groups []string, id uint64, epoch string, e Edit) {
	fail := func(code, msg string) { s.send(m, errMsg(code, msg)) }
	if epoch != "" {
		cur, err := s.store.Epoch(key)
		if err != nil {
			fail("unavailable", "not changed: storage unavailable, try again")
			return
		}
		if cur != "" && cur != epoch {
			fail("stale", "that message is from an earlier numbering of the conversation")
			return
		}
	}
	msg, err := s.store.Edit(key, id, e)
	switch {
	case errors.Is(err, ErrNoMessage):
		fail("not_found", "no such message")
		return
	case errors.Is(err, ErrNotAuthor):
		fail("forbidden", "only the author may edit or delete a message")
		return
	case errors.Is(err, ErrDeleted):
		fail("not_found", "that message was deleted")
		return
	case err != nil:
		s.cfg.Logger.Warn("chat: change", "err", err)
		fail("unavailable", "not changed: storage unavailable, try again")
		return
	}
	kind := kindEdited
	if e.Delete {
		kind = kindDeleted
	}
	if strings.HasPrefix(key, "@") {
		msg.Room = "" // the conversation's key is the server's business
	}
	b, _ := jsonmsg.API.Marshal(chatMsg{Type: kind, Msg: msg})
	for _, g := range groups {
		if err := s.layer.GroupSend(g, layer.Message{Text: true, Data: b, Kind: kind}); err != nil {
			s.m.lost.Inc()
		}
	}
}
