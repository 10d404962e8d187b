package peer

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// DialWS opens a WebSocket to ws://addr+path (30 s to connect) and
// returns the connection and a buffered reader of what follows the
// handshake.
func DialWS(addr, path string) (net.Conn, *bufio.Reader, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, br, _, err := ws.Dial(ctx, "ws://"+addr+path)
	if err != nil {
		return nil, nil, err
	}
	var r io.Reader = c
	if br != nil {
		r = io.MultiReader(br, c)
	}
	return c, bufio.NewReaderSize(r, 32<<10), nil
}

// ReadFrame reads one unmasked server frame's payload into buf (grown
// when too small) and returns it with the frame's opcode.
func ReadFrame(r *bufio.Reader, buf []byte) ([]byte, byte, error) {
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, 0, err
	}
	n := int(h[1] & 0x7f)
	switch n {
	case 126:
		var l [2]byte
		if _, err := io.ReadFull(r, l[:]); err != nil {
			return nil, 0, err
		}
		n = int(binary.BigEndian.Uint16(l[:]))
	case 127:
		var l [8]byte
		if _, err := io.ReadFull(r, l[:]); err != nil {
			return nil, 0, err
		}
		n = int(binary.BigEndian.Uint64(l[:]))
	}
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	_, err := io.ReadFull(r, buf)
	return buf, h[0] & 0x0f, err
}

// Publish sends 128-byte text frames (a client's, masked; the first 19
// bytes the send time in Unix nanoseconds) on each of conns, perConn a
// second each, the connections' sends spread evenly over the interval,
// from start until d has passed. sent(i) runs after each send on
// conns[i]. It returns how many connections failed (each stops at its
// first failed send).
func Publish(conns []net.Conn, perConn float64, start time.Time, d time.Duration, sent func(i int)) int64 {
	interval := time.Duration(float64(time.Second) / perConn)
	var failed atomic.Int64
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			payload := bytes.Repeat([]byte{'x'}, 128)
			next := start.Add(time.Duration(i) * interval / time.Duration(len(conns)))
			for time.Since(start) < d {
				time.Sleep(time.Until(next))
				next = next.Add(interval)
				copy(payload, strconv.AppendInt(nil, time.Now().UnixNano(), 10))
				if err := wsutil.WriteClientText(c, payload); err != nil {
					failed.Add(1)
					return
				}
				sent(i)
			}
		}()
	}
	wg.Wait()
	return failed.Load()
}

// DialMany opens n WebSockets, 64 at a time, the i-th to the address and
// path target(i) names; a failed one is nil in conns and readers, and
// counted.
func DialMany(n int, target func(i int) (addr, path string)) (conns []net.Conn, readers []*bufio.Reader, failed int64) {
	conns, readers = make([]net.Conn, n), make([]*bufio.Reader, n)
	var errs atomic.Int64
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, r, err := DialWS(target(i))
			if err != nil {
				errs.Add(1)
				return
			}
			conns[i], readers[i] = c, r
		}()
	}
	wg.Wait()
	return conns, readers, errs.Load()
}

// ReadDeliveries reads a member's frames until its connection ends, each
// a message Publish timestamped, counting each in delivered; it returns
// their latencies and whether the server ended with a close frame (it
// dropped the member).
func ReadDeliveries(r *bufio.Reader, delivered *atomic.Int64) (lat []time.Duration, closed bool) {
	buf := make([]byte, 256)
	lat = make([]time.Duration, 0, 1024)
	for {
		p, op, err := ReadFrame(r, buf)
		if err != nil {
			return lat, false
		}
		if op == 0x8 {
			return lat, true
		}
		t, _ := strconv.ParseInt(string(p[:19]), 10, 64)
		lat = append(lat, time.Since(time.Unix(0, t)))
		delivered.Add(1)
	}
}
