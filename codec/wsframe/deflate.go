package wsframe

import (
	"bytes"
	"compress/flate"
	"errors"
	"io"
	"strconv"

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

// inflater decompresses whole messages, reusing one flate reader.
type inflater struct {
	src bytes.Reader
	r   io.ReadCloser
	out []byte
}

func newInflater(*Deflate) *inflater {
	f := &inflater{}
	f.r = flate.NewReader(&f.src)
	return f
}

// inflate decompresses p (which it may extend) up to max bytes.
func (f *inflater) inflate(p []byte, max int) ([]byte, error) {
	p = append(p, deflateTail...)
	f.src.Reset(p)
	if err := f.r.(flate.Resetter).Reset(&f.src, nil); err != nil {
		return nil, err
	}
	f.out = f.out[:0]
	for {
		if len(f.out) == cap(f.out) {
			f.out = append(f.out, 0)[:len(f.out)]
		}
		n, err := f.r.Read(f.out[len(f.out):cap(f.out)])
		f.out = f.out[:len(f.out)+n]
		if len(f.out) > max {
			return nil, errTooBig
		}
		if err == io.EOF {
			out := f.out
			if cap(f.out) > 64<<10 {
				f.out = nil
			}
			return out, nil
		}
		if err != nil {
			return nil, errors.New("invalid compressed data")
		}
	}
}

// deflater compresses whole messages, reusing one flate writer.
type deflater struct {
	buf bytes.Buffer
	w   *flate.Writer
}

func newDeflater(d *Deflate) *deflater {
	level := d.Level
	if level == 0 {
		level = flate.BestSpeed
	}
	if d.ServerMaxWindowBits > 0 && d.ServerMaxWindowBits < 15 {
		level = flate.HuffmanOnly // no back-references: within any window
	}
	f := &deflater{}
	w, err := flate.NewWriter(&f.buf, level)
	if err != nil {
		w, _ = flate.NewWriter(&f.buf, flate.BestSpeed)
	}
	f.w = w
	return f
}

// deflate compresses p into a new slice (the frame may outlive the next
// call).
func (f *deflater) deflate(p []byte) []byte {
	f.buf.Reset()
	f.w.Reset(&f.buf)
	_, _ = f.w.Write(p)
	_ = f.w.Flush()
	b := f.buf.Bytes()
	b = bytes.TrimSuffix(b, deflateTail[:4])
	if f.buf.Cap() > 64<<10 {
		defer func() { f.buf = bytes.Buffer{} }()
	}
	return append([]byte(nil), b...)
}
