package pipeline

// Bytes is a read cursor over bytes: what a transport fires for received
// data, and what framers fire for frames they cut out of it without
// copying.
//
// # Buffer lifetime
//
// The bytes behind a *Bytes handed to HandleRead are valid only until
// HandleRead returns (the transport reuses its read buffer, as gnet does):
// copy what you keep. A reader consumes what it used with Skip; bytes that
// no handler consumed stay with the transport and are delivered again, in
// front of newly received bytes, with the next read or after
// Channel.Wake. A *Bytes that reaches the tail of the pipeline counts as
// consumed and is dropped.
//
// A handler may change the bytes it consumes in place (the WebSocket codec
// unmasks them, the TLS handler decrypts them) but not the unread rest.
//
// Writing a *Bytes copies its unread bytes into the outbound batch and
// consumes them.
type Bytes struct {
	b   []byte
	off int
}

// NewBytes returns a cursor over p.
func NewBytes(p []byte) *Bytes { return &Bytes{b: p} }

// Reset points the cursor at p, with nothing consumed.
func (b *Bytes) Reset(p []byte) { b.b, b.off = p, 0 }

// Bytes returns the unread bytes.
func (b *Bytes) Bytes() []byte { return b.b[b.off:] }

// Len returns the number of unread bytes.
func (b *Bytes) Len() int { return len(b.b) - b.off }

// Skip consumes n unread bytes (all of them if n is larger).
func (b *Bytes) Skip(n int) {
	if n > len(b.b)-b.off || n < 0 {
		n = len(b.b) - b.off
	}
	b.off += n
}

// Consumed returns how many bytes have been consumed since Reset.
func (b *Bytes) Consumed() int { return b.off }

// String returns the unread bytes as a string (a copy).
func (b *Bytes) String() string { return string(b.b[b.off:]) }

// AppendTo appends the unread bytes to dst and consumes them.
func (b *Bytes) AppendTo(dst []byte) []byte {
	dst = append(dst, b.b[b.off:]...)
	b.off = len(b.b)
	return dst
}

// Appender is an outbound message that encodes itself by appending to a
// byte slice (the transport's outbound batch). A message that implements
// it needs no encoder.
type Appender interface {
	AppendTo(dst []byte) []byte
}

// Shared is an outbound message whose bytes are immutable and shared by
// many channels (a broadcast frame encoded once, wsframe.Prepared): a
// transport may send those bytes by reference instead of copying them
// into its batch, keeping the message until they are written. A Shared
// message is not released (it has no single owner).
type Shared interface {
	SharedBytes() []byte
}

// Releaser is a pooled message. Whoever ends a message's journey (the
// transport after copying it, the tail after dropping it, a handler that
// consumes it without passing it on) calls Release once; the message must
// not be touched after that.
type Releaser interface{ Release() }

// Release calls msg.Release when msg is a Releaser. Handlers that swallow a
// message call it.
func Release(msg any) {
	if r, ok := msg.(Releaser); ok {
		r.Release()
	}
}

// Size returns the number of bytes msg will take on the wire when the
// transport can tell without encoding it ([]byte, string, *Bytes, or a
// Sizer), else 0.
func Size(msg any) int {
	switch m := msg.(type) {
	case []byte:
		return len(m)
	case string:
		return len(m)
	case *Bytes:
		return m.Len()
	case Sizer:
		return m.Size()
	}
	return 0
}

// Sizer is an outbound message that knows its encoded size, so water marks
// count it.
type Sizer interface{ Size() int }
