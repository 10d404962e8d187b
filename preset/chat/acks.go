package chat

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/gnetty/gnetty/handler/ack"
	"github.com/gnetty/gnetty/handler/layer"
	"github.com/gnetty/gnetty/pipeline"
)

// track keeps every chat message this node delivered pending for the
// local members that ack, so it is sent again (same id) until acked; it
// sees messages from this node and, with Redis, from every other.
func (s *Server) track(group string, m layer.Message) {
	if id, ok := strings.CutPrefix(group, sessionGroupPrefix); ok {
		s.closeSession(id)
		return
	}
	if !bytes.Contains(m.Data, []byte(`"type":"user"`)) {
		return
	}
	var ackers []*pipeline.Channel
	s.mu.Lock()
	if r := s.rooms[group]; r != nil {
		for mm := range r.members {
			if mm.acks.Load() {
				ackers = append(ackers, mm.ch)
			}
		}
	}
	s.mu.Unlock()
	if len(ackers) == 0 {
		return // nobody acks: no need to look inside the message
	}
	var head struct {
		Type  string `json:"type"`
		ID    uint64 `json:"id"`
		Epoch string `json:"epoch"`
	}
	if json.Unmarshal(m.Data, &head) != nil || head.Type != "user" || head.ID == 0 {
		return
	}
	s.mu.Lock()
	if s.rooms[group] != nil { // a room everyone just left is forgotten, epoch included
		s.epochs[group] = head.Epoch
	}
	s.mu.Unlock()
	data := append([]byte(nil), m.Data...)
	ag := ackGroup(group, head.Epoch)
	for _, ch := range ackers {
		ch.Execute(func() {
			if t := ack.FromChannel(ch); t != nil {
				t.Track(ag, head.ID, data)
			}
		})
	}
}

// ackGroup is the ack tracker's group of a room's messages in one epoch,
// so an ack of an old numbering can never acknowledge a new message.
func ackGroup(room, epoch string) string { return room + "\x00" + epoch }
