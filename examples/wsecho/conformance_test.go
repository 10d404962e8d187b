package main

import (
	"bufio"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// This suite covers the case groups of the Autobahn TestSuite against the
// running wsecho server with raw frames over a socket: framing (1.x),
// pings and pongs (2.x), reserved bits (3.x), opcodes (4.x),
// fragmentation (5.x), UTF-8 handling with fail-fast (6.x), close
// handling (7.x), limits (9.x) and compression (12.x/13.x). Each case
// checks the exact frames answered and the close code.

type rawClient struct {
	t    *testing.T
	c    net.Conn
	br   *bufio.Reader
	mask [4]byte
}

func dialRaw(t *testing.T, addr string, extensions string) *rawClient {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	req := "GET / HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	if extensions != "" {
		req += "Sec-WebSocket-Extensions: " + extensions + "\r\n"
	}
	if _, err := io.WriteString(c, req+"\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 101 {
		t.Fatalf("handshake: %v %v", resp, err)
	}
	return &rawClient{t: t, c: c, br: br, mask: [4]byte{0xA1, 0xB2, 0xC3, 0xD4}}
}

func (r *rawClient) send(fin bool, rsv byte, op byte, payload []byte) {
	r.t.Helper()
	b0 := op | rsv<<4
	if fin {
		b0 |= 0x80
	}
	out := []byte{b0}
	switch n := len(payload); {
	case n < 126:
		out = append(out, 0x80|byte(n))
	case n <= 0xFFFF:
		out = append(out, 0x80|126, byte(n>>8), byte(n))
	default:
		out = append(out, 0x80|127)
		out = binary.BigEndian.AppendUint64(out, uint64(n))
	}
	out = append(out, r.mask[:]...)
	for i, c := range payload {
		out = append(out, c^r.mask[i%4])
	}
	if _, err := r.c.Write(out); err != nil {
		r.t.Fatalf("send: %v", err)
	}
}

type got struct {
	fin  bool
	rsv  byte
	op   byte
	data []byte
}

func (r *rawClient) read() (got, error) {
	var h [2]byte
	if _, err := io.ReadFull(r.br, h[:]); err != nil {
		return got{}, err
	}
	n := uint64(h[1] & 0x7F)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(r.br, b[:]); err != nil {
			return got{}, err
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(r.br, b[:]); err != nil {
			return got{}, err
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	if h[1]&0x80 != 0 {
		return got{}, fmt.Errorf("server frame masked")
	}
	data := make([]byte, n)
	if _, err := io.ReadFull(r.br, data); err != nil {
		return got{}, err
	}
	return got{fin: h[0]&0x80 != 0, rsv: h[0] >> 4 & 7, op: h[0] & 0x0F, data: data}, nil
}

// expectClose reads until a close frame, checks its code, then expects the
// server to close the TCP connection.
func (r *rawClient) expectClose(code uint16) {
	r.t.Helper()
	for {
		f, err := r.read()
		if err != nil {
			r.t.Fatalf("no close frame (want %d): %v", code, err)
		}
		if f.op != 8 {
			continue
		}
		if code == 0 {
			if len(f.data) != 0 {
				r.t.Fatalf("close payload %q, want empty", f.data)
			}
		} else if len(f.data) < 2 || binary.BigEndian.Uint16(f.data) != code {
			r.t.Fatalf("close %q, want code %d", f.data, code)
		}
		break
	}
	if _, err := r.br.ReadByte(); err != io.EOF {
		r.t.Fatalf("TCP not closed after the close frame: %v", err)
	}
}

func (r *rawClient) expect(op byte, data []byte) {
	r.t.Helper()
	f, err := r.read()
	if err != nil {
		r.t.Fatalf("read: %v", err)
	}
	if f.op != op || !bytes.Equal(f.data, data) || !f.fin {
		r.t.Fatalf("got op %d fin %v %d bytes %.40q, want op %d %d bytes %.40q", f.op, f.fin, len(f.data), f.data, op, len(data), data)
	}
}

func closeData(code uint16, reason string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, code), reason...)
}

func TestConformance(t *testing.T) {
	_, addr := start(t)
	const text, binary_, cont, closeOp, ping, pong = 1, 2, 0, 8, 9, 10
	cases := []struct {
		group string
		run   func(r *rawClient)
	}{
		// 1.x framing: payload lengths around the length-encoding limits.
		{"1.1 text 0/125/126/127/65535/65536", func(r *rawClient) {
			for _, n := range []int{0, 125, 126, 127, 65535, 65536} {
				p := bytes.Repeat([]byte("*"), n)
				r.send(true, 0, text, p)
				r.expect(text, p)
			}
		}},
		{"1.2 binary 0/125/126/65536", func(r *rawClient) {
			for _, n := range []int{0, 125, 126, 65536} {
				p := bytes.Repeat([]byte{0xFE}, n)
				r.send(true, 0, binary_, p)
				r.expect(binary_, p)
			}
		}},
		// 2.x pings and pongs.
		{"2.2 ping with payload", func(r *rawClient) { r.send(true, 0, ping, []byte("hello")); r.expect(pong, []byte("hello")) }},
		{"2.4 ping 125 bytes", func(r *rawClient) { p := bytes.Repeat([]byte{1}, 125); r.send(true, 0, ping, p); r.expect(pong, p) }},
		{"2.5 ping 126 bytes", func(r *rawClient) { r.send(true, 0, ping, bytes.Repeat([]byte{1}, 126)); r.expectClose(1002) }},
		{"2.6 unsolicited pong ignored", func(r *rawClient) {
			r.send(true, 0, pong, []byte("x"))
			r.send(true, 0, text, []byte("after"))
			r.expect(text, []byte("after"))
		}},
		{"2.10 ten pings", func(r *rawClient) {
			for i := range 10 {
				r.send(true, 0, ping, []byte{byte(i)})
			}
			for i := range 10 {
				r.expect(pong, []byte{byte(i)})
			}
		}},
		// 3.x reserved bits.
		{"3.1 rsv2", func(r *rawClient) { r.send(true, 2, text, []byte("x")); r.expectClose(1002) }},
		{"3.4 rsv1 without deflate", func(r *rawClient) { r.send(true, 4, text, []byte("x")); r.expectClose(1002) }},
		{"3.7 rsv on ping", func(r *rawClient) { r.send(true, 7, ping, nil); r.expectClose(1002) }},
		// 4.x opcodes.
		{"4.1 reserved data opcode 3", func(r *rawClient) { r.send(true, 0, 3, nil); r.expectClose(1002) }},
		{"4.2 reserved control opcode 11", func(r *rawClient) { r.send(true, 0, 11, []byte("x")); r.expectClose(1002) }},
		// 5.x fragmentation.
		{"5.1 fragmented ping", func(r *rawClient) { r.send(false, 0, ping, []byte("a")); r.expectClose(1002) }},
		{"5.6 text in two fragments", func(r *rawClient) {
			r.send(false, 0, text, []byte("frag"))
			r.send(true, 0, cont, []byte("ment"))
			r.expect(text, []byte("fragment"))
		}},
		{"5.7 ping between fragments", func(r *rawClient) {
			r.send(false, 0, text, []byte("a"))
			r.send(true, 0, ping, []byte("p"))
			r.send(true, 0, cont, []byte("b"))
			r.expect(pong, []byte("p"))
			r.expect(text, []byte("ab"))
		}},
		{"5.9 continuation first", func(r *rawClient) { r.send(true, 0, cont, []byte("x")); r.expectClose(1002) }},
		{"5.18 text inside a fragmented message", func(r *rawClient) {
			r.send(false, 0, text, []byte("a"))
			r.send(true, 0, text, []byte("b"))
			r.expectClose(1002)
		}},
		{"5.20 many small fragments", func(r *rawClient) {
			r.send(false, 0, binary_, []byte{0})
			for i := 1; i < 100; i++ {
				r.send(i == 99, 0, cont, []byte{byte(i)})
			}
			want := make([]byte, 100)
			for i := range want {
				want[i] = byte(i)
			}
			r.expect(binary_, want)
		}},
		// 6.x UTF-8.
		{"6.2 valid multibyte", func(r *rawClient) { p := []byte("κόσμε 𝄞 €"); r.send(true, 0, text, p); r.expect(text, p) }},
		{"6.3 invalid sequence", func(r *rawClient) {
			r.send(true, 0, text, []byte("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited"))
			r.expectClose(1007)
		}},
		{"6.4 fail fast in the first fragment", func(r *rawClient) {
			r.send(false, 0, text, []byte("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4\x90\x80\x80"))
			r.expectClose(1007) // before the message ends
		}},
		{"6.6 character split across fragments", func(r *rawClient) {
			r.send(false, 0, text, []byte("\xe2\x82"))
			r.send(true, 0, cont, []byte("\xac"))
			r.expect(text, []byte("€"))
		}},
		{"6.x overlong encoding", func(r *rawClient) { r.send(true, 0, text, []byte("\xc0\xaf")); r.expectClose(1007) }},
		// 7.x close handling.
		{"7.1 close then data ignored", func(r *rawClient) {
			r.send(true, 0, closeOp, closeData(1000, ""))
			r.send(true, 0, text, []byte("ignored"))
			r.expectClose(1000)
		}},
		{"7.3 empty close", func(r *rawClient) { r.send(true, 0, closeOp, nil); r.expectClose(0) }},
		{"7.3.2 one-byte close", func(r *rawClient) { r.send(true, 0, closeOp, []byte{1}); r.expectClose(1002) }},
		{"7.5 invalid UTF-8 reason", func(r *rawClient) { r.send(true, 0, closeOp, closeData(1000, "\xff")); r.expectClose(1007) }},
		{"7.7 valid codes echoed", func(r *rawClient) { r.send(true, 0, closeOp, closeData(3000, "ok")); r.expectClose(3000) }},
		{"7.9 invalid code 1004", func(r *rawClient) { r.send(true, 0, closeOp, closeData(1004, "")); r.expectClose(1002) }},
		{"7.9 invalid code 1100", func(r *rawClient) { r.send(true, 0, closeOp, closeData(1100, "")); r.expectClose(1002) }},
		{"7.13 invalid code 5000", func(r *rawClient) { r.send(true, 0, closeOp, closeData(5000, "")); r.expectClose(1002) }},
		// 9.x limits (wsecho allows 16 MiB messages).
		{"9.1 4 MiB text", func(r *rawClient) { p := bytes.Repeat([]byte("a"), 4<<20); r.send(true, 0, text, p); r.expect(text, p) }},
		{"9.x over the message limit", func(r *rawClient) {
			chunk := bytes.Repeat([]byte("b"), 8<<20)
			r.send(false, 0, binary_, chunk)
			r.send(false, 0, cont, chunk)
			r.send(true, 0, cont, []byte("x"))
			r.expectClose(1009)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.group, func(t *testing.T) { tc.run(dialRaw(t, addr, "")) })
	}

	t.Run("12.x compressed echo", func(t *testing.T) {
		r := dialRaw(t, addr, "permessage-deflate; client_max_window_bits")
		msg := []byte(strings.Repeat("a compressible payload, ", 200))
		var b bytes.Buffer
		w, _ := flate.NewWriter(&b, flate.BestSpeed)
		_, _ = w.Write(msg)
		_ = w.Flush()
		r.send(true, 4, text, bytes.TrimSuffix(b.Bytes(), []byte{0, 0, 0xff, 0xff}))
		f, err := r.read()
		if err != nil || f.rsv != 4 || f.op != text {
			t.Fatalf("frame %+v %v", f, err)
		}
		out, err := io.ReadAll(flate.NewReader(bytes.NewReader(append(f.data, 0, 0, 0xff, 0xff, 1, 0, 0, 0xff, 0xff))))
		if err != nil || !bytes.Equal(out, msg) {
			t.Fatalf("decompressed echo differs: %v", err)
		}
	})
	t.Run("13.x rsv1 on a continuation", func(t *testing.T) {
		r := dialRaw(t, addr, "permessage-deflate")
		r.send(false, 0, text, []byte("a"))
		r.send(true, 4, cont, []byte("b"))
		r.expectClose(1002)
	})
}
