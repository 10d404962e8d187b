package tlsh

import (
	"crypto/tls"
	"fmt"

	"github.com/gnetty/gnetty/pipeline"
)

// takeOver makes the handler run the connection's records itself after a
// TLS 1.3 server handshake with a suite it knows, dropping crypto/tls's
// connection and buffers: an idle TLS connection then keeps its two
// traffic secrets and little else. It returns the input the handshake
// left (records the client sent after its Finished) and whether it took
// over; when it did not (TLS 1.2, the client side, FIPS mode, a key log
// that did not come), crypto/tls keeps the records. Run on the loop, once
// the handshake goroutine has ended.
func (h *Handler) takeOver(ctx *pipeline.Context) ([]byte, bool) {
	c := h.conn
	c.mu.Lock()
	cs, ss, sent, left, recLeft, keep := c.clientSecret, c.serverSecret, c.sent, c.in, c.recLeft, c.keep
	c.sent, c.clientSecret, c.serverSecret = nil, nil, nil
	c.mu.Unlock()
	defer clear(cs) // the records keep copies; these are dropped either way
	defer clear(ss)
	if h.cfg.Client || !keep || recLeft != 0 || len(cs) == 0 || len(ss) == 0 || len(c.out) > 0 {
		return nil, false
	}
	st := h.tc.ConnectionState()
	suite := suiteFor(st.CipherSuite)
	if st.Version != tls.VersionTLS13 || suite == nil {
		return nil, false
	}
	loop := ctx.Channel().EventLoop()
	cache := pipeline.LoopLocal(loop, cacheKey{h.cfg.ActiveCiphers}, func() *cipherCache {
		return newCipherCache(loop, h.cfg.ActiveCiphers)
	})
	r := newRecords(suite, cs, ss, cache)
	// crypto/tls may have sealed records with the server's application
	// key already (its session tickets): they are the last records it
	// sent, the ones that open with that key. The others (the handshake
	// key's) cannot, but by a 2^-128 chance.
	for b := sent; len(b) >= 5; {
		n := int(b[3])<<8 | int(b[4])
		if len(b) < 5+n {
			break
		}
		rec := b[:5+n]
		b = b[5+n:]
		if rec[0] != recordData {
			continue
		}
		if ok := r.out.tryOpen(rec, cache); !ok && r.out.seq > 0 {
			r.release() // not what the server sent: leave it to crypto/tls
			return nil, false
		}
	}
	h.rec, h.state, h.tc, h.conn = r, &st, nil, nil
	c.in = nil
	return left, true
}

// tryOpen reports whether rec opens with h's key at its sequence number,
// and counts it if so. It decrypts rec in place.
func (h *half) tryOpen(rec []byte, c *cipherCache) bool {
	a, err := h.cipher(c)
	if err != nil {
		return false
	}
	if _, err := a.Open(rec[5:5], h.nonce[:], rec[5:], rec[:5]); err != nil {
		return false
	}
	h.seq++
	return true
}

// readPending reads the records in h.pending (input that was copied: what
// the handshake left, and what followed it), keeping an unfinished one.
func (h *Handler) readPending(ctx *pipeline.Context) {
	n := h.readRecords(ctx, h.pending)
	if h.failed || n == len(h.pending) {
		h.pending = nil
		return
	}
	h.pending = h.pending[:copy(h.pending, h.pending[n:])]
}

// readRecords opens the complete records at the front of buf, in place,
// fires the application data they hold (gathered into one run of buf,
// one read for all of them), sends what they call for (a KeyUpdate, the
// answer to close_notify, an alert) and returns how many bytes it used:
// the rest is the start of a record still arriving.
func (h *Handler) readRecords(ctx *pipeline.Context, buf []byte) int {
	if h.failed {
		return len(buf) // closed or failed: nothing more is read
	}
	off, start, w := 0, -1, 0
	var reply []byte
	var err error
	closed := false
	for !closed && len(buf)-off >= 5 {
		n := int(buf[off+3])<<8 | int(buf[off+4])
		if n > maxCiphertext {
			err = alert(alertRecordOverflow)
			break
		}
		if buf[off+1] != 3 || buf[off+2] != 3 {
			err = alert(alertProtocolVersion)
			break
		}
		if len(buf)-off < 5+n {
			break
		}
		rec := buf[off : off+5+n]
		off += 5 + n
		var ev event
		var p []byte
		if ev, p, reply, err = h.rec.open(rec, reply); err != nil {
			break
		}
		switch ev {
		case gotData:
			if start < 0 {
				start, w = off-n, off-n // p is there
			}
			w += copy(buf[w:], p)
		case gotCloseNotify:
			closed = true
		}
	}
	if len(reply) > 0 {
		h.send(ctx, reply)
	}
	if start >= 0 && w > start {
		h.firePlain(ctx, buf[start:w])
	}
	switch {
	case h.failed:
	case err != nil:
		h.fail(ctx, fmt.Errorf("tlsh: %w", err))
	case closed: // close_notify: answer it and close
		h.flushNow(ctx)
		h.send(ctx, h.rec.sealAlert(getBuf(), alertCloseNotify))
		h.failed = true
		ctx.Close()
	}
	return off
}

// firePlain fires decrypted input on, then flushes what the handlers
// answered to it, in as few records as it fills (not one per message).
func (h *Handler) firePlain(ctx *pipeline.Context, p []byte) {
	h.in.Reset(p)
	h.reading = true
	ctx.FireRead(&h.in) // handlers copy what they keep (the decoders do)
	ctx.FireReadComplete()
	h.reading = false
	h.in.Reset(nil)
	if h.flushed {
		h.flushed = false
		h.HandleFlush(ctx)
	}
}

// send hands ciphertext (a pooled buffer, returned) to the transport,
// which copies it.
func (h *Handler) send(ctx *pipeline.Context, out []byte) {
	if len(out) > 0 {
		h.out.Reset(out)
		ctx.Write(&h.out)
		ctx.Flush()
		h.out.Reset(nil)
	}
	putBuf(out)
}
