package chat

import (
	"fmt"
	"hash/fnv"
	"sort"

	"github.com/gnetty/gnetty/codec/jsonmsg"
	"github.com/gnetty/gnetty/handler/ws/dispatch"
	"github.com/gnetty/gnetty/layer"
	"github.com/gnetty/gnetty/pipeline"
)

// A room's members on this node are its layer group: the one record of
// who is in a room here (rooms hold no list of their own); the backend
// adds the other nodes' for the online lists.

// RoomInfo is a room of the directory: its name and how many distinct
// users are in it, on every node.
type RoomInfo struct {
	Name    string `json:"name"`
	Members int    `json:"members"`
}

// maxDirectory bounds the directory's length: the busiest rooms first.
const maxDirectory = 200

// RoomDirectory lists the rooms that have members, on every node with
// Redis, the busiest first (then by name), at most 200. It may block on
// Redis: call it off the event loops.
func (s *Server) RoomDirectory() ([]RoomInfo, error) {
	rooms, err := s.backend.rooms()
	if err != nil {
		return nil, err
	}
	sort.Slice(rooms, func(i, j int) bool {
		if rooms[i].Members != rooms[j].Members {
			return rooms[i].Members > rooms[j].Members
		}
		return rooms[i].Name < rooms[j].Name
	})
	if len(rooms) > maxDirectory {
		rooms = rooms[:maxDirectory]
	}
	if rooms == nil {
		rooms = []RoomInfo{}
	}
	return rooms, nil
}

// Rooms returns the number of rooms this node keeps state for: those
// with members here (a room is forgotten when its last member leaves; its
// history stays in the store). Safe for concurrent use.
func (s *Server) Rooms() int {
	return len(s.localRooms())
}

func roomKey(name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return h.Sum64()
}

// broadcast sends v to every member of room, on every node, encoded once
// per node.
func (s *Server) broadcast(room string, v any) []byte {
	b, _ := jsonmsg.API.Marshal(v)
	if err := s.layer.GroupSend(room, layer.Message{Text: true, Data: b}); err != nil {
		s.m.lost.Inc()
	}
	s.m.broadcasts.Inc()
	return b
}

// announce tells room who came or went, with the online list (the union
// over nodes with Redis). It may block on Redis: call it off the loop.
func (s *Server) announce(room, typ, name string) {
	list, count, err := s.backend.online(room)
	if err != nil {
		s.cfg.Logger.Warn("chat: presence", "room", room, "err", err)
	}
	if list == nil || count > maxUserList {
		list = []User{}
	}
	s.broadcast(room, presence{Type: typ, Msg: name, Room: room, UserList: list, Count: count})
}

// capList sorts an online list by name and keeps the first maxUserList.
func capList(list []User) []User {
	sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
	if len(list) > maxUserList {
		list = list[:maxUserList]
	}
	return list
}

// maxUserList caps the user_list of presence events (count stays exact).
// In rooms bigger than that, presence broadcasts carry the count only and
// the newcomer alone gets the list: a full list on every join would make a
// big room's presence traffic quadratic in bytes.
const maxUserList = 100

// join adds m to room name and tells everyone; it answers the member with
// an error when a limit refuses it.
func (s *Server) join(m *member, name string, q historyQuery) bool {
	if !validRoom(name) {
		s.send(m, errMsg("bad_room", "room names are 1 to 64 letters, digits, - or _"))
		return false
	}
	if m.rooms[name] {
		return true
	}
	if len(m.rooms) >= s.cfg.MaxRoomsPerConn {
		s.send(m, errMsg("too_many_rooms", fmt.Sprintf("at most %d rooms per connection", s.cfg.MaxRoomsPerConn)))
		return false
	}
	s.mu.Lock() // the check and the add as one, against other loops' joins
	if s.layer.Members(name) >= s.cfg.MaxMembersPerRoom {
		s.mu.Unlock()
		s.send(m, errMsg("room_full", fmt.Sprintf("room %s is full", name)))
		return false
	}
	_ = s.layer.GroupAdd(name, m.ch)
	s.mu.Unlock()
	m.rooms[name] = true
	conn := connName(m.ch.ID())
	u := m.user
	if err := s.exec.Submit(roomKey(name), func() {
		if err := s.backend.enter(name, conn, u); err != nil {
			s.cfg.Logger.Warn("chat: presence", "room", name, "err", err)
		}
		s.announce(name, "login", u.Name)
	}); err != nil {
		s.send(m, errMsg(dispatch.CodeBusy, "server busy, try again"))
	}
	// The join's own backlog follows the announcement on the room's queue
	// (a join costs tokens and rooms per connection are capped).
	// A join with since (a reconnect resuming the room) gets the page after
	// it; a fresh one the last HistoryOnJoin messages.
	q.limit = s.cfg.HistoryOnJoin
	if q.since > 0 {
		q.limit = HistoryPageMax
	}
	if err := s.exec.Submit(roomKey(name), func() {
		reply := s.readHistory(name, q)
		if h, ok := reply.(historyMsg); ok {
			if b, ok := s.layer.(interface{ Baseline(string, string, uint64) }); ok {
				b.Baseline(name, h.Epoch, h.Last) // the member has the log up to here
			}
		}
		s.send(m, reply)
	}); err != nil {
		s.send(m, errMsg(dispatch.CodeBusy, "server busy, try again"))
	}
	return true
}

func (s *Server) leave(m *member, name string) {
	if !m.rooms[name] {
		return
	}
	delete(m.rooms, name)
	s.mu.Lock()
	_ = s.layer.GroupDiscard(name, m.ch)
	if s.layer.Members(name) == 0 {
		delete(s.epochs, name) // the room is forgotten here; its history stays in the store
	}
	s.mu.Unlock()
	conn := connName(m.ch.ID())
	who := m.user.Name
	_ = s.exec.Submit(roomKey(name), func() {
		_ = s.backend.exit(name, conn)
		s.announce(name, "logout", who)
	})
}

// localRooms returns the rooms with members on this node.
func (s *Server) localRooms() []string {
	var out []string
	for _, g := range s.layer.Groups() {
		if validRoom(g) { // not a session's or a user's group
			out = append(out, g)
		}
	}
	return out
}

// members returns room's members on this node.
func (s *Server) members(room string) []*member {
	var out []*member
	s.layer.Each(room, func(ch *pipeline.Channel) {
		if m, ok := memberKey.Get(ch); ok {
			out = append(out, m)
		}
	})
	return out
}
