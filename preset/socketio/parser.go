package socketio

import (
	"bytes"
	"errors"
	"strconv"
	"sync"

	"github.com/gnetty/gnetty/codec/jsonmsg"
	"github.com/gnetty/gnetty/codec/wsframe"
)

// Socket.IO v5 packet types.
const (
	pConnect      = '0'
	pDisconnect   = '1'
	pEvent        = '2'
	pAck          = '3'
	pConnectError = '4'
	pBinaryEvent  = '5'
	pBinaryAck    = '6'
)

// errParse is any malformed Socket.IO packet: the client's connection is
// closed with reason "parse error", as the Node server does.
var errParse = errors.New("socketio: malformed packet")

// maxAttachments bounds the binary attachments one packet may announce.
const maxAttachments = 64

// packet is one decoded Socket.IO packet. data is raw JSON (empty when
// absent) and points into the engine packet it came from.
type packet struct {
	typ         byte
	attachments int
	nsp         string
	id          int64 // -1: none
	data        []byte
}

var reserved = map[string]bool{
	"connect": true, "connect_error": true, "disconnect": true,
	"disconnecting": true, "newListener": true, "removeListener": true,
}

// decodePacket parses the text form
//
//	<type>[<attachments>-][<nsp>,][<id>][<json>]
//
// and checks the payload's shape per type as socket.io-parser does.
func decodePacket(b []byte) (packet, error) {
	p := packet{id: -1, nsp: "/"}
	if len(b) == 0 || b[0] < pConnect || b[0] > pBinaryAck {
		return p, errParse
	}
	p.typ = b[0]
	i := 1
	if p.typ == pBinaryEvent || p.typ == pBinaryAck {
		j := i
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		if j == i || j >= len(b) || b[j] != '-' || j-i > 3 {
			return p, errParse
		}
		n, _ := strconv.Atoi(string(b[i:j]))
		if n > maxAttachments {
			return p, errParse
		}
		p.attachments = n
		i = j + 1
	}
	if i < len(b) && b[i] == '/' {
		j := bytes.IndexByte(b[i:], ',')
		if j < 0 {
			p.nsp = string(b[i:])
			i = len(b)
		} else {
			p.nsp = string(b[i : i+j])
			i += j + 1
		}
	}
	if i < len(b) && b[i] >= '0' && b[i] <= '9' {
		j := i
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		if j-i > 15 {
			return p, errParse
		}
		p.id, _ = strconv.ParseInt(string(b[i:j]), 10, 64)
		i = j
	}
	p.data = b[i:]
	if !validPayload(&p) {
		return p, errParse
	}
	return p, nil
}

func validPayload(p *packet) bool {
	d := p.data
	if len(d) > 0 && !jsonmsg.Valid(d) {
		return false
	}
	first := firstNonSpace(d)
	switch p.typ {
	case pConnect:
		return len(d) == 0 || first == '{'
	case pDisconnect:
		return len(d) == 0
	case pConnectError:
		return first == '{' || first == '"'
	case pEvent, pBinaryEvent:
		if first != '[' {
			return false
		}
		var one [1][]byte
		i := jsonmsg.SkipSpace(d, jsonmsg.SkipSpace(d, 0)+1)
		if i >= len(d) {
			return false
		}
		end, ok := jsonmsg.SkipValue(d, i)
		if !ok || end <= i {
			return false // no first element: "[]" names no event
		}
		one[0] = d[i:end]
		name := one[0]
		switch {
		case name[0] == '"':
			return !reserved[string(name[1:len(name)-1])]
		case name[0] == '-' || name[0] >= '0' && name[0] <= '9':
			return true
		}
		return false
	case pAck, pBinaryAck:
		return first == '['
	}
	return false
}

func firstNonSpace(b []byte) byte {
	if i := jsonmsg.SkipSpace(b, 0); i < len(b) {
		return b[i]
	}
	return 0
}

// appendHeader writes a packet's text head: type, attachment count,
// namespace and ack id.
func appendHeader(dst []byte, typ byte, attachments int, nsp string, id int64) []byte {
	dst = append(dst, typ)
	if typ == pBinaryEvent || typ == pBinaryAck {
		dst = strconv.AppendInt(dst, int64(attachments), 10)
		dst = append(dst, '-')
	}
	if nsp != "/" && nsp != "" {
		dst = append(dst, nsp...)
		dst = append(dst, ',')
	}
	if id >= 0 {
		dst = strconv.AppendInt(dst, id, 10)
	}
	return dst
}

// encoded is an outgoing Socket.IO packet: its text part and binary
// attachments, ready for any transport. One encoded value may be sent to
// many sessions (a broadcast is encoded once); it is never modified after
// it was built.
type encoded struct {
	text        []byte // the packet's text, without the engine type byte
	attachments [][]byte

	shared   bool // sent to many sessions: WebSocket frames prepared once
	once     sync.Once
	prepared []*wsframe.Prepared
}

// encodeEvent builds an EVENT or ACK packet (typ pEvent or pAck) with args;
// []byte values, at the top level or inside []any and map[string]any,
// become binary attachments.
func encodeEvent(typ byte, nsp string, id int64, event string, args []any) (*encoded, error) {
	var atts [][]byte
	vals := args
	if hasBinary(args) {
		vals = make([]any, len(args))
		for i, a := range args {
			vals[i] = deconstruct(a, &atts)
		}
	}
	if len(atts) > 0 {
		if typ == pEvent {
			typ = pBinaryEvent
		} else {
			typ = pBinaryAck
		}
	}
	st := jsonmsg.API.BorrowStream(nil)
	defer jsonmsg.API.ReturnStream(st)
	st.WriteArrayStart()
	if typ == pEvent || typ == pBinaryEvent {
		st.WriteString(event)
		if len(vals) > 0 {
			st.WriteMore()
		}
	}
	for i, v := range vals {
		if i > 0 {
			st.WriteMore()
		}
		if r, ok := v.(*rawJSON); ok {
			_, _ = st.Write(*r) // checked when it arrived
			continue
		}
		st.WriteVal(v)
	}
	st.WriteArrayEnd()
	if st.Error != nil {
		return nil, st.Error
	}
	text := appendHeader(make([]byte, 0, 16+len(st.Buffer())), typ, len(atts), nsp, id)
	text = append(text, st.Buffer()...)
	return &encoded{text: text, attachments: atts}, nil
}

// encodeRaw builds a packet whose payload is v's JSON (CONNECT,
// CONNECT_ERROR) or nothing (v nil: DISCONNECT).
func encodeRaw(typ byte, nsp string, v any) *encoded {
	text := appendHeader(nil, typ, 0, nsp, -1)
	if v != nil {
		b, err := jsonmsg.API.Marshal(v)
		if err != nil {
			b = []byte(`{}`)
		}
		text = append(text, b...)
	}
	return &encoded{text: text}
}

func hasBinary(v any) bool {
	switch x := v.(type) {
	case []byte:
		return true
	case []any:
		for _, e := range x {
			if hasBinary(e) {
				return true
			}
		}
	case map[string]any:
		for _, e := range x {
			if hasBinary(e) {
				return true
			}
		}
	}
	return false
}

type placeholder struct {
	Placeholder bool `json:"_placeholder"`
	Num         int  `json:"num"`
}

// deconstruct replaces []byte values by placeholders, collecting them.
func deconstruct(v any, atts *[][]byte) any {
	switch x := v.(type) {
	case []byte:
		*atts = append(*atts, x)
		return placeholder{Placeholder: true, Num: len(*atts) - 1}
	case []any:
		if !hasBinary(x) {
			return x
		}
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deconstruct(e, atts)
		}
		return out
	case map[string]any:
		if !hasBinary(x) {
			return x
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = deconstruct(e, atts)
		}
		return out
	}
	return v
}

// reconstruct replaces placeholders in a generic JSON value by their
// attachments; a placeholder with no attachment is an error.
func reconstruct(v any, atts [][]byte) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		if ph, _ := x["_placeholder"].(bool); ph && len(x) == 2 {
			n, ok := x["num"].(float64)
			if !ok || n < 0 || int(n) >= len(atts) || float64(int(n)) != n {
				return nil, errParse
			}
			return atts[int(n)], nil
		}
		for k, e := range x {
			r, err := reconstruct(e, atts)
			if err != nil {
				return nil, err
			}
			x[k] = r
		}
	case []any:
		for i, e := range x {
			r, err := reconstruct(e, atts)
			if err != nil {
				return nil, err
			}
			x[i] = r
		}
	}
	return v, nil
}
