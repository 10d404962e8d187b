package tlsh

import (
	"crypto/fips140"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gnetty/gnetty/pipeline"
)

// Name is the pipeline slot name of the handler (Initializer's).
const Name = "tls"

// Config configures a Handler; TLS is required.
type Config struct {
	// TLS is the crypto/tls configuration (certificates or
	// GetCertificate, NextProtos for ALPN, ClientAuth, ...). For a client,
	// ServerName names the server (SNI and verification).
	TLS *tls.Config
	// HandshakeTimeout bounds the handshake; the connection is closed
	// when it has not finished by then. Default 10 s.
	HandshakeTimeout time.Duration
	// Client makes the handler the client side.
	Client bool
	// ActiveCiphers is how many connection directions of each loop keep
	// their cipher state (an AES-GCM key schedule is about 1.3 KB)
	// between records, after a TLS 1.3 server handshake; the least
	// recently active give it up and make it again from their keys when
	// they next have traffic (about 0.6 µs). A direction with no record
	// for one to two seconds gives it up too, so idle connections hold
	// none. Handlers that share a loop and a value share the cache.
	// Default DefaultActiveCiphers.
	ActiveCiphers int
}

// HandshakeDone is the user event fired (on the loop, towards the tail)
// once the handshake has succeeded; State is the connection's state.
type HandshakeDone struct{ State tls.ConnectionState }

// ErrHandshakeTimeout is fired when a handshake takes longer than
// HandshakeTimeout.
var ErrHandshakeTimeout = errors.New("tlsh: handshake timed out")

// Handshakes counts handshakes in progress process-wide (each holds a
// goroutine until it ends).
var Handshakes atomic.Int64

// maxHandshakeInput bounds what a peer may send before the handshake ends.
const maxHandshakeInput = 256 << 10

// Handler is the TLS handler of one channel.
type Handler struct {
	cfg  Config
	ctx  *pipeline.Context
	conn *memConn
	tc   *tls.Conn // nil once the handler runs the records itself

	rec     *records             // TLS 1.3 records after a server handshake (tc is nil)
	state   *tls.ConnectionState // the state crypto/tls left, with rec
	pending []byte               // with rec: input the handshake left, and what follows it

	started bool
	reading bool // decrypt is firing plaintext: flushes wait until it returns
	flushed bool // a flush came while reading
	held    bool // input was left in the transport during the handshake
	open    bool // the handshake succeeded: records are handled on the loop
	failed  bool
	timer   pipeline.Timer

	wbuf []byte         // plaintext written since the last flush
	lead bool           // wbuf starts with room for a record header
	in   pipeline.Bytes // decrypted input, as fired
	out  pipeline.Bytes // ciphertext handed on
}

var (
	_ pipeline.ReadHandler     = (*Handler)(nil)
	_ pipeline.WriteHandler    = (*Handler)(nil)
	_ pipeline.FlushHandler    = (*Handler)(nil)
	_ pipeline.CloseHandler    = (*Handler)(nil)
	_ pipeline.ActiveHandler   = (*Handler)(nil)
	_ pipeline.InactiveHandler = (*Handler)(nil)
	_ pipeline.AddedHandler    = (*Handler)(nil)
)

// New returns a handler for one channel.
func New(cfg Config) *Handler {
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = 10 * time.Second
	}
	if cfg.ActiveCiphers <= 0 {
		cfg.ActiveCiphers = DefaultActiveCiphers
	}
	if !cfg.Client && cfg.TLS != nil && !fips140.Enabled() {
		// In FIPS 140-3 mode the records stay with crypto/tls, whose GCM
		// is the validated module's TLS mode.
		cfg.TLS = handoffConfig(cfg.TLS)
	}
	return &Handler{cfg: cfg}
}

// Initializer returns an initializer that puts a TLS handler with cfg
// first in each channel's pipeline (slot Name), then runs init (when not
// nil), whose handlers then see plaintext: give it as a
// bootstrap.Config's Initializer, or to a bootstrap.Client's Dial with
// cfg.Client set. Each channel gets its own Handler.
func Initializer(cfg Config, init func(*pipeline.Channel)) func(*pipeline.Channel) {
	return func(ch *pipeline.Channel) {
		_ = ch.Pipeline().AddFirst(Name, New(cfg))
		if init != nil {
			init(ch)
		}
	}
}

// FromChannel returns the TLS handler in ch's pipeline, or nil for a
// plaintext channel. Call it on the channel's loop.
func FromChannel(ch *pipeline.Channel) *Handler {
	if h, ok := ch.Pipeline().Get(Name).(*Handler); ok {
		return h
	}
	return nil
}

// State returns the connection's TLS state (ALPN protocol, version, peer
// certificates, SNI name); before the handshake ends, the zero value. Call
// it on the loop.
func (h *Handler) State() tls.ConnectionState {
	switch {
	case !h.open:
		return tls.ConnectionState{}
	case h.rec != nil:
		return *h.state
	}
	return h.tc.ConnectionState()
}

// HandlerAdded marks the channel pipeline.Secure and starts the
// handshake when the channel is already active.
func (h *Handler) HandlerAdded(ctx *pipeline.Context) {
	h.ctx = ctx
	pipeline.Secure.Set(ctx.Channel(), true)
	if ctx.Channel().IsActive() {
		h.start(ctx)
	}
}

// HandleActive starts the handshake.
func (h *Handler) HandleActive(ctx *pipeline.Context) {
	h.start(ctx)
	ctx.FireActive()
}

func (h *Handler) start(ctx *pipeline.Context) {
	if h.started {
		return
	}
	h.started = true
	ch := ctx.Channel()
	h.conn = &memConn{ch: ch, local: ch.LocalAddr(), remote: ch.RemoteAddr(), handshaking: true, keep: !h.cfg.Client}
	h.conn.cond.L = &h.conn.mu
	h.conn.flushOut = func() {
		if ch.IsActive() {
			h.writeOut(ctx)
		}
	}
	if h.cfg.Client {
		h.tc = tls.Client(h.conn, h.cfg.TLS)
	} else {
		h.tc = tls.Server(h.conn, h.cfg.TLS)
	}
	h.timer = ch.Schedule(h.cfg.HandshakeTimeout, func() {
		if !h.open && !h.failed {
			h.fail(ctx, ErrHandshakeTimeout)
		}
	})
	Handshakes.Add(1)
	tc, conn := h.tc, h.conn
	go func() {
		defer Handshakes.Add(-1)
		err := tc.Handshake()
		conn.mu.Lock()
		conn.handshaking = false // from now on, reads report "would block"
		if len(conn.in) == 0 {
			conn.in = nil // nothing left of the handshake's input: keep no buffer
		}
		conn.mu.Unlock()
		// The loop's own queue, not the channel's: tasks from one
		// goroutine keep their order either way, and the channel then
		// never makes its off-loop queue (kept for its life).
		ch.EventLoop().Execute(func() { h.handshakeDone(ctx, err) })
	}()
}

func (h *Handler) handshakeDone(ctx *pipeline.Context, err error) {
	if h.failed {
		return
	}
	h.writeOut(ctx)
	if err != nil {
		var rh tls.RecordHeaderError
		if errors.As(err, &rh) && rh.Conn != nil && looksLikeHTTP(rh.RecordHeader) {
			// As net/http: a plaintext request on a TLS port.
			h.out.Reset([]byte("HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n"))
			ctx.Write(&h.out)
			ctx.Flush()
		}
		h.fail(ctx, fmt.Errorf("tlsh: handshake: %w", err))
		return
	}
	h.open = true
	if h.timer != nil {
		h.timer.Stop()
		h.timer = nil // an idle connection keeps no timer
	}
	left, took := h.takeOver(ctx)
	ctx.FireUserEvent(HandshakeDone{State: h.State()})
	if h.failed || !ctx.Channel().IsActive() {
		// A handler refused the connection (by ALPN, SNI or client
		// certificate) and closed it: what the client sent with its
		// Finished is dropped unread.
		h.pending, h.held = nil, false
		return
	}
	if len(h.wbuf) > 0 {
		h.HandleFlush(ctx)
	}
	// What came with or after the client's last flight.
	if took {
		h.pending = left
		h.readPending(ctx)
	} else {
		h.decrypt(ctx)
	}
	if h.held {
		h.held = false
		ctx.Channel().Wake() // what the transport kept meanwhile
	}
}

func looksLikeHTTP(hdr [5]byte) bool {
	switch string(hdr[:]) {
	case "GET /", "HEAD ", "POST ", "PUT /", "OPTIO", "DELET", "PATCH", "CONNE":
		return true
	}
	return false
}

// fail ends the connection after a TLS error: the alert crypto/tls
// queued (if any) goes out first.
func (h *Handler) fail(ctx *pipeline.Context, err error) {
	if h.failed {
		return
	}
	err = pipeline.PeerError(err) // what the peer sent, or did not send in time
	h.failed = true
	if h.timer != nil {
		h.timer.Stop()
	}
	if h.rec != nil {
		var a alert
		if errors.As(err, &a) {
			h.send(ctx, h.rec.sealAlert(getBuf(), byte(a)))
		} else if errors.Is(err, errTooManyIgnored) {
			h.send(ctx, h.rec.sealAlert(getBuf(), alertUnexpectedMessage))
		}
		ctx.FireError(err)
		ctx.Close()
		return
	}
	h.conn.abort() // a handshake still waiting for input gives up
	h.writeOut(ctx)
	ctx.FireError(err)
	ctx.Close()
}

// HandleRead takes encrypted bytes off the wire.
func (h *Handler) HandleRead(ctx *pipeline.Context, msg any) {
	b, ok := msg.(*pipeline.Bytes)
	if !ok {
		ctx.FireRead(msg)
		return
	}
	if h.rec != nil && !h.failed {
		if h.pending != nil {
			h.pending = append(h.pending, b.Bytes()...)
			b.Skip(b.Len())
			h.readPending(ctx)
			return
		}
		b.Skip(h.readRecords(ctx, b.Bytes()))
		return
	}
	if h.failed || h.conn == nil {
		b.Skip(b.Len())
		return
	}
	if !h.open {
		// Until the handshake ends, take at most maxHandshakeInput: a TLS
		// 1.3 client sends data right after its Finished, and the rest
		// waits in the transport (MaxUnreadBytes bounds it) until Wake.
		n := h.conn.feedUpTo(b.Bytes(), maxHandshakeInput)
		b.Skip(n)
		if b.Len() > 0 {
			h.held = true
		}
		return
	}
	// crypto/tls copies what it reads into its record buffer, so the
	// transport's bytes are lent, not copied: decrypt reads them all.
	h.conn.lend(b.Bytes())
	h.decrypt(ctx)
	h.conn.lend(nil)
	b.Skip(b.Len())
}

// decrypt fires what the buffered records hold, then sends what reading
// them produced (a KeyUpdate answer, an alert).
func (h *Handler) decrypt(ctx *pipeline.Context) {
	for !h.failed {
		pb := plainPool.Get().(*[]byte)
		p := (*pb)[:0]
		var err error
		for len(p) < cap(p) {
			var n int
			n, err = h.tc.Read(p[len(p):cap(p)])
			p = p[:len(p)+n]
			if err != nil {
				break
			}
		}
		if len(p) > 0 {
			h.firePlain(ctx, p)
		}
		plainPool.Put(pb)
		if err == nil {
			continue // the buffer filled: there may be more
		}
		h.writeOut(ctx)
		switch {
		case errors.Is(err, errWouldBlock):
		case errors.Is(err, io.EOF): // close_notify: answer it and close
			_ = h.tc.CloseWrite()
			h.writeOut(ctx)
			ctx.Close()
			h.failed = true
		default:
			h.fail(ctx, fmt.Errorf("tlsh: %w", err))
		}
		return
	}
}

// HandleWrite collects plaintext until the flush.
func (h *Handler) HandleWrite(ctx *pipeline.Context, msg any) {
	if h.failed {
		pipeline.Release(msg)
		return
	}
	switch m := msg.(type) {
	case []byte:
		h.wbuf = append(h.buf(), m...)
	case string:
		h.wbuf = append(h.buf(), m...)
	case *pipeline.Bytes:
		h.wbuf = append(h.buf(), m.Bytes()...)
		m.Skip(m.Len())
	case pipeline.Appender:
		h.wbuf = m.AppendTo(h.buf())
		pipeline.Release(msg)
	default:
		pipeline.Release(msg)
		ctx.FireError(pipeline.ErrUnsupportedMessage)
	}
}

// buf returns the plaintext batch, from the pool when empty.
func (h *Handler) buf() []byte {
	if h.wbuf == nil {
		h.wbuf = getBuf()
		if h.rec != nil {
			// Room for the record header: a batch that fits one record
			// is sealed where it is.
			h.wbuf, h.lead = append(h.wbuf, 0, 0, 0, 0, 0), true
		}
	}
	return h.wbuf
}

// Buffers are pooled, so that an idle connection holds none: the
// decrypted input (fired, then returned), the plaintext batch and the
// ciphertext (returned after each flush; the transport copies it).
var plainPool = sync.Pool{New: func() any { b := make([]byte, 0, 32<<10); return &b }}

var bufPool sync.Pool // of *[]byte

func getBuf() []byte {
	if p, ok := bufPool.Get().(*[]byte); ok {
		return (*p)[:0]
	}
	return make([]byte, 0, 4<<10)
}

func putBuf(b []byte) {
	if cap(b) == 0 || cap(b) > 256<<10 {
		return
	}
	b = b[:0]
	bufPool.Put(&b)
}

// HandleFlush encrypts what was written and flushes it (after the
// handshake; until then it waits). A flush made while the handler is
// firing decrypted input (a reply) is done once that input has been
// handled, so replies to one read share records.
func (h *Handler) HandleFlush(ctx *pipeline.Context) {
	if h.reading {
		h.flushed = true
		return
	}
	h.flushNow(ctx)
}

// flushNow encrypts and sends the plaintext batch.
func (h *Handler) flushNow(ctx *pipeline.Context) {
	if !h.open || h.failed || len(h.wbuf) == 0 || h.lead && len(h.wbuf) == 5 {
		return
	}
	if h.rec != nil {
		var out []byte
		var err error
		if h.lead {
			out, err = h.rec.sealBatch(h.wbuf)
		} else {
			out, err = h.rec.sealData(getBuf(), h.wbuf)
			putBuf(h.wbuf)
		}
		h.wbuf, h.lead = nil, false
		h.send(ctx, out)
		if err != nil {
			h.fail(ctx, fmt.Errorf("tlsh: %w", err))
		}
		return
	}
	_, err := h.tc.Write(h.wbuf)
	putBuf(h.wbuf) // an idle connection keeps no buffer
	h.wbuf = nil
	h.writeOut(ctx)
	if err != nil {
		h.fail(ctx, fmt.Errorf("tlsh: %w", err))
	}
}

// HandleClose sends close_notify after what was written, then closes.
func (h *Handler) HandleClose(ctx *pipeline.Context) {
	if h.open && !h.failed {
		h.flushNow(ctx) // what was written before the close, even mid-read
		if h.rec != nil {
			h.send(ctx, h.rec.sealAlert(getBuf(), alertCloseNotify))
		} else {
			_ = h.tc.CloseWrite()
			h.writeOut(ctx)
		}
		h.failed = true
	}
	ctx.Close()
}

// HandleInactive lets a handshake still running end.
func (h *Handler) HandleInactive(ctx *pipeline.Context) {
	if h.timer != nil {
		h.timer.Stop()
	}
	if h.conn != nil {
		h.conn.abort()
	}
	if h.rec != nil {
		h.rec.release()
	}
	h.pending = nil
	h.failed = true
	ctx.FireInactive()
}

// writeOut hands the ciphertext crypto/tls produced to the transport.
func (h *Handler) writeOut(ctx *pipeline.Context) {
	if h.conn == nil {
		return
	}
	out := h.conn.take()
	if len(out) == 0 {
		return
	}
	h.out.Reset(out) // the transport copies it
	ctx.Write(&h.out)
	ctx.Flush()
	h.out.Reset(nil)
	putBuf(out)
}

// errWouldBlock is what memConn's Read returns when it has nothing:
// temporary, so crypto/tls returns it without failing the connection.
var errWouldBlock error = wouldBlock{}

type wouldBlock struct{}

func (wouldBlock) Error() string   { return "tlsh: no input (would block)" }
func (wouldBlock) Timeout() bool   { return true }
func (wouldBlock) Temporary() bool { return true }

// memConn is the net.Conn crypto/tls reads and writes: input the loop
// fed, output the loop takes. During the handshake, Read blocks the
// handshake goroutine until input comes; after it, Read never blocks.
type memConn struct {
	ch            *pipeline.Channel
	local, remote net.Addr
	flushOut      func() // on the loop: send what was written

	mu          sync.Mutex
	cond        sync.Cond
	in          []byte // copied during the handshake
	lent        []byte // the transport's, after it
	out         []byte
	handshaking bool
	unflushed   bool // the handshake wrote since the last flush
	aborted     bool

	// For a server's take-over (see Handler.takeOver): reads stop at
	// record ends while handshaking, so crypto/tls never holds input past
	// the client's Finished; what the server sent is kept (keep, up to
	// maxSentKept) to count the records already sealed with its
	// application key; the key log fills the secrets.
	recLeft      int // bytes of the record being read that are still to come
	keep         bool
	sent         []byte
	clientSecret []byte
	serverSecret []byte
}

// maxSentKept bounds the copy of a server's handshake flights.
const maxSentKept = 64 << 10

// lend makes p the input after the handshake (nil: done with it). Bytes
// left from the handshake are read first.
func (c *memConn) lend(p []byte) {
	c.mu.Lock()
	c.lent = p
	c.mu.Unlock()
}

// feedUpTo adds as much of p as keeps the input within limit and returns
// how much.
func (c *memConn) feedUpTo(p []byte, limit int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := min(len(p), max(limit-len(c.in), 0))
	c.in = append(c.in, p[:n]...)
	c.cond.Signal()
	return n
}

func (c *memConn) abort() {
	c.mu.Lock()
	c.aborted = true
	clear(c.clientSecret) // a handshake that failed after logging them
	clear(c.serverSecret)
	c.clientSecret, c.serverSecret = nil, nil
	c.cond.Broadcast()
	c.mu.Unlock()
}

func (c *memConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.in) == 0 || c.handshaking && c.recLeft == 0 && len(c.in) < 5 {
		if c.aborted {
			return 0, net.ErrClosed
		}
		if !c.handshaking {
			if len(c.lent) == 0 {
				return 0, errWouldBlock
			}
			n := copy(p, c.lent)
			c.lent = c.lent[n:]
			return n, nil
		}
		if c.unflushed {
			// The flight so far goes out before we wait for the answer.
			c.unflushed = false
			c.mu.Unlock()
			c.ch.EventLoop().Execute(c.flushOut)
			c.mu.Lock()
			continue
		}
		c.cond.Wait()
	}
	in := c.in
	if c.handshaking {
		if c.recLeft == 0 {
			c.recLeft = 5 + (int(in[3])<<8 | int(in[4]))
		}
		in = in[:min(len(in), c.recLeft)]
	}
	n := copy(p, in)
	if c.handshaking {
		c.recLeft -= n
	}
	c.in = c.in[:copy(c.in, c.in[n:])]
	if len(c.in) == 0 && !c.handshaking {
		c.in = nil
	}
	return n, nil
}

func (c *memConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	if c.aborted {
		c.mu.Unlock()
		return 0, net.ErrClosed
	}
	if c.out == nil {
		c.out = getBuf()
	}
	c.out = append(c.out, p...)
	if c.handshaking && c.keep {
		if len(c.sent)+len(p) > maxSentKept {
			c.keep, c.sent = false, nil
		} else {
			c.sent = append(c.sent, p...)
		}
	}
	if c.handshaking {
		// Sent when the handshake waits for the peer (Read) or ends
		// (handshakeDone): a failed handshake's alert then leaves with its
		// error, so the peer's close cannot overtake the cause.
		c.unflushed = true
	}
	c.mu.Unlock()
	return len(p), nil
}

// take returns the output so far (the caller puts it back in the pool).
func (c *memConn) take() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.out
	c.out = nil
	return out
}

func (c *memConn) Close() error                     { c.abort(); return nil }
func (c *memConn) LocalAddr() net.Addr              { return c.local }
func (c *memConn) RemoteAddr() net.Addr             { return c.remote }
func (c *memConn) SetDeadline(time.Time) error      { return nil }
func (c *memConn) SetReadDeadline(time.Time) error  { return nil }
func (c *memConn) SetWriteDeadline(time.Time) error { return nil }

// CertFile serves a certificate from a pair of PEM files and reloads it
// when they change, so a renewed certificate (certbot, a secret mount)
// takes effect without a restart: set tls.Config.GetCertificate to its
// GetCertificate. It looks at the files at most once a second, from the
// handshake goroutine (never the loop); a pair that fails to load keeps
// the last good certificate and is logged by the error it returns from
// Reload.
//
// CertFile is safe for concurrent use.
type CertFile struct {
	certFile, keyFile string

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   [2]time.Time // the files' modification times
	checked time.Time
	lastErr error
}

// NewCertFile loads the pair; an error means it cannot serve.
func NewCertFile(certFile, keyFile string) (*CertFile, error) {
	c := &CertFile{certFile: certFile, keyFile: keyFile}
	if err := c.Reload(); err != nil {
		return nil, err
	}
	return c, nil
}

// Reload reads the files again now.
func (c *CertFile) Reload() error {
	st, err := stamps(c.certFile, c.keyFile)
	if err != nil {
		return c.keep(err)
	}
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return c.keep(err)
	}
	c.mu.Lock()
	c.cert, c.stamp, c.lastErr = &cert, st, nil
	c.mu.Unlock()
	return nil
}

func (c *CertFile) keep(err error) error {
	c.mu.Lock()
	c.lastErr = err
	c.mu.Unlock()
	return fmt.Errorf("tlsh: certificate %s: %w", c.certFile, err)
}

// Err returns the last reload's error (nil: the files in use are current).
func (c *CertFile) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastErr
}

func stamps(files ...string) ([2]time.Time, error) {
	var st [2]time.Time
	for i, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			return st, err
		}
		st[i] = fi.ModTime()
	}
	return st, nil
}

// GetCertificate is a tls.Config.GetCertificate.
func (c *CertFile) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	now := time.Now()
	check := now.Sub(c.checked) >= time.Second
	if check {
		c.checked = now
	}
	stamp := c.stamp
	c.mu.Unlock()
	if check {
		if st, err := stamps(c.certFile, c.keyFile); err == nil && st != stamp {
			_ = c.Reload() // on failure the last good one stays
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cert, nil
}

// ServerConfig returns a server tls.Config serving certFile and keyFile
// (reloaded when they change), offering ALPN nextProtos (for HTTP servers,
// "http/1.1").
func ServerConfig(certFile, keyFile string, nextProtos ...string) (*tls.Config, error) {
	cf, err := NewCertFile(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	return &tls.Config{GetCertificate: cf.GetCertificate, NextProtos: nextProtos, MinVersion: tls.VersionTLS12}, nil
}
