package wsframe

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gobwas/ws"

	"github.com/gnetty/gnetty/codec"
	"github.com/gnetty/gnetty/pipeline"
)

// Name is the pipeline slot name of the frame Codec: upgrade puts it in
// place of the HTTP codec, and handlers that must sit right after the
// codec (slowconsumer, keepalive) are added after it.
const Name = "ws"

// Config holds a codec's limits; zero values mean the defaults.
type Config struct {
	// MaxFrameSize is the largest frame payload accepted (1009 beyond).
	// Default MaxMessageSize.
	MaxFrameSize int
	// MaxMessageSize is the largest message, after reassembly and
	// decompression (1009 beyond). Default 1 MiB.
	MaxMessageSize int
	// CloseTimeout is how long a close we started waits for the peer's
	// close before the connection is closed anyway. Default 5 s.
	CloseTimeout time.Duration
	// Deflate, when set, is the permessage-deflate agreement the handshake
	// reached (see NegotiateDeflate, and ClientDeflate for a client).
	Deflate *Deflate
	// Client makes the codec the client side of RFC 6455: every frame it
	// sends is masked with a fresh random key, and a masked frame from the
	// server fails the connection with 1002. Compression then uses the
	// agreement's client window for what it sends and the server's for
	// what it receives.
	Client bool
}

func (c *Config) normalize() {
	if c.MaxMessageSize <= 0 {
		c.MaxMessageSize = 1 << 20
	}
	if c.MaxFrameSize <= 0 || c.MaxFrameSize > c.MaxMessageSize {
		c.MaxFrameSize = c.MaxMessageSize
	}
	if c.CloseTimeout <= 0 {
		c.CloseTimeout = 5 * time.Second
	}
}

// ErrInvalidText is fired when the application writes a text message that
// is not valid UTF-8: RFC 6455 makes a peer fail the connection for it
// (Node's ws closes with 1006), so the codec never sends it. The message
// is dropped and the connection goes on.
var ErrInvalidText = errors.New("wsframe: text message is not valid UTF-8; not sent")

// CloseError is the error fired when the codec fails the connection: it
// has sent a close frame with Code and closes the connection.
type CloseError struct {
	Code   ws.StatusCode
	Reason string
}

func (e *CloseError) Error() string { return fmt.Sprintf("wsframe: close %d: %s", e.Code, e.Reason) }

// PeerFault marks a connection failed for what the peer sent (see
// pipeline.PeerFault).
func (*CloseError) PeerFault() {}

// Codec is RFC 6455 framing for one channel, the server's side (or, with
// Config.Client, the client's): it takes
// the bytes after a successful handshake and fires *Message for each whole
// text or binary message, and writes *Message, *Prepared, Close and Ping.
//
// Inbound it requires masking, checks reserved bits and opcodes (gobwas/ws
// CheckHeader), reassembles fragmented messages with control frames in
// between, limits frames and messages (1009), validates text as UTF-8
// incrementally so that an invalid fragment fails at once (1007), answers
// pings with pongs, validates and echoes close frames and then closes the
// connection once the output has drained. Any other protocol violation is
// answered with a close frame 1002. After a close frame has been sent or
// received, further input is discarded.
type Codec struct {
	codec.Decoder
	cfg  Config
	st   step
	recv Receiver

	closeSent     bool
	closeReceived bool
	timer         pipeline.Timer
}

// Receiver takes what a Codec would otherwise fire to the next handler:
// its messages and its events (PingReceived, PongReceived, CloseReceived,
// and the *CloseError of a failure, which the Decoder also fires on as an
// error). A fused connection (the WebSocket preset's, when no handler sits
// between the codec and the application) is the codec's Receiver, so a
// message reaches the application with no pipeline hop. Its methods run
// on the channel's loop, from the codec's context.
type Receiver interface {
	ReceiveMessage(ctx *pipeline.Context, m *Message)
	ReceiveEvent(ctx *pipeline.Context, ev any)
}

var (
	_ pipeline.ReadHandler  = (*Codec)(nil)
	_ pipeline.WriteHandler = (*Codec)(nil)
)

// New returns a codec for one channel.
func New(cfg Config) *Codec {
	c := &Codec{}
	c.Init(cfg, nil)
	return c
}

// Init prepares a Codec embedded by value in a larger handler (a fused
// connection keeps codec, keepalive and application state in one
// allocation). recv, when not nil, takes the messages and events the
// codec would fire to the next handler. Call it once, before the handler
// is added; do not copy the Codec afterwards.
func (c *Codec) Init(cfg Config, recv Receiver) {
	cfg.normalize()
	c.cfg, c.recv = cfg, recv
	c.st.c = c
	if cfg.Deflate != nil {
		c.st.inflate = newInflater(cfg.Deflate, cfg.Client)
		c.st.deflate = newDeflater(cfg.Deflate, cfg.Client)
	}
	c.Decoder.Init(&c.st)
}

// fireMessage hands a whole message to the receiver, or to the next
// handler.
func (c *Codec) fireMessage(ctx *pipeline.Context, m *Message) {
	if c.recv != nil {
		c.recv.ReceiveMessage(ctx, m)
		return
	}
	ctx.FireRead(m)
}

// fireEvent hands an event to the receiver, or to the next handler.
func (c *Codec) fireEvent(ctx *pipeline.Context, ev any) {
	if c.recv != nil {
		c.recv.ReceiveEvent(ctx, ev)
		return
	}
	ctx.FireUserEvent(ev)
}

// step is the frame parser.
type step struct {
	c          *Codec
	fragmented bool
	msgOp      ws.OpCode
	compressed bool
	failedDone bool
	utf8       utf8Stream
	msgLen     int
	buf        []byte
	msg        Message
	inflate    *inflater
	deflate    *deflater
	// partial is how much of the frame at the head of the input has been
	// unmasked and validated already: a text frame that turns invalid
	// fails at the first bad byte, before the rest of it has arrived.
	partial int
}

func (s *step) Decode(ctx *pipeline.Context, in []byte) (int, error) {
	c := s.c
	if c.closeReceived || s.failedDone {
		return len(in), nil
	}
	if len(in) < 2 {
		return 0, nil
	}
	b0, b1 := in[0], in[1]
	h := ws.Header{
		Fin:    b0&0x80 != 0,
		Rsv:    (b0 >> 4) & 7,
		OpCode: ws.OpCode(b0 & 0x0F),
		Masked: b1&0x80 != 0,
	}
	hl := 2
	switch n := b1 & 0x7F; n {
	case 126:
		if len(in) < 4 {
			return 0, nil
		}
		h.Length = int64(binary.BigEndian.Uint16(in[2:]))
		hl = 4
	case 127:
		if len(in) < 10 {
			return 0, nil
		}
		v := binary.BigEndian.Uint64(in[2:])
		if v>>63 != 0 {
			return s.fail(ctx, ws.StatusProtocolError, "invalid payload length")
		}
		h.Length = int64(v)
		hl = 10
	default:
		h.Length = int64(n)
	}
	state := ws.StateServerSide
	if c.cfg.Client {
		state = ws.StateClientSide // a masked frame from a server is a protocol error
	}
	if s.fragmented {
		state = state.Set(ws.StateFragmented)
	}
	if s.inflate != nil {
		state = state.Set(ws.StateExtended)
	}
	if err := ws.CheckHeader(h, state); err != nil {
		return s.fail(ctx, ws.StatusProtocolError, err.Error())
	}
	rsv1 := h.Rsv&4 != 0
	if h.Rsv&3 != 0 || rsv1 && (h.OpCode.IsControl() || h.OpCode == ws.OpContinuation) {
		return s.fail(ctx, ws.StatusProtocolError, "reserved bits set")
	}
	if h.Length > int64(c.cfg.MaxFrameSize) {
		return s.fail(ctx, ws.StatusMessageTooBig, "frame too large")
	}
	if h.OpCode.IsData() || h.OpCode == ws.OpContinuation {
		if int64(s.msgLen)+h.Length > int64(c.cfg.MaxMessageSize) && !(rsv1 || s.compressed && h.OpCode == ws.OpContinuation) {
			return s.fail(ctx, ws.StatusMessageTooBig, "message too large")
		}
	}
	if h.Masked {
		hl += 4
	}
	total := hl + int(h.Length)
	if len(in) < hl {
		return 0, nil
	}
	var mask [4]byte
	if h.Masked {
		copy(mask[:], in[hl-4:hl])
	}
	if len(in) < total {
		// An uncompressed text frame is checked as it comes (Autobahn
		// 6.4.3/6.4.4: fail at the first invalid byte, not at the end).
		if s.textSoFar(h, rsv1) && len(in)-hl > s.partial {
			if s.partial == 0 && h.OpCode != ws.OpContinuation {
				s.utf8.reset() // a new message
			}
			chunk := in[hl+s.partial:]
			if h.Masked {
				ws.Cipher(chunk, mask, s.partial)
			}
			s.partial += len(chunk)
			if !s.utf8.feed(chunk) {
				s.partial = 0
				return s.fail(ctx, ws.StatusInvalidFramePayloadData, "invalid UTF-8 in text message")
			}
		}
		return 0, nil
	}
	payload := in[hl:total]
	validated := s.partial
	s.partial = 0
	if h.Masked {
		ws.Cipher(payload[validated:], mask, validated)
	}
	switch h.OpCode {
	case ws.OpPing:
		c.writeControl(ctx, ws.OpPong, payload)
		c.fireEvent(ctx, PingReceived{Payload: payload})
	case ws.OpPong:
		c.fireEvent(ctx, PongReceived{Payload: payload})
	case ws.OpClose:
		return s.closeFrame(ctx, payload, total)
	default:
		if err := s.data(ctx, h, rsv1, payload, validated); err != nil {
			return 0, err
		}
	}
	return total, nil
}

// textSoFar reports whether the data frame h belongs to an uncompressed
// text message (control frames never do).
func (s *step) textSoFar(h ws.Header, rsv1 bool) bool {
	switch h.OpCode {
	case ws.OpText:
		return !rsv1
	case ws.OpContinuation:
		return s.fragmented && s.msgOp == ws.OpText && !s.compressed
	}
	return false
}

// data handles a whole data frame; the first validated bytes of its
// payload were fed to the UTF-8 check as they arrived.
func (s *step) data(ctx *pipeline.Context, h ws.Header, rsv1 bool, payload []byte, validated int) error {
	if h.OpCode != ws.OpContinuation {
		s.msgOp, s.compressed, s.msgLen = h.OpCode, rsv1, 0
		if validated == 0 {
			s.utf8.reset()
		}
	}
	text := s.msgOp == ws.OpText
	if h.Fin && h.OpCode != ws.OpContinuation && !s.compressed {
		// A whole message in one frame: fired from the received bytes.
		if text && !validText(&s.utf8, payload, validated) {
			_, err := s.fail(ctx, ws.StatusInvalidFramePayloadData, "invalid UTF-8 in text message")
			return err
		}
		s.msg = Message{Op: s.msgOp, Data: payload, live: true}
		s.c.fireMessage(ctx, &s.msg)
		s.msg.live = false
		return nil
	}
	s.buf = append(s.buf, payload...)
	s.msgLen += len(payload)
	if text && !s.compressed && !s.utf8.feed(payload[validated:]) {
		_, err := s.fail(ctx, ws.StatusInvalidFramePayloadData, "invalid UTF-8 in text message")
		return err
	}
	s.fragmented = !h.Fin
	if !h.Fin {
		return nil
	}
	data := s.buf
	if s.compressed {
		out, err := s.inflate.inflate(s.buf, s.c.cfg.MaxMessageSize)
		if err != nil {
			code := ws.StatusInvalidFramePayloadData
			if err == errTooBig {
				code = ws.StatusMessageTooBig
			}
			_, ferr := s.fail(ctx, code, err.Error())
			return ferr
		}
		data = out
		if text && !validUTF8(data) {
			_, err := s.fail(ctx, ws.StatusInvalidFramePayloadData, "invalid UTF-8 in text message")
			return err
		}
	} else if text && !s.utf8.complete() {
		_, err := s.fail(ctx, ws.StatusInvalidFramePayloadData, "text message ends inside a character")
		return err
	}
	s.msg = Message{Op: s.msgOp, Data: data, live: true}
	s.c.fireMessage(ctx, &s.msg)
	s.msg.live = false
	if s.compressed {
		s.inflate.release() // handled: an idle connection keeps no inflated message
	}
	if cap(s.buf) > 64<<10 {
		s.buf = nil
	} else {
		s.buf = s.buf[:0]
	}
	s.msgLen = 0
	return nil
}

func (s *step) closeFrame(ctx *pipeline.Context, payload []byte, total int) (int, error) {
	c := s.c
	code, reason := ws.StatusNoStatusRcvd, ""
	switch {
	case len(payload) == 1:
		return s.fail(ctx, ws.StatusProtocolError, "close frame with a one-byte payload")
	case len(payload) >= 2:
		code = ws.StatusCode(binary.BigEndian.Uint16(payload))
		reason = string(payload[2:])
		if code >= 5000 {
			return s.fail(ctx, ws.StatusProtocolError, "close code out of range")
		}
		if err := ws.CheckCloseFrameData(code, reason); err != nil {
			if err == ws.ErrProtocolInvalidUTF8 {
				return s.fail(ctx, ws.StatusInvalidFramePayloadData, err.Error())
			}
			return s.fail(ctx, ws.StatusProtocolError, err.Error())
		}
	}
	c.closeReceived = true
	c.fireEvent(ctx, CloseReceived{Code: code, Reason: reason})
	if !c.closeSent {
		c.closeSent = true
		if code == ws.StatusNoStatusRcvd {
			c.writeControl(ctx, ws.OpClose, nil)
		} else {
			c.writeControl(ctx, ws.OpClose, payload[:2])
		}
	}
	if c.timer != nil {
		c.timer.Stop()
	}
	ctx.Flush()
	ctx.Close() // after the output has drained
	return total, nil
}

// fail sends a close frame with code and ends decoding.
func (s *step) fail(ctx *pipeline.Context, code ws.StatusCode, reason string) (int, error) {
	c := s.c
	if !c.closeSent {
		c.closeSent = true
		c.writeControl(ctx, ws.OpClose, closePayload(code, reason))
		ctx.Flush()
	}
	s.failedDone = true
	ctx.Close()
	err := &CloseError{Code: code, Reason: reason}
	if c.recv != nil {
		c.recv.ReceiveEvent(ctx, err)
	}
	return 0, err
}

func closePayload(code ws.StatusCode, reason string) []byte {
	if !utf8.ValidString(reason) {
		reason = strings.ToValidUTF8(reason, "\uFFFD") // a close reason must be UTF-8 too
	}
	if len(reason) > 123 {
		reason = reason[:123]
		for !utf8.ValidString(reason) {
			reason = reason[:len(reason)-1]
		}
	}
	p := make([]byte, 2, 2+len(reason))
	binary.BigEndian.PutUint16(p, uint16(code))
	return append(p, reason...)
}

// writeControl writes a control frame from the codec's position (towards
// the head), copying the payload.
func (c *Codec) writeControl(ctx *pipeline.Context, op ws.OpCode, payload []byte) {
	f := framePool.Get().(*frame)
	f.op, f.rsv1, f.masked = op, false, c.cfg.Client
	f.data = append([]byte(nil), payload...)
	ctx.WriteAndFlush(f)
}

// HandleWrite frames outbound messages.
func (c *Codec) HandleWrite(ctx *pipeline.Context, msg any) {
	switch m := msg.(type) {
	case *Message:
		if c.closeSent {
			m.Release()
			return
		}
		if m.Op == ws.OpText && !m.checked && !validUTF8(m.Data) {
			m.Release()
			ctx.FireError(ErrInvalidText)
			return
		}
		f := framePool.Get().(*frame)
		f.op, f.data, f.src, f.rsv1, f.masked = m.Op, m.Data, m, false, c.cfg.Client
		if c.st.deflate != nil && len(m.Data) >= c.cfg.Deflate.Threshold {
			f.data, f.rsv1 = c.st.deflate.deflate(m.Data), true
		}
		ctx.Write(f)
	case *Prepared:
		switch {
		case m.invalid:
			ctx.FireError(ErrInvalidText)
		case c.closeSent:
		case c.cfg.Client:
			// A client masks every frame with a key of its own: the
			// shared bytes cannot go out as they are.
			f := framePool.Get().(*frame)
			f.op, f.data, f.masked = m.op, m.b[m.off:], true
			ctx.Write(f)
		default:
			ctx.Write(m)
		}
	case Ping:
		if !c.closeSent {
			c.writeControl(ctx, ws.OpPing, m.Payload[:min(len(m.Payload), 125)])
		}
	case *Ping:
		c.HandleWrite(ctx, *m)
	case Close:
		c.startClose(ctx, m.Code, m.Reason)
	case *Close:
		c.startClose(ctx, m.Code, m.Reason)
	default:
		ctx.Write(msg)
	}
}

// startClose sends our close frame and waits for the peer's.
func (c *Codec) startClose(ctx *pipeline.Context, code ws.StatusCode, reason string) {
	if c.closeSent {
		return
	}
	c.closeSent = true
	c.writeControl(ctx, ws.OpClose, closePayload(code, reason))
	if c.closeReceived {
		ctx.Close()
		return
	}
	c.timer = ctx.EventLoop().Schedule(c.cfg.CloseTimeout, func() { ctx.Close() })
}

// HandlerRemoved stops the close timer.
func (c *Codec) HandlerRemoved(ctx *pipeline.Context) {
	if c.timer != nil {
		c.timer.Stop()
	}
	c.Decoder.HandlerRemoved(ctx)
}
