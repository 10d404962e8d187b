package chat

import (
	"strings"
	"time"

	"github.com/gnetty/gnetty/codec/jsonmsg"
	"github.com/gnetty/gnetty/handler/layer"
)

// Direct messages: a conversation between two users is numbered and
// stored like a room, under a key no room name can be (rooms are letters,
// digits, - and _), and delivered to every connection of both users
// through their user groups, on every node.

// userGroupPrefix names a user's layer group: all of that user's
// connections, on every node.
const userGroupPrefix = "user:"

func userGroup(name string) string { return userGroupPrefix + nameKey(name) }

// dmRoom is the store key of the conversation between a and b, the same
// both ways round and without case ("@alice\nbob"; names hold no control
// characters).
func dmRoom(a, b string) string {
	a, b = nameKey(a), nameKey(b)
	if b < a {
		a, b = b, a
	}
	return "@" + a + "\n" + b
}

// sendDM finds the recipient and posts the message to the conversation,
// on its executor queue (the store may block).
func (s *Server) sendDM(m *member, to, text, cid string, received time.Time) {
	from := m.user
	key := dmRoom(from.Name, to)
	if err := s.exec.Submit(roomKey(key), func() {
		u, ok, err := s.store.FindUser(to)
		switch {
		case err != nil:
			s.cfg.Logger.Warn("chat: dm: find user", "err", err)
			s.send(m, errMsg("unavailable", "message not sent: storage unavailable, try again"))
			return
		case !ok:
			s.send(m, errMsg("no_such_user", "nobody of that name has been here"))
			return
		}
		groups := []string{userGroup(from.Name)}
		if nameKey(u.Name) != nameKey(from.Name) {
			groups = append(groups, userGroup(u.Name))
		}
		s.runPost(&post{kind: kindDM, key: key, groups: groups, received: received, sender: m,
			msg: Msg{Room: key, To: u.Name, From: from.Name, Avatar: from.Avatar, Text: text, Time: time.Now().UTC(), CID: cid}})
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

// validCID reports whether a client's message ID is acceptable.
func validCID(cid string) bool {
	return len(cid) <= maxCIDLen && !strings.ContainsFunc(cid, func(r rune) bool { return r < ' ' || r == 0x7f })
}
