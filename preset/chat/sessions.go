package chat

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/gnetty/gnetty/codec/jsonmsg"
	"github.com/gnetty/gnetty/layer"
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

// kindLogout labels the layer message that ends a session: its members
// get the notice, then each node closes its connections of the session
// (track, which sees the message and the members it went to).
const kindLogout = "logout"

// endSession tells every node that session id has ended.
func (s *Server) endSession(id string) {
	b, _ := jsonmsg.API.Marshal(notice{Type: "system", Msg: "logged out"})
	if err := s.layer.GroupSend(sessionGroup(sessionKeyOf(id)), layer.Message{Text: true, Data: b, Kind: kindLogout}); err != nil {
		s.m.lost.Inc()
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
