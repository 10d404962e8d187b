package chat

import (
	"context"
	"strings"
	"time"

	"github.com/gnetty/gnetty/codec/jsonmsg"
	"github.com/gnetty/gnetty/layer"
)

// Direct messages: a conversation between two identities (User.ID) is
// numbered and stored like a room, under a key no room name can be (rooms
// are letters, digits, - and _), and delivered to every connection of
// both users through their user groups, on every node. A recipient is
// named by its display name (resolved through the directory to whoever
// holds the name now), by its identity (to_id), or by both (the name must
// still be that identity's: a reply never reaches a newcomer who took the
// name).

// userGroupPrefix names a user's layer group: all of that identity's
// connections, on every node.
const userGroupPrefix = "user:"

func userGroup(uid string) string { return userGroupPrefix + uid }

// dmRoom is the store key of the conversation between identities a and
// b, the same both ways round ("@a:...\ng:..."; identities hold no
// newline).
func dmRoom(a, b string) string {
	if b < a {
		a, b = b, a
	}
	return "@" + a + "\n" + b
}

// findUser resolves a direct message's recipient from a name, an
// identity, or both; ok false when nobody is there. It blocks.
func (s *Server) findUser(ctx context.Context, name, uid string) (User, bool, error) {
	if name != "" {
		v, err := s.dir.owner(ctx, nameKey(name))
		if err != nil {
			return User{}, false, err
		}
		h := decodeHolder(v)
		live, err := s.holds(ctx, h)
		if err != nil || !live || uid != "" && h.UID != uid {
			return User{}, false, err
		}
		u := User{ID: h.UID, Name: h.Name}
		if u.Name == "" {
			u.Name = name
		}
		return u, true, nil
	}
	switch {
	case strings.HasPrefix(uid, accountPrefix):
		a, ok, err := s.dir.account(ctx, uid)
		return User{ID: uid, Name: a.Name}, ok, err
	case strings.HasPrefix(uid, tokenPrefix) && len(uid) > len(tokenPrefix):
		return User{ID: uid, Name: uid[len(tokenPrefix):]}, true, nil
	}
	return User{}, false, nil // a guest is found by its name
}

// sendDM finds the recipient and posts the message to the conversation,
// on its executor queue (the stores may block).
func (s *Server) sendDM(m *member, to, toID, text, cid string, received time.Time) {
	from := m.user
	if err := s.exec.Submit(roomKey("@"+from.ID), func() {
		u, ok, err := s.findUser(context.Background(), to, toID)
		switch {
		case err != nil:
			s.cfg.Logger.Warn("chat: dm: find user", "err", err)
			s.send(m, errMsg("unavailable", "message not sent: storage unavailable, try again"))
			return
		case !ok:
			s.send(m, errMsg("no_such_user", "nobody of that name is here"))
			return
		}
		groups := []string{userGroup(from.ID)}
		if u.ID != from.ID {
			groups = append(groups, userGroup(u.ID))
		}
		key := dmRoom(from.ID, u.ID)
		// Numbered on the conversation's own queue, in arrival order.
		if err := s.exec.Submit(roomKey(key), func() {
			s.runPost(&post{kind: kindDM, key: key, groups: groups, received: received, sender: m,
				msg: Msg{Room: key, To: u.Name, ToID: u.ID, From: from.Name, FromID: from.ID, Avatar: from.Avatar, Text: text, Time: time.Now().UTC(), CID: cid}})
		}); err != nil {
			s.send(m, errMsg("busy", "server busy, try again"))
		}
	}); err != nil {
		s.send(m, errMsg("busy", "server busy, try again"))
	}
}

// Typing notices have their own budget per connection, apart from the
// message tokens: a burst of typingBurst, then one a second; past it they
// are dropped, never refused (a page sends one every few seconds while
// keys are pressed, and again after each message it sends).
const (
	typingRate  = 1
	typingBurst = 3
)

// relayTyping tells the room's other connections that m is typing. It is
// never stored and costs no message tokens. Call it on m's loop.
func (s *Server) relayTyping(m *member, room string, now time.Time) {
	if !m.typing.AllowN(now, 1) {
		return
	}
	b, _ := jsonmsg.API.Marshal(typingMsg{Type: "typing", Room: room, Name: m.user.Name})
	_ = s.layer.GroupSendExcept(room, s.layer.Name(m.ch), layer.Message{Text: true, Data: b, Kind: "typing"})
}

// relayDMTyping tells the other user of a direct conversation that m is
// typing, on every connection of theirs, on every node. A name is
// resolved off the loop (the directory may be Redis); an identity alone
// needs no lookup. Past the typing budget, or for nobody, nothing is sent.
func (s *Server) relayDMTyping(m *member, to, toID string, now time.Time) {
	if !m.typing.AllowN(now, 1) {
		return
	}
	b, _ := jsonmsg.API.Marshal(typingMsg{Type: "typing", DM: m.user.Name, DMID: m.user.ID, Name: m.user.Name})
	deliver := func(uid string) {
		if uid != "" && uid != m.user.ID {
			_ = s.layer.GroupSend(userGroup(uid), layer.Message{Text: true, Data: b, Kind: "typing"})
		}
	}
	if to == "" {
		deliver(toID)
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if u, ok, err := s.findUser(ctx, to, toID); err == nil && ok {
			deliver(u.ID)
		}
	}()
}

// validCID reports whether a client's message ID is acceptable.
func validCID(cid string) bool {
	return len(cid) <= maxCIDLen && !strings.ContainsFunc(cid, func(r rune) bool { return r < ' ' || r == 0x7f })
}
