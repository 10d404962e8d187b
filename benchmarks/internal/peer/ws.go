package peer

import (
	"bufio"
	"context"
	"encoding/binary"
	"io"
	"net"
	"time"

	"github.com/gobwas/ws"
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
