package chat

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/gnetty/gnetty/codec/jsonmsg"
	"github.com/gnetty/gnetty/layer"
	"github.com/gnetty/gnetty/preset/websocket"
)

// A session's connections form a layer group, so that a logout on any
// node reaches them on every node.
const sessionGroupPrefix = "session:"

// sessionKeyOf names a session without revealing its ID (group names
// travel through Redis): the first 128 bits of its SHA-256, in hex.
func sessionKeyOf(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:16])
}

func sessionGroup(key string) string { return sessionGroupPrefix + key }

// endSession tells every node that session id has ended: its members get
// a system notice, then each node closes its connections of that session
// (in track, which sees the group message on every node).
func (s *Server) endSession(id string) {
	b, _ := jsonmsg.API.Marshal(notice{Type: "system", Msg: "logged out"})
	if err := s.layer.GroupSend(sessionGroup(sessionKeyOf(id)), layer.Message{Text: true, Data: b}); err != nil {
		s.m.lost.Inc()
	}
}

// closeSession closes this node's connections of the session named key
// (1000, "logged out").
func (s *Server) closeSession(key string) {
	s.mu.Lock()
	var ms []*member
	for m := range s.bySession[key] {
		ms = append(ms, m)
	}
	s.mu.Unlock()
	for _, m := range ms {
		m.conn.Close(websocket.StatusNormalClosure, "logged out")
	}
}

func cleanAvatar(a string) string {
	for _, ok := range Avatars {
		if a == ok {
			return a
		}
	}
	return Avatars[0]
}
