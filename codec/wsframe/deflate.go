package wsframe

import (
	"bytes"
	"compress/flate"
	"errors"
	"io"
	"strconv"
	"sync"

	"github.com/gobwas/httphead"
)

// Deflate is the permessage-deflate agreement (RFC 7692) of one
// connection. gnetty always answers with server_no_context_takeover and
// client_no_context_takeover, as gorilla/websocket does: every message is
// compressed on its own, so the compressor and decompressor of a
// connection are reset, never rebuilt, between messages, and no window is
// kept per connection between messages.
type Deflate struct {
	// Threshold: outbound messages shorter than this go uncompressed.
	Threshold int
	// Level is the compress/flate level (default flate.BestSpeed).
	Level int
	// ServerMaxWindowBits is the window the client allowed the server's
	// compressor (server_max_window_bits, 8 to 15; 0 means 15).
	// compress/flate always uses 2^15, so below 15 messages are
	// compressed with Huffman coding only: no back-references at all,
	// which honours any window.
	ServerMaxWindowBits int
}

// Response is the Sec-WebSocket-Extensions value that accepts d.
func (d Deflate) Response() string {
	if d.ServerMaxWindowBits > 0 && d.ServerMaxWindowBits < 15 {
		return DeflateResponse + "; server_max_window_bits=" + strconv.Itoa(d.ServerMaxWindowBits)
	}
	return DeflateResponse
}

// DefaultDeflateThreshold is the size below which messages are sent
// uncompressed.
const DefaultDeflateThreshold = 256

// DeflateResponse is the Sec-WebSocket-Extensions value the server answers
// with when it accepts permessage-deflate.
const DeflateResponse = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"

// NegotiateDeflate looks through the client's Sec-WebSocket-Extensions
// offers and reports whether one can be accepted (see AcceptDeflate).
func NegotiateDeflate(header []byte) bool {
	_, ok := AcceptDeflate(header)
	return ok
}

// AcceptDeflate returns the agreement for the first acceptable
// permessage-deflate offer in a Sec-WebSocket-Extensions value (RFC 7692):
// any server_max_window_bits from 8 to 15 is accepted and answered
// (Deflate.Response); client_max_window_bits needs no answer, as the
// decompressor takes any window. Offers with an unknown or repeated
// parameter or a malformed value are declined.
func AcceptDeflate(header []byte) (Deflate, bool) {
	opts, ok := httphead.ParseOptions(header, nil)
	if !ok {
		return Deflate{}, false
	}
	for _, o := range opts {
		if string(o.Name) != "permessage-deflate" {
			continue
		}
		if d, ok := acceptable(o); ok {
			return d, true
		}
	}
	return Deflate{}, false
}

func acceptable(o httphead.Option) (Deflate, bool) {
	var d Deflate
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
		case "server_no_context_takeover", "client_no_context_takeover":
			ok = len(v) == 0
		case "server_max_window_bits":
			n, valid := httphead.IntFromASCII(v)
			ok = valid && n >= 8 && n <= 15
			d.ServerMaxWindowBits = n
		case "client_max_window_bits":
			if len(v) > 0 {
				n, valid := httphead.IntFromASCII(v)
				ok = valid && n >= 8 && n <= 15
			}
		default:
			ok = false
		}
		return ok
	})
	return d, ok
}

var errTooBig = errors.New("decompressed message too large")

// deflateTail ends a compressed message: the sync-flush marker RFC 7692
// strips, then an empty final stored block so the reader sees io.EOF.
var deflateTail = []byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}

// Compressors and decompressors are pooled, not kept per connection:
// with no context takeover every message stands alone, and a
// compress/flate writer costs about 1.2 MB (its hash tables) and a reader
// about 40 KB, which an idle compressed connection would otherwise hold
// for its whole life.
var (
	readerPool sync.Pool     // of io.ReadCloser (flate readers)
	writerPool [12]sync.Pool // of *pooledWriter, by level+2 (HuffmanOnly is -2)
	outPool    sync.Pool     // of *[]byte: inflated messages
)

type pooledWriter struct {
	buf bytes.Buffer
	w   *flate.Writer
}

// inflater decompresses whole messages with a pooled flate reader; what
// it returns is valid until the next call.
type inflater struct {
	src bytes.Reader
	out *[]byte // the last message's buffer, returned to the pool on the next call
}

func newInflater(*Deflate) *inflater { return &inflater{} }

// inflate decompresses p (which it may extend) up to max bytes.
func (f *inflater) inflate(p []byte, max int) ([]byte, error) {
	f.release()
	p = append(p, deflateTail...)
	f.src.Reset(p)
	var r io.ReadCloser
	if v, ok := readerPool.Get().(io.ReadCloser); ok {
		r = v
		if err := r.(flate.Resetter).Reset(&f.src, nil); err != nil {
			return nil, err
		}
	} else {
		r = flate.NewReader(&f.src)
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

// deflater compresses whole messages with a pooled flate writer.
type deflater struct{ level int }

func newDeflater(d *Deflate) *deflater {
	level := d.Level
	if level == 0 {
		level = flate.BestSpeed
	}
	if d.ServerMaxWindowBits > 0 && d.ServerMaxWindowBits < 15 {
		level = flate.HuffmanOnly // no back-references: within any window
	}
	if level < flate.HuffmanOnly || level > flate.BestCompression {
		level = flate.BestSpeed
	}
	return &deflater{level: level}
}

// deflate compresses p into a new slice (the frame may outlive the next
// call).
func (f *deflater) deflate(p []byte) []byte {
	pool := &writerPool[f.level+2]
	pw, _ := pool.Get().(*pooledWriter)
	if pw == nil {
		pw = &pooledWriter{}
		pw.w, _ = flate.NewWriter(&pw.buf, f.level)
	}
	pw.buf.Reset()
	pw.w.Reset(&pw.buf)
	_, _ = pw.w.Write(p)
	_ = pw.w.Flush()
	out := append([]byte(nil), bytes.TrimSuffix(pw.buf.Bytes(), deflateTail[:4])...)
	if pw.buf.Cap() > 256<<10 {
		pw.buf = bytes.Buffer{}
	}
	pool.Put(pw)
	return out
}
