package wsframe

import (
	"encoding/binary"
	"math/rand/v2"
	"sync"

	"github.com/gobwas/ws"
)

// Message is a whole data message. Inbound, the decoder fires it with Data
// pointing into its buffers: valid only until the handler returns. Outbound,
// write a *Message (AcquireMessage, or a literal) and the encoder frames it.
type Message struct {
	Data []byte
	Op   ws.OpCode // ws.OpText or ws.OpBinary

	pooled bool
	// live: an inbound message while its handlers run (the codec's, on
	// the loop); checked: an outbound text the codec validated on the way
	// in (Reply), not validated again.
	live, checked bool
}

// Reply returns a pooled outbound message holding a copy of data, as
// AcquireMessage does. Called by a handler of the inbound m while it
// handles m, on m's loop, to send m's own text back unchanged (an echo,
// a broadcast of what was received), the codec does not check the
// copy's UTF-8 again: it checked those very bytes on the way in. A
// handler that changes m.Data in place and sends it must keep it UTF-8.
func (m *Message) Reply(op ws.OpCode, data []byte) *Message {
	r := AcquireMessage(op, data)
	r.checked = op == ws.OpText && m.live && m.Op == ws.OpText && len(data) == len(m.Data) &&
		(len(data) == 0 || &data[0] == &m.Data[0])
	return r
}

var messagePool = sync.Pool{New: func() any { return &Message{pooled: true} }}

// AcquireMessage returns a pooled outbound message holding a copy of data.
// The transport releases it after encoding.
func AcquireMessage(op ws.OpCode, data []byte) *Message {
	m := messagePool.Get().(*Message)
	m.Op = op
	m.Data = append(m.Data[:0], data...)
	return m
}

// Text returns a pooled outbound text message.
func Text(s string) *Message {
	m := messagePool.Get().(*Message)
	m.Op = ws.OpText
	m.Data = append(m.Data[:0], s...)
	return m
}

// Size reports the encoded size, for water marks and slow-consumer limits.
func (m *Message) Size() int { return len(m.Data) + 10 }

// Release returns a pooled message to its pool (a no-op for others).
func (m *Message) Release() {
	if !m.pooled {
		return
	}
	if cap(m.Data) > 64<<10 {
		m.Data = nil
	}
	m.Data, m.checked = m.Data[:0], false
	messagePool.Put(m)
}

// Close is an outbound request to close the WebSocket with a status code
// and reason: the codec sends the close frame, waits for the peer's answer
// (up to the codec's CloseTimeout), then closes the connection.
type Close struct {
	Code   ws.StatusCode
	Reason string
}

// Ping is an outbound ping with a payload of up to 125 bytes.
type Ping struct{ Payload []byte }

// CloseReceived is the user event fired when the peer's close frame
// arrives (before the codec echoes it). Code is ws.StatusNoStatusRcvd
// when the frame carried none.
type CloseReceived struct {
	Code   ws.StatusCode
	Reason string
}

// PongReceived is the user event fired for every pong (the keepalive
// handler takes it). Payload points into the read buffer, as a Message's
// Data does: it is valid while the event is handled; copy it to keep it.
type PongReceived struct{ Payload []byte }

// PingReceived is the user event fired for every ping, after the codec has
// answered it with a pong. Payload is valid while the event is handled.
type PingReceived struct{ Payload []byte }

// appendHeader writes a server frame header (never masked).
func appendHeader(dst []byte, fin bool, rsv1 bool, op ws.OpCode, n int) []byte {
	b0 := byte(op)
	if fin {
		b0 |= 0x80
	}
	if rsv1 {
		b0 |= 0x40
	}
	switch {
	case n < 126:
		return append(dst, b0, byte(n))
	case n <= 0xFFFF:
		return append(dst, b0, 126, byte(n>>8), byte(n))
	default:
		dst = append(dst, b0, 127)
		return binary.BigEndian.AppendUint64(dst, uint64(n))
	}
}

// frame is what the encoder hands the transport: header and payload are
// appended straight into the outbound batch (one copy of the payload).
type frame struct {
	op     ws.OpCode
	rsv1   bool
	masked bool // a client's frame: masked with a fresh key as it is encoded
	data   []byte
	src    any // released after encoding
}

var framePool = sync.Pool{New: func() any { return new(frame) }}

func (f *frame) Size() int { return len(f.data) + 14 }

func (f *frame) AppendTo(dst []byte) []byte {
	start := len(dst)
	dst = appendHeader(dst, true, f.rsv1, f.op, len(f.data))
	if !f.masked {
		return append(dst, f.data...)
	}
	// RFC 6455 5.3: a key no one can predict, new for every frame.
	// math/rand/v2's global source is ChaCha8 seeded from the system.
	k := rand.Uint32()
	mask := [4]byte{byte(k), byte(k >> 8), byte(k >> 16), byte(k >> 24)}
	dst[start+1] |= 0x80
	dst = append(dst, mask[:]...)
	p := len(dst)
	dst = append(dst, f.data...)
	ws.Cipher(dst[p:], mask, 0)
	return dst
}

func (f *frame) Release() {
	if r, ok := f.src.(interface{ Release() }); ok {
		r.Release()
	}
	*f = frame{}
	framePool.Put(f)
}

// Prepared is a message encoded once and written to many connections (a
// broadcast): the transport sends the same frame bytes by reference
// (pipeline.Shared) or copies them into its batch. It is immutable and
// safe to share across goroutines and loops.
type Prepared struct {
	b       []byte
	op      ws.OpCode
	off     int  // where the payload starts in b (a client masks it per frame)
	invalid bool // text that is not UTF-8: codecs refuse to send it
}

// Prepare encodes a data message once. Text is checked for UTF-8 here,
// once for every connection: a Prepared text that is not valid UTF-8 is
// refused by every codec with ErrInvalidText.
func Prepare(op ws.OpCode, data []byte) *Prepared {
	b := appendHeader(make([]byte, 0, len(data)+10), true, false, op, len(data))
	off := len(b)
	return &Prepared{b: append(b, data...), op: op, off: off, invalid: op == ws.OpText && !validUTF8(data)}
}

// Size reports the encoded size.
func (p *Prepared) Size() int { return len(p.b) }

// SharedBytes returns the encoded frame (pipeline.Shared): never modify it.
func (p *Prepared) SharedBytes() []byte { return p.b }

// AppendTo appends the encoded frame.
func (p *Prepared) AppendTo(dst []byte) []byte { return append(dst, p.b...) }
