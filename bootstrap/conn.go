package bootstrap

import (
	"net"

	"github.com/panjf2000/gnet/v2"

	"github.com/gnetty/gnetty/pipeline"
)

// zeroCopyMin is the size from which an outbound []byte is handed to
// writev as it is instead of being copied into the batch.
const zeroCopyMin = 4 << 10

// iovMax is the most buffers one writev takes (IOV_MAX on Linux and BSD).
const iovMax = 1024

// keepBatchCap is the largest batch buffer kept while empty.
const keepBatchCap = 64 << 10

// seg is one piece of the outbound batch: an owned slice, or a range of
// the copy buffer.
type seg struct {
	b          []byte
	start, end int
}

// conn adapts one gnet connection to pipeline.Transport. All of its
// methods run on the connection's loop.
type conn struct {
	ch      pipeline.Channel // embedded: one allocation, one object per connection
	c       gnet.Conn
	l       *loop
	local   net.Addr
	remote  net.Addr
	b       *batch // lent by the loop while output waits: an idle connection has none
	queued  bool
	closed  bool
	closing bool
}

// batch is a connection's outbound batch, lent by its loop from the first
// write until everything written has been flushed (at 10,000 idle
// connections that is 48 bytes less each).
type batch struct {
	buf     []byte // copied outbound bytes
	segs    []seg
	flushTo int // segs[:flushTo] are flushed and go out at the end of the callback
	batched int // bytes in segs
}

var _ pipeline.Transport = (*conn)(nil)

func (c *conn) EventLoop() pipeline.EventLoop { return c.l }
func (c *conn) LocalAddr() net.Addr           { return c.local }
func (c *conn) RemoteAddr() net.Addr          { return c.remote }

func (c *conn) appendCopy(p []byte) {
	if c.b.buf == nil {
		c.b.buf = c.l.batchBuf()
	}
	start := len(c.b.buf)
	c.b.buf = append(c.b.buf, p...)
	c.addCopied(start)
}

func (c *conn) addCopied(start int) {
	end := len(c.b.buf)
	c.b.batched += end - start
	if n := len(c.b.segs); n > c.b.flushTo && c.b.segs[n-1].b == nil && c.b.segs[n-1].end == start {
		c.b.segs[n-1].end = end
		return
	}
	c.addSeg(seg{start: start, end: end})
}

// addSeg appends s to the batch's segments, borrowing the loop's spare
// list when the connection holds none (an idle connection keeps none).
func (c *conn) addSeg(s seg) {
	if c.b.segs == nil {
		c.b.segs = c.l.segList()
	}
	c.b.segs = append(c.b.segs, s)
}

// Write adds msg to the batch: small messages are copied into one buffer,
// an owned []byte of zeroCopyMin or more is referenced, and so is a
// pipeline.Shared broadcast frame when no batch buffer is in use.
func (c *conn) Write(msg any) error {
	if c.closed {
		pipeline.Release(msg)
		return nil
	}
	if c.b == nil {
		c.b = c.l.takeBatch()
	}
	switch m := msg.(type) {
	case []byte:
		if len(m) >= zeroCopyMin {
			c.addSeg(seg{b: m})
			c.b.batched += len(m)
		} else {
			c.appendCopy(m)
		}
	case string:
		if c.b.buf == nil {
			c.b.buf = c.l.batchBuf()
		}
		start := len(c.b.buf)
		c.b.buf = append(c.b.buf, m...)
		c.addCopied(start)
	case *pipeline.Bytes:
		c.appendCopy(m.Bytes())
		m.Skip(m.Len())
	case pipeline.Shared:
		// A broadcast frame: referenced while the connection has no batch
		// buffer (so a member written to by a broadcast borrows none and
		// copies nothing), else copied behind what is batched.
		b := m.SharedBytes()
		if c.b.buf == nil || len(b) >= zeroCopyMin {
			c.addSeg(seg{b: b})
			c.b.batched += len(b)
		} else {
			c.appendCopy(b)
		}
	case pipeline.Appender:
		if c.b.buf == nil {
			c.b.buf = c.l.batchBuf()
		}
		start := len(c.b.buf)
		c.b.buf = m.AppendTo(c.b.buf)
		c.addCopied(start)
		pipeline.Release(msg)
	default:
		pipeline.Release(msg)
		c.returnEmptyBatch()
		return pipeline.ErrUnsupportedMessage
	}
	return nil
}

// Flush marks the batch for sending at the end of the current callback.
func (c *conn) Flush() {
	if c.closed || c.b == nil || len(c.b.segs) == 0 {
		c.returnEmptyBatch()
		return
	}
	c.b.flushTo = len(c.b.segs)
	c.l.markDirty(c)
}

// Pending counts batched bytes and bytes gnet holds for the socket.
func (c *conn) Pending() int {
	if c.closed {
		return 0
	}
	if c.b == nil {
		return c.c.OutboundBuffered()
	}
	return c.b.batched + c.c.OutboundBuffered()
}

// Close closes the connection after the current callback (gnet's Close is
// queued on the loop); OnClose then deactivates the channel.
func (c *conn) Close() {
	if c.closed || c.closing {
		return
	}
	c.closing = true
	_ = c.c.Close()
}

// Wake makes gnet deliver the unconsumed inbound bytes again.
func (c *conn) Wake() {
	if !c.closed {
		_ = c.c.Wake(nil)
	}
}

// flush writes the flushed part of the batch with one writev (gnet buffers
// what the socket does not take). Called from loop.flushDirty.
func (c *conn) flush() {
	if c.closed || c.b == nil || c.b.flushTo == 0 {
		return
	}
	n := c.b.flushTo
	iov := c.l.iov[:0] // the loop's: a writev's list is not kept between flushes
	c.l.iov = nil      // a flush nested in a close callback takes a new one
	copyEnd := 0
	runStart, runEnd := -1, -1 // the copied bytes of iov's last entry
	for _, s := range c.b.segs[:n] {
		if s.b != nil {
			iov = append(iov, s.b)
			c.b.batched -= len(s.b)
			runEnd = -1
			continue
		}
		// Copied segments that follow each other in the buffer (messages
		// each written and flushed, an echo's replies) go out as one
		// entry: one write(2) instead of a writev of many small entries.
		if runEnd == s.start {
			iov[len(iov)-1] = c.b.buf[runStart:s.end]
		} else {
			iov = append(iov, c.b.buf[s.start:s.end])
			runStart = s.start
		}
		runEnd = s.end
		c.b.batched -= s.end - s.start
		copyEnd = s.end
	}
	var err error
	sending := iov
	for len(sending) > 0 && err == nil && !c.closed {
		part := sending
		if len(part) > iovMax {
			part = part[:iovMax]
		}
		if len(part) == 1 {
			_, err = c.c.Write(part[0])
		} else {
			_, err = c.c.Writev(part)
		}
		c.l.e.writes.Add(1)
		sending = sending[len(part):]
	}
	iov = iov[:cap(iov)]
	clear(iov)
	if cap(iov) <= iovMax {
		c.l.iov = iov[:0]
	}
	if c.closed {
		return // a write error closed the connection (and dropped the batch)
	}
	// gnet has written or copied everything; drop the flushed segments.
	total := len(c.b.segs)
	rest := c.b.segs[n:]
	if copyEnd > 0 {
		for i := range rest {
			if rest[i].b == nil {
				rest[i].start -= copyEnd
				rest[i].end -= copyEnd
			}
		}
		c.b.buf = c.b.buf[:copy(c.b.buf, c.b.buf[copyEnd:])]
	}
	c.b.segs = c.b.segs[:copy(c.b.segs, rest)]
	clear(c.b.segs[len(c.b.segs):total])
	c.b.flushTo = 0
	if len(c.b.segs) == 0 && c.b.segs != nil {
		c.l.returnSegs(c.b.segs) // back to the loop too
		c.b.segs = nil
	}
	if len(c.b.buf) == 0 && c.b.buf != nil {
		c.l.returnBuf(c.b.buf) // back to the loop: an idle connection keeps no batch
		c.b.buf = nil
	}
	c.returnEmptyBatch()
	if c.closed {
		return
	}
	c.ch.UpdateWritability()
}

// returnEmptyBatch gives an empty batch back to the loop.
func (c *conn) returnEmptyBatch() {
	if c.b != nil && c.b.segs == nil && c.b.buf == nil {
		c.l.giveBatch(c.b)
		c.b = nil
	}
}

// drop releases the batch after the connection closed.
func (c *conn) drop() {
	c.b = nil
}
