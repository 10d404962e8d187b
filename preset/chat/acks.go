package chat

import (
	"github.com/gnetty/gnetty/handler/ws/ack"
	"github.com/gnetty/gnetty/layer"
	"github.com/gnetty/gnetty/pipeline"
	"github.com/gnetty/gnetty/preset/websocket"
)

// track keeps every room message this node delivered pending for the
// local members that ack, so it is sent again (same id) until acked; it
// sees messages from this node and, with Redis, from every other. The
// message's labels say what it is: its data is never parsed here.
func (s *Server) track(group string, m layer.Message, sentTo []*pipeline.Channel) {
	switch {
	case m.Kind == kindLogout:
		// The session's connections on this node had the notice; now
		// they close.
		for _, ch := range sentTo {
			if mm, ok := memberKey.Get(ch); ok {
				mm.conn.Close(websocket.StatusNormalClosure, "logged out")
			}
		}
		return
	case m.Kind != kindUser || m.Seq == 0:
		return // direct messages are recovered with history, not retried
	}
	s.mu.Lock()
	if s.layer.Members(group) > 0 { // a room everyone just left is forgotten, epoch included
		s.epochs[group] = m.Epoch
	}
	s.mu.Unlock()
	var data []byte
	ag, id := ackGroup(group, m.Epoch), m.Seq
	for _, ch := range sentTo {
		if mm, ok := memberKey.Get(ch); !ok || !mm.acks.Load() {
			continue
		}
		if data == nil {
			data = append([]byte(nil), m.Data...) // kept by the trackers
		}
		ch.Execute(func() {
			if t := ack.FromChannel(ch); t != nil {
				t.Track(ag, id, data)
			}
		})
	}
}

// ackGroup is the ack tracker's group of a room's messages in one epoch,
// so an ack of an old numbering can never acknowledge a new message.
func ackGroup(room, epoch string) string { return room + "\x00" + epoch }
