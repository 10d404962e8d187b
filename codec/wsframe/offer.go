package wsframe

import (
	"errors"
	"strconv"

	"github.com/gobwas/httphead"
)

// The client's side of permessage-deflate: what it offers and what it
// makes of the server's answer, within the same per-connection memory
// budget a server keeps (DeflateOptions.Memory, both windows together).

// ErrDeflateResponse is the error of a server's Sec-WebSocket-Extensions
// answer that does not fit the client's offer (RFC 7692 makes the client
// fail the connection).
var ErrDeflateResponse = errors.New("wsframe: the server's permessage-deflate answer does not fit the offer")

// Offer is the Sec-WebSocket-Extensions value a client sends. Without
// context takeover it asks for none either way. With it, it offers
// client_max_window_bits (the server may cap the client's window) and
// server_max_window_bits sized to half of Memory, so the server's window
// fits the budget; a second offer without takeover follows for servers
// that take no window parameters.
func (o DeflateOptions) Offer() string {
	const plain = "permessage-deflate; client_no_context_takeover; server_no_context_takeover"
	half := o.memory() / 2
	bits := windowBits(half)
	if !o.ContextTakeover || bits == 0 {
		return plain
	}
	return "permessage-deflate; client_max_window_bits; server_max_window_bits=" + strconv.Itoa(bits) + ", " + plain
}

func (o DeflateOptions) memory() int {
	if o.Memory <= 0 {
		return DefaultDeflateMemory
	}
	return o.Memory
}

// windowBits is the largest window, 2^9 to 2^15 bytes, within n bytes
// (0 when even 512 bytes do not fit). 9 at least: zlib's raw deflate
// takes no 8-bit window.
func windowBits(n int) int {
	for bits := 15; bits >= 9; bits-- {
		if 1<<bits <= n {
			return bits
		}
	}
	return 0
}

// Agreed reads the server's Sec-WebSocket-Extensions answer to Offer:
// the agreement from the client's side (ok false when the server took no
// compression), or ErrDeflateResponse when the answer is not one the
// offer allowed: another extension, an unknown or repeated parameter, a
// window larger than offered, takeover kept that the offer declined.
func (o DeflateOptions) Agreed(header []byte) (d Deflate, ok bool, err error) {
	if len(header) == 0 {
		return Deflate{}, false, nil
	}
	opts, parsed := httphead.ParseOptions(header, nil)
	if !parsed || len(opts) != 1 || string(opts[0].Name) != "permessage-deflate" {
		return Deflate{}, false, ErrDeflateResponse
	}
	of, valid := parseOffer(opts[0])
	if !valid {
		return Deflate{}, false, ErrDeflateResponse
	}
	half := o.memory() / 2
	offered := windowBits(half)
	takeover := o.ContextTakeover && offered > 0
	switch {
	case !takeover && (!of.serverNoTakeover || of.clientBits != 0 || of.serverBits != 0):
		return Deflate{}, false, ErrDeflateResponse // the plain offer allowed none of these
	case of.clientBits == -1:
		return Deflate{}, false, ErrDeflateResponse // an answer gives client_max_window_bits a value
	}
	d.Threshold = DefaultDeflateThreshold
	if !of.serverNoTakeover {
		bits := of.serverBits
		if bits == 0 {
			bits = offered // answered without the parameter: what was offered bounds it
		}
		if bits > offered {
			return Deflate{}, false, ErrDeflateResponse
		}
		d.ServerWindow, d.ServerMaxWindowBits = 1<<bits, bits
	}
	if takeover && !of.clientNoTakeover {
		bits := windowBits(half)
		if of.clientBits > 0 {
			bits = min(bits, of.clientBits) // 8 is honoured: the compressor takes a 256-byte window
		}
		d.ClientWindow, d.ClientMaxWindowBits = 1<<bits, bits
	} else if of.clientBits > 0 {
		// Without takeover the server may still cap the window of each
		// message (RFC 7692 7.1.2.2): the compressor must not refer
		// further back, or the server's inflater fails.
		d.ClientMaxWindowBits = of.clientBits
	}
	return d, true, nil
}
