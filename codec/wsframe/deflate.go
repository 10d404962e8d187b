package wsframe

import (
	"bytes"
	stdflate "compress/flate"
	"errors"
	"io"
	"strconv"
	"sync"

	"github.com/gobwas/httphead"
	"github.com/klauspost/compress/flate"
)

// Deflate is the permessage-deflate agreement (RFC 7692) of one
// connection.
//
// Without context takeover (the default, as gorilla/websocket) every
// message is compressed on its own, and a connection keeps no compression
// state between messages: compressors and decompressors are pooled.
//
// With context takeover (DeflateOptions.ContextTakeover) a direction keeps
// the last bytes of its messages as the LZ77 window of the next one, so a
// stream of similar messages (chat, JSON events) compresses several times
// better. The connection then keeps only those windows (ServerWindow and
// ClientWindow bytes), never a compressor: the pooled compressor is
// primed with the window for each message, and the decompressor reads with
// it as its dictionary.
type Deflate struct {
	// Threshold: outbound messages shorter than this go uncompressed.
	Threshold int
	// Level is the compression level, 1 (fastest) to 9 (default 1).
	Level int
	// ServerMaxWindowBits is the window the client allowed the server's
	// compressor (server_max_window_bits, 8 to 15; 0 means 15). Below 15
	// the compressor never refers further back than 2^ServerMaxWindowBits.
	ServerMaxWindowBits int
	// ServerWindow is how many bytes of its past messages the server's
	// compressor keeps between messages (server context takeover); 0
	// answers server_no_context_takeover.
	ServerWindow int
	// ClientWindow is the client's LZ77 window that the decompressor keeps
	// between messages (client context takeover): 2^ClientMaxWindowBits
	// bytes; 0 answers client_no_context_takeover.
	ClientWindow int
	// ClientMaxWindowBits is the client_max_window_bits answered (9 to
	// 15; 0 answers none, which means 15 when ClientWindow is set).
	ClientMaxWindowBits int
}

// Response is the Sec-WebSocket-Extensions value that accepts d.
func (d Deflate) Response() string {
	s := "permessage-deflate"
	if d.ServerWindow == 0 {
		s += "; server_no_context_takeover"
	}
	if d.ClientWindow == 0 {
		s += "; client_no_context_takeover"
	}
	if d.ServerMaxWindowBits > 0 && d.ServerMaxWindowBits < 15 {
		s += "; server_max_window_bits=" + strconv.Itoa(d.ServerMaxWindowBits)
	}
	if d.ClientWindow > 0 && d.ClientMaxWindowBits > 0 {
		s += "; client_max_window_bits=" + strconv.Itoa(d.ClientMaxWindowBits)
	}
	return s
}

// DefaultDeflateThreshold is the size below which messages are sent
// uncompressed.
const DefaultDeflateThreshold = 256

// DeflateResponse is the Sec-WebSocket-Extensions value the server answers
// with when it accepts permessage-deflate without context takeover.
const DeflateResponse = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"

// DefaultDeflateMemory is DeflateOptions.Memory's default: 8 KiB of
// windows per connection, 4 KiB each way. On a chat-like stream of JSON
// messages (BenchmarkDeflateStream, frames included) a 4 KiB server window
// sends 0.29 of the bytes, against 0.73 with every message alone, for
// 11.4 µs a message against 5.9; a 16 KiB window gains little (0.28) and
// costs 25 µs, as the pooled compressor is primed with the window for
// every message.
const DefaultDeflateMemory = 8 << 10

// DeflateOptions is what a server accepts of permessage-deflate offers.
// The zero value accepts offers without context takeover only. Accept
// only reads its receiver: one value may serve every loop at once.
type DeflateOptions struct {
	// ContextTakeover keeps each direction's window between messages
	// where the offer allows it and Memory has room.
	ContextTakeover bool
	// Memory bounds the windows a connection keeps between messages, both
	// directions together, in bytes (default DefaultDeflateMemory). The
	// server's window gets half of it (capped by server_max_window_bits).
	// The client's window must be a power of two the client agreed to:
	// if the client offered client_max_window_bits, it is answered with
	// the largest window (512 B to 32 KiB) that fits the other half;
	// otherwise the client's window is 32 KiB and is kept only if it fits,
	// else the answer is client_no_context_takeover.
	Memory int
}

// NegotiateDeflate looks through the client's Sec-WebSocket-Extensions
// offers and reports whether one can be accepted (see AcceptDeflate).
func NegotiateDeflate(header []byte) bool {
	_, ok := AcceptDeflate(header)
	return ok
}

// AcceptDeflate is DeflateOptions{}.Accept: no context takeover.
func AcceptDeflate(header []byte) (Deflate, bool) {
	return DeflateOptions{}.Accept(header)
}

// Accept returns the agreement for the first acceptable permessage-deflate
// offer in a Sec-WebSocket-Extensions value (RFC 7692): any
// server_max_window_bits and client_max_window_bits from 8 to 15 is
// accepted; context takeover as o allows. Offers with an unknown or
// repeated parameter or a malformed value are declined.
func (o DeflateOptions) Accept(header []byte) (Deflate, bool) {
	opts, ok := httphead.ParseOptions(header, nil)
	if !ok {
		return Deflate{}, false
	}
	for _, opt := range opts {
		if string(opt.Name) != "permessage-deflate" {
			continue
		}
		if of, ok := parseOffer(opt); ok {
			return o.agree(of), true
		}
	}
	return Deflate{}, false
}

// offer is one permessage-deflate offer's parameters.
type offer struct {
	serverNoTakeover, clientNoTakeover bool
	serverBits                         int // 0: not offered
	clientBits                         int // 0: not offered; -1: offered without a value
}

func parseOffer(o httphead.Option) (offer, bool) {
	var of offer
	ok := true
	seen := map[string]bool{}
	o.Parameters.ForEach(func(k, v []byte) bool {
		key := string(k)
		if seen[key] {
			ok = false
			return false
		}
		seen[key] = true
		switch key {
		case "server_no_context_takeover":
			ok, of.serverNoTakeover = len(v) == 0, true
		case "client_no_context_takeover":
			ok, of.clientNoTakeover = len(v) == 0, true
		case "server_max_window_bits":
			n, valid := httphead.IntFromASCII(v)
			ok = valid && n >= 8 && n <= 15
			of.serverBits = n
		case "client_max_window_bits":
			of.clientBits = -1
			if len(v) > 0 {
				n, valid := httphead.IntFromASCII(v)
				ok = valid && n >= 8 && n <= 15
				of.clientBits = n
			}
		default:
			ok = false
		}
		return ok
	})
	return of, ok
}

func (o DeflateOptions) agree(of offer) Deflate {
	d := Deflate{ServerMaxWindowBits: of.serverBits}
	if !o.ContextTakeover {
		return d
	}
	mem := o.Memory
	if mem <= 0 {
		mem = DefaultDeflateMemory
	}
	if !of.serverNoTakeover {
		bits := of.serverBits
		if bits == 0 {
			bits = 15
		}
		d.ServerWindow = min(mem/2, 1<<bits)
	}
	if !of.clientNoTakeover {
		room := mem - d.ServerWindow
		maxBits := 15
		if of.clientBits > 0 {
			maxBits = of.clientBits
		}
		if of.clientBits == 0 {
			// The client did not offer client_max_window_bits: its window
			// is 32 KiB, and cannot be made smaller.
			if room >= 1<<15 {
				d.ClientWindow = 1 << 15
			}
		} else {
			// 9 at least: zlib's raw deflate takes no 8-bit window.
			for bits := maxBits; bits >= 9; bits-- {
				if 1<<bits <= room {
					d.ClientWindow, d.ClientMaxWindowBits = 1<<bits, bits
					break
				}
			}
		}
	}
	return d
}

var errTooBig = errors.New("decompressed message too large")

// deflateTail ends a compressed message: the sync-flush marker RFC 7692
// strips, then an empty final stored block so the reader sees io.EOF.
var deflateTail = []byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}

// Compressors and decompressors are pooled, not kept per connection: a
// compressor costs hundreds of KB (its hash tables and block buffer) and
// a reader about 40 KB, which an idle compressed connection would
// otherwise hold for its whole life. A connection with context takeover
// keeps its windows only.
var (
	readerPool sync.Pool     // of io.ReadCloser (flate readers)
	writerPool [20]sync.Pool // of *pooledWriter, by deflater.key
	outPool    sync.Pool     // of *[]byte: inflated messages
)

type pooledWriter struct {
	buf bytes.Buffer
	w   *flate.Writer
}

// window is the tail of a direction's past messages, at most max bytes.
type window struct {
	b   []byte
	max int
}

// add appends p, keeping the last max bytes; its buffer is allocated at
// the first message.
func (w *window) add(p []byte) {
	if w.max == 0 {
		return
	}
	if w.b == nil {
		w.b = make([]byte, 0, w.max)
	}
	if len(p) >= w.max {
		w.b = append(w.b[:0], p[len(p)-w.max:]...)
		return
	}
	if over := len(w.b) + len(p) - w.max; over > 0 {
		w.b = w.b[:copy(w.b, w.b[over:])]
	}
	w.b = append(w.b, p...)
}

// inflater decompresses whole messages with a pooled flate reader; what
// it returns is valid until the next call.
type inflater struct {
	src bytes.Reader
	out *[]byte // the last message's buffer, returned to the pool on the next call
	win window  // the client's window (context takeover), or none
}

// newInflater decompresses what the peer sends: the client's messages on
// a server, the server's on a client.
func newInflater(d *Deflate, client bool) *inflater {
	if client {
		return &inflater{win: window{max: d.ServerWindow}}
	}
	return &inflater{win: window{max: d.ClientWindow}}
}

// inflate decompresses p (which it may extend) up to max bytes.
func (f *inflater) inflate(p []byte, max int) ([]byte, error) {
	f.release()
	p = append(p, deflateTail...)
	f.src.Reset(p)
	var r io.ReadCloser
	if v, ok := readerPool.Get().(io.ReadCloser); ok {
		r = v
		if err := r.(stdflate.Resetter).Reset(&f.src, f.win.b); err != nil {
			return nil, err
		}
	} else {
		r = stdflate.NewReaderDict(&f.src, f.win.b)
	}
	defer readerPool.Put(r)
	bp, _ := outPool.Get().(*[]byte)
	if bp == nil {
		b := make([]byte, 0, 4<<10)
		bp = &b
	}
	out := (*bp)[:0]
	for {
		if len(out) == cap(out) {
			out = append(out, 0)[:len(out)]
		}
		n, err := r.Read(out[len(out):cap(out)])
		out = out[:len(out)+n]
		if len(out) > max {
			*bp = out
			outPool.Put(bp)
			return nil, errTooBig
		}
		if err == io.EOF {
			*bp = out
			f.out = bp
			f.win.add(out)
			return out, nil
		}
		if err != nil {
			*bp = out
			outPool.Put(bp)
			return nil, errors.New("invalid compressed data")
		}
	}
}

// release gives the last message's buffer back (it has been fired and
// handled; handlers copy what they keep).
func (f *inflater) release() {
	if f.out == nil {
		return
	}
	if cap(*f.out) <= 256<<10 {
		outPool.Put(f.out)
	}
	f.out = nil
}

// deflater compresses whole messages with a pooled flate writer, primed
// with the connection's window under context takeover.
type deflater struct {
	key    int // writerPool index: level 1-9, or 10+bits-8 for a small window
	window int // the window size of a small-window writer, else 0
	win    window
}

// newDeflater compresses what this side sends: the server's messages, or
// on a client the client's, within that side's window.
func newDeflater(d *Deflate, client bool) *deflater {
	keep, bits := d.ServerWindow, d.ServerMaxWindowBits
	if client {
		keep, bits = d.ClientWindow, d.ClientMaxWindowBits
	}
	f := &deflater{key: d.Level, win: window{max: keep}}
	if f.key < flate.BestSpeed || f.key > flate.BestCompression {
		f.key = flate.BestSpeed
	}
	if bits >= 8 && bits < 15 {
		f.key, f.window = 10+bits-8, 1<<bits
		f.win.max = min(f.win.max, f.window)
	}
	return f
}

// deflate compresses p into a new slice (the frame may outlive the next
// call).
func (f *deflater) deflate(p []byte) []byte {
	pool := &writerPool[f.key]
	pw, _ := pool.Get().(*pooledWriter)
	if pw == nil {
		pw = &pooledWriter{}
		if f.window > 0 {
			pw.w, _ = flate.NewWriterWindow(&pw.buf, f.window)
		} else {
			pw.w, _ = flate.NewWriter(&pw.buf, f.key)
		}
	}
	pw.buf.Reset()
	pw.w.ResetDict(&pw.buf, f.win.b)
	_, _ = pw.w.Write(p)
	_ = pw.w.Flush()
	out := append([]byte(nil), bytes.TrimSuffix(pw.buf.Bytes(), deflateTail[:4])...)
	pw.w.ResetDict(nil, nil) // keep no reference to the window
	if pw.buf.Cap() > 256<<10 {
		pw.buf = bytes.Buffer{}
	}
	pool.Put(pw)
	f.win.add(p)
	return out
}
