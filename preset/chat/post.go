package chat

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/gnetty/gnetty/handler/dispatch"
	"github.com/gnetty/gnetty/handler/layer"
)

// post numbers, stores and broadcasts a message, in order per room.
func (s *Server) post(m *member, name, text string, received time.Time) {
	from := m.user
	if s.rstore != nil {
		s.postRedis(m, name, text, received)
		return
	}
	if err := s.exec.Submit(roomKey(name), func() {
		s.mu.Lock()
		r := s.rooms[name]
		s.mu.Unlock()
		if r == nil {
			// Everyone left since the post was queued: number it from the
			// store, which holds every earlier post of the room (they ran
			// before this job on the room's queue).
			r = &room{name: name}
		}
		if !r.loaded {
			r.last, _ = s.store.LastID(name)
			r.epoch, _ = s.store.Epoch(name)
			if r.epoch == "" {
				r.epoch = newEpoch()
			}
			r.loaded = true
		}
		r.last++
		msg := Msg{ID: r.last, Epoch: r.epoch, Room: name, From: from.Name, Avatar: from.Avatar, Text: text, Time: time.Now().UTC()}
		if err := s.store.Append(msg); err != nil {
			r.last--
			s.cfg.Logger.Error("chat: store", "room", name, "err", err)
			s.send(m.ch, errMsg("internal", "message not stored"))
			return
		}
		s.broadcast(name, chatMsg{Type: "user", Msg: msg})
		s.m.delivery.Observe(time.Since(received).Seconds())
	}); err != nil {
		s.send(m.ch, errMsg(dispatch.CodeBusy, "server busy, try again"))
	}
}

// seqOf tells the Redis layer a chat message's place in its room's
// stream (presence and other notices are not numbered).
func seqOf(group string, m layer.Message) (string, uint64, bool) {
	if strings.HasPrefix(group, sessionGroupPrefix) || !bytes.HasPrefix(m.Data, []byte(`{"type":"user"`)) {
		return "", 0, false
	}
	var head struct {
		ID    uint64 `json:"id"`
		Epoch string `json:"epoch"`
	}
	if json.Unmarshal(m.Data, &head) != nil || head.ID == 0 {
		return "", 0, false
	}
	return head.Epoch, head.ID, true
}

// logHead is a room's current epoch and last id, for the Redis layer.
func (s *Server) logHead(_ context.Context, room string) (string, uint64, error) {
	epoch, err := s.rstore.Epoch(room)
	if err != nil {
		return "", 0, err
	}
	last, err := s.rstore.LastID(room)
	return epoch, last, err
}

// readLog reads a room's stream after id, as published messages, for the
// Redis layer to fill a gap: the stream is the source of truth.
func (s *Server) readLog(ctx context.Context, room string, after uint64) ([]layer.Message, error) {
	msgs, err := s.rstore.History(room, after, HistoryPageMax)
	if err != nil {
		return nil, err
	}
	out := make([]layer.Message, 0, len(msgs))
	for _, msg := range msgs {
		b, _ := json.Marshal(chatMsg{Type: "user", Msg: msg})
		out = append(out, layer.Message{Text: true, Data: b})
	}
	return out, nil
}

// postRedis numbers, stores and publishes a message atomically in Redis;
// every node, this one included, delivers it from its subscription, so all
// see a room's messages in sequence order.
func (s *Server) postRedis(m *member, name, text string, received time.Time) {
	from, ch := m.user, m.ch
	if err := s.exec.Submit(roomKey(name), func() {
		msg := Msg{Room: name, From: from.Name, Avatar: from.Avatar, Text: text, Time: time.Now().UTC()}
		wire, _ := json.Marshal(chatMsg{Type: "user", Msg: msg})
		stored, _ := json.Marshal(msg)
		if _, err := s.rstore.post(context.Background(), name, s.rlayer.GroupTopic(name), wire, stored); err != nil {
			s.m.lost.Inc()
			s.cfg.Logger.Warn("chat: redis post failed", "room", name, "err", err)
			s.send(ch, errMsg("unavailable", "message not sent: storage unavailable, try again"))
			return
		}
		s.m.broadcasts.Inc()
		s.m.delivery.Observe(time.Since(received).Seconds())
	}); err != nil {
		s.send(ch, errMsg(dispatch.CodeBusy, "server busy, try again"))
	}
}
