package chat

func validRoom(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for _, r := range name {
		if !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// out messages
type presence struct {
	Type     string `json:"type"`
	Msg      string `json:"msg"`
	Room     string `json:"room"`
	UserList []User `json:"user_list"`
	Count    int    `json:"count"`
}

type chatMsg struct {
	Type string `json:"type"`
	Msg
}

type historyMsg struct {
	Type string `json:"type"`
	Room string `json:"room,omitempty"`
	// DM names the other user of a direct conversation's history.
	DM       string `json:"dm,omitempty"`
	DMID     string `json:"dm_id,omitempty"`
	Messages []Msg  `json:"messages"`
	Last     uint64 `json:"last"`
	// Epoch of the room's numbering: a client whose epoch differs starts
	// the room over (its ids are from before the store lost its data).
	Epoch string `json:"epoch"`
	// More: after a page asked with since > 0, newer messages follow;
	// after the newest page (since 0) or one asked with before, older
	// ones exist.
	More bool `json:"more"`
}

type notice struct {
	Type string `json:"type"`
	Msg  string `json:"msg"`
	User *User  `json:"user,omitempty"`
}

// in messages
type inMsg struct {
	Type  string `json:"type"`
	Msg   string `json:"msg"`
	Room  string `json:"room"`
	Since uint64 `json:"since"`
	ID    uint64 `json:"id"`
	// history paging
	Before uint64 `json:"before"`
	Limit  int    `json:"limit"`
	// Epoch is the client's idea of the room's epoch (history, join, ack).
	Epoch string `json:"epoch"`
	// CID is the client's own ID for a user or dm message.
	CID string `json:"cid"`
	// To is a dm's recipient; DM names the other user of the direct
	// conversation whose history is asked.
	To string `json:"to"`
	DM string `json:"dm"`
	// ToID and DMID name them by identity (User.ID) instead, or as well.
	ToID string `json:"to_id"`
	DMID string `json:"dm_id"`
}

// maxIDLen bounds an identity in a message.
const maxIDLen = 128

// typingMsg says name is typing in room, or in the direct conversation
// with dm (the sender's name; dm_id its identity).
type typingMsg struct {
	Type string `json:"type"`
	Room string `json:"room,omitempty"`
	DM   string `json:"dm,omitempty"`
	DMID string `json:"dm_id,omitempty"`
	Name string `json:"name"`
}

// maxCIDLen bounds a client's message ID.
const maxCIDLen = 64

// errorMsg is an error reply; its fields keep their order on the wire.
type errorMsg struct {
	Type string `json:"type"`
	Code string `json:"code"`
	Msg  string `json:"msg"`
}

func errMsg(code, msg string) errorMsg { return errorMsg{Type: "error", Code: code, Msg: msg} }
