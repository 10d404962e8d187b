package tlsh_test

import (
	"bytes"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gnetty/gnetty/handler/tlsh"
	"github.com/gnetty/gnetty/internal/tlstest"
	"github.com/gnetty/gnetty/pipeline"
	"github.com/gnetty/gnetty/pipeline/pipelinetest"
)

// secrets is a KeyLogWriter keeping the application traffic secrets.
type secrets struct {
	mu             sync.Mutex
	client, server []byte
}

func (s *secrets) Write(line []byte) (int, error) {
	f := strings.Fields(string(line))
	if len(f) == 3 {
		b, _ := hex.DecodeString(f[2])
		s.mu.Lock()
		switch f[0] {
		case "CLIENT_TRAFFIC_SECRET_0":
			s.client = b
		case "SERVER_TRAFFIC_SECRET_0":
			s.server = b
		}
		s.mu.Unlock()
	}
	return len(line), nil
}

// echoing keeps what it reads in got and writes it back.
func echoing(got *collect) pipeline.ReadFunc {
	return func(ctx *pipeline.Context, msg any) {
		b := msg.(*pipeline.Bytes)
		got.got = append(got.got, b.Bytes()...)
		ctx.WriteAndFlush(append([]byte(nil), b.Bytes()...))
		b.Skip(b.Len())
	}
}

// peerSession is a handshaken echo server whose client side the test
// then plays with a Peer: crafted records in, the server's records out.
type peerSession struct {
	ch   *pipelinetest.Channel
	h    *tlsh.Handler
	peer *tlsh.Peer
	got  *collect
}

func newPeerSession(t *testing.T, opts ...func(*tlsh.Config)) *peerSession {
	t.Helper()
	certs := tlstest.New(t)
	scfg := certs.ServerConfig()
	scfg.SessionTicketsDisabled = true // the server seals nothing before the test's records
	got := &collect{}
	cfg := tlsh.Config{TLS: scfg}
	for _, o := range opts {
		o(&cfg)
	}
	h := tlsh.New(cfg)
	s := &session{ch: pipelinetest.New(h, echoing(got)), p: newPipe(), got: got, h: h}
	keys := &secrets{}
	ccfg := certs.ClientConfig()
	ccfg.KeyLogWriter = keys
	s.client = tls.Client(s.p, ccfg)
	done := make(chan error, 1)
	go func() { done <- s.client.Handshake() }()
	s.until(t, "the handshake", nil, func() bool { return h.State().Version != 0 })
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !h.RunsRecords() {
		t.Fatal("crypto/tls still runs the records")
	}
	s.ch.ReadOutboundBytes()
	t.Cleanup(func() { s.p.Close() })
	keys.mu.Lock()
	defer keys.mu.Unlock()
	return &peerSession{ch: s.ch, h: h, got: got, peer: tlsh.NewPeer(h.State().CipherSuite, keys.client, keys.server)}
}

// replies opens everything the server sent.
func (ps *peerSession) replies(t *testing.T) (types []byte, data [][]byte) {
	t.Helper()
	out := ps.ch.ReadOutboundBytes()
	for len(out) > 0 {
		typ, d, rest, err := ps.peer.Open(out)
		if err != nil {
			t.Fatalf("the server's record does not open: %v", err)
		}
		types, data, out = append(types, typ), append(data, d), rest
		if typ == 22 && len(d) == 5 && d[0] == 24 {
			ps.peer.UpdateIn() // the server's KeyUpdate: what follows uses its next key
		}
	}
	return types, data
}

// wantAlert checks that the server sent alert desc and closed.
func (ps *peerSession) wantAlert(t *testing.T, desc byte) {
	t.Helper()
	types, data := ps.replies(t)
	if len(types) == 0 || types[len(types)-1] != 21 || !bytes.Equal(data[len(data)-1], []byte{2, desc}) {
		t.Fatalf("want alert %d, the server sent types %v %x", desc, types, data)
	}
	if !ps.ch.IsClosed() {
		t.Fatal("the connection is still open")
	}
	if ps.ch.ReadError() == nil {
		t.Fatal("no error fired")
	}
}

func cat(recs ...[]byte) []byte { return bytes.Join(recs, nil) }

var keyUpdate = []byte{24, 0, 0, 1, 0}
var keyUpdateRequested = []byte{24, 0, 0, 1, 1}

func TestTLS13KeyUpdateFromTheClient(t *testing.T) {
	ps := newPeerSession(t)
	p := ps.peer
	// Without a request: the client's next records use its next key.
	in := cat(p.Seal(23, []byte("ab")), p.Seal(22, keyUpdate))
	p.UpdateOut()
	ps.ch.WriteInbound(cat(in, p.Seal(23, []byte("cd"))))
	if string(ps.got.got) != "abcd" {
		t.Fatalf("got %q", ps.got.got)
	}
	if _, data := ps.replies(t); string(bytes.Join(data, nil)) != "abcd" {
		t.Fatalf("echo %q", data)
	}
	// With one: the server answers with its own KeyUpdate, then uses its
	// next key for the echo.
	in = p.Seal(22, keyUpdateRequested)
	p.UpdateOut()
	ps.ch.WriteInbound(cat(in, p.Seal(23, []byte("ef"))))
	types, data := ps.replies(t)
	if len(types) != 2 || types[0] != 22 || !bytes.Equal(data[0], keyUpdate) || string(data[1]) != "ef" {
		t.Fatalf("types %v data %q", types, data)
	}
	// A KeyUpdate in two records is one message.
	in = cat(p.Seal(22, keyUpdate[:2]), p.Seal(22, keyUpdate[2:]))
	p.UpdateOut()
	ps.ch.WriteInbound(cat(in, p.Seal(23, []byte("gh"))))
	if string(ps.got.got) != "abcdefgh" || ps.ch.IsClosed() {
		t.Fatalf("got %q closed %v", ps.got.got, ps.ch.IsClosed())
	}
}

// What a client may send that carries nothing is skipped, within bounds.
func TestTLS13IgnoredRecords(t *testing.T) {
	ps := newPeerSession(t)
	p := ps.peer
	ps.ch.WriteInbound(cat(p.Seal(23, nil), p.Seal(21, []byte{1, 90}), p.Seal(23, []byte("x"))))
	if string(ps.got.got) != "x" || ps.ch.IsClosed() {
		t.Fatalf("got %q closed %v", ps.got.got, ps.ch.IsClosed())
	}
	ps.replies(t)
	var in []byte
	for range 17 {
		in = append(in, p.Seal(23, nil)...)
	}
	ps.ch.WriteInbound(in)
	ps.wantAlert(t, 10)
}

// Each malformed record ends the connection with the alert crypto/tls
// would send, after delivering what came before it.
func TestTLS13BadRecords(t *testing.T) {
	for _, tc := range []struct {
		name  string
		craft func(p *tlsh.Peer) []byte
		alert byte
	}{
		{"key update inside a record", func(p *tlsh.Peer) []byte { return p.Seal(22, append(keyUpdate, 24)) }, 10},
		{"key update request value", func(p *tlsh.Peer) []byte { return p.Seal(22, []byte{24, 0, 0, 1, 2}) }, 50},
		{"key update length", func(p *tlsh.Peer) []byte { return p.Seal(22, []byte{24, 0, 0, 2, 0, 0}) }, 50},
		{"session ticket from a client", func(p *tlsh.Peer) []byte { return p.Seal(22, []byte{4, 0, 0, 1, 0}) }, 10},
		{"handshake fragment, then data", func(p *tlsh.Peer) []byte { return cat(p.Seal(22, keyUpdate[:2]), p.Seal(23, []byte("x"))) }, 10},
		{"no content type", func(p *tlsh.Peer) []byte { return p.Seal(0, []byte{0, 0}) }, 10},
		{"unknown content type", func(p *tlsh.Peer) []byte { return p.Seal(99, []byte("x")) }, 10},
		{"plaintext handshake record", func(*tlsh.Peer) []byte { return []byte{22, 3, 3, 0, 5, 24, 0, 0, 1, 0} }, 10},
		{"change_cipher_spec after the Finished", func(*tlsh.Peer) []byte { return []byte{20, 3, 3, 0, 1, 1} }, 10},
		{"change_cipher_spec inside a split KeyUpdate", func(p *tlsh.Peer) []byte { return cat(p.Seal(22, keyUpdate[:2]), []byte{20, 3, 3, 0, 1, 1}) }, 10},
		{"bad change_cipher_spec", func(*tlsh.Peer) []byte { return []byte{20, 3, 3, 0, 1, 2} }, 10},
		{"record version", func(p *tlsh.Peer) []byte { r := p.Seal(23, []byte("x")); r[2] = 1; return r }, 70},
		{"tampered", func(p *tlsh.Peer) []byte { r := p.Seal(23, []byte("x")); r[len(r)-1] ^= 1; return r }, 20},
		{"oversized", func(*tlsh.Peer) []byte { return []byte{23, 3, 3, 0x41, 0x01} }, 22},
		{"alert length", func(p *tlsh.Peer) []byte { return p.Seal(21, []byte{2}) }, 10},
		{"plaintext over 2^14", func(p *tlsh.Peer) []byte { return p.Seal(23, bytes.Repeat([]byte("x"), 16<<10+1)) }, 22},
		{"empty handshake record", func(p *tlsh.Peer) []byte { return p.Seal(22, nil) }, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps := newPeerSession(t)
			ps.ch.WriteInbound(cat(ps.peer.Seal(23, []byte("before")), tc.craft(ps.peer)))
			if string(ps.got.got) != "before" {
				t.Fatalf("got %q", ps.got.got)
			}
			ps.wantAlert(t, tc.alert)
		})
	}
}

// A peer's fatal alert ends the connection without an answer;
// close_notify is answered with close_notify.
func TestTLS13AlertsFromTheClient(t *testing.T) {
	ps := newPeerSession(t)
	ps.ch.WriteInbound(ps.peer.Seal(21, []byte{2, 40}))
	if !ps.ch.IsClosed() {
		t.Fatal("still open after a fatal alert")
	}
	if err := ps.ch.ReadError(); err == nil || !strings.Contains(err.Error(), "remote error: tls: handshake failure") {
		t.Fatalf("error %v", err)
	}
	if out := ps.ch.ReadOutboundBytes(); len(out) != 0 {
		t.Fatalf("answered a fatal alert: %x", out)
	}

	ps = newPeerSession(t)
	ps.ch.WriteInbound(cat(ps.peer.Seal(23, []byte("bye")), ps.peer.Seal(21, []byte{1, 0})))
	types, data := ps.replies(t)
	if len(types) != 2 || string(data[0]) != "bye" || types[1] != 21 || !bytes.Equal(data[1], []byte{1, 0}) {
		t.Fatalf("types %v data %q", types, data)
	}
	if !ps.ch.IsClosed() || ps.ch.ReadError() != nil {
		t.Fatalf("closed %v error %v", ps.ch.IsClosed(), ps.ch.ReadError())
	}
}

// Big writes go out as full records (the other suites are tested with
// openssl in package bootstrap: a Go client cannot choose its TLS 1.3
// suite).
func TestTLS13BigWritesAreFullRecords(t *testing.T) {
	ps := newPeerSession(t)
	msg := bytes.Repeat([]byte("0123456789abcdef"), 3000) // 48,000 bytes
	ps.ch.WriteInbound(cat(ps.peer.Seal(23, msg[:16384]), ps.peer.Seal(23, msg[16384:32768]), ps.peer.Seal(23, msg[32768:])))
	types, data := ps.replies(t)
	if len(types) != 3 || len(data[0]) != 16384 || len(data[1]) != 16384 || !bytes.Equal(bytes.Join(data, nil), msg) {
		t.Fatalf("%d records, %d bytes", len(types), len(bytes.Join(data, nil)))
	}
}

// The loop keeps the ciphers of its ActiveCiphers most recently active
// directions; one pushed out makes its cipher again from its keys, and
// nothing is lost or reordered.
func TestTLS13CipherCache(t *testing.T) {
	ps := newPeerSession(t, func(c *tlsh.Config) { c.ActiveCiphers = 1 })
	var want []byte
	for i := range 20 {
		msg := bytes.Repeat([]byte{byte('a' + i)}, 1+i*100)
		want = append(want, msg...)
		ps.ch.WriteInbound(ps.peer.Seal(23, msg)) // opening takes the cache's one slot, sealing the echo takes it back
		if in, out := ps.h.CiphersHeld(); in || !out {
			t.Fatalf("message %d: ciphers held: in %v out %v", i, in, out)
		}
	}
	_, data := ps.replies(t)
	if !bytes.Equal(bytes.Join(data, nil), want) || !bytes.Equal(ps.got.got, want) {
		t.Fatal("the echo differs")
	}
	ps.ch.Close()
	ps.ch.RunPendingTasks()
	if in, out := ps.h.CiphersHeld(); in || out {
		t.Fatal("a closed connection keeps a cipher")
	}
}

// A connection idle for two of the cache's sweeps holds no cipher, and
// makes them again for its next record.
func TestTLS13IdleConnectionsHoldNoCipher(t *testing.T) {
	ps := newPeerSession(t)
	ps.ch.WriteInbound(ps.peer.Seal(23, []byte("one")))
	if in, out := ps.h.CiphersHeld(); !in || !out {
		t.Fatalf("an active connection's ciphers: in %v out %v", in, out)
	}
	ps.ch.Advance(time.Second) // used since the last sweep: kept
	if in, out := ps.h.CiphersHeld(); !in || !out {
		t.Fatalf("after one sweep: in %v out %v", in, out)
	}
	ps.ch.Advance(time.Second)
	if in, out := ps.h.CiphersHeld(); in || out {
		t.Fatalf("an idle connection keeps its ciphers: in %v out %v", in, out)
	}
	ps.ch.WriteInbound(ps.peer.Seal(23, []byte("two")))
	_, data := ps.replies(t)
	if string(bytes.Join(data, nil)) != "onetwo" || string(ps.got.got) != "onetwo" {
		t.Fatalf("echo %q, got %q", data, ps.got.got)
	}
}

// TLS 1.2 keeps crypto/tls's records; the application's KeyLogWriter and
// GetConfigForClient still work under the handler's take-over.
func TestTakeOverKeepsTheApplicationsConfig(t *testing.T) {
	certs := tlstest.New(t)
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		appLog := &secrets{}
		asked := 0
		scfg := certs.ServerConfig()
		inner := certs.ServerConfig()
		inner.KeyLogWriter = appLog
		scfg.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) { asked++; return inner, nil }
		got := &collect{}
		h := tlsh.New(tlsh.Config{TLS: scfg})
		s := &session{ch: pipelinetest.New(h, echoing(got)), p: newPipe(), got: got, h: h}
		ccfg := certs.ClientConfig()
		ccfg.MaxVersion = v
		s.client = tls.Client(s.p, ccfg)
		go func() { _, _ = s.client.Write([]byte("ping")) }()
		s.until(t, "the echo", nil, func() bool { return string(got.got) == "ping" })
		s.p.give(s.ch.ReadOutboundBytes())
		buf := make([]byte, 4)
		if _, err := io.ReadFull(s.client, buf); err != nil || string(buf) != "ping" {
			t.Fatalf("version %x: client read %q %v", v, buf, err)
		}
		if h.RunsRecords() != (v == tls.VersionTLS13) {
			t.Fatalf("version %x: the handler runs the records: %v", v, h.RunsRecords())
		}
		appLog.mu.Lock()
		logged := v == tls.VersionTLS12 || len(appLog.client) > 0
		appLog.mu.Unlock()
		if asked != 1 || !logged {
			t.Fatalf("version %x: GetConfigForClient called %d times, key log written %v", v, asked, logged)
		}
		s.p.Close()
	}
}

// After RekeyAfter records under one key the handler updates its own key
// (a KeyUpdate without a request, under the old key), for small and big
// writes alike.
func TestTLS13TheServerUpdatesItsKey(t *testing.T) {
	for _, size := range []int{10, 40_000} {
		ps := newPeerSession(t)
		ps.h.SkipOutRecords(tlsh.RekeyAfter - 1)
		ps.peer.SkipInRecords(tlsh.RekeyAfter - 1)
		msg := bytes.Repeat([]byte("k"), size)
		for _, half := range [][]byte{msg[:size/2], msg[size/2:]} {
			var in []byte
			for p := half; len(p) > 0; p = p[min(len(p), 16384):] {
				in = append(in, ps.peer.Seal(23, p[:min(len(p), 16384)])...)
			}
			ps.ch.WriteInbound(in)
		}
		types, data := ps.replies(t) // opens the KeyUpdate, then moves to the next key
		updates := 0
		for i, typ := range types {
			if typ == 22 {
				updates++
				if !bytes.Equal(data[i], keyUpdate) || i == 0 {
					t.Fatalf("size %d: record %d of %v is %x", size, i, types, data[i])
				}
			}
		}
		if updates != 1 {
			t.Fatalf("size %d: %d key updates in %v", size, updates, types)
		}
		var got []byte
		for i, typ := range types {
			if typ == 23 {
				got = append(got, data[i]...)
			}
		}
		if !bytes.Equal(got, msg) {
			t.Fatalf("size %d: echo of %d bytes", size, len(got))
		}
	}
}

// A closed connection's traffic secrets are zeroed, not just dropped.
func TestTLS13SecretsAreZeroedOnClose(t *testing.T) {
	ps := newPeerSession(t)
	ps.ch.WriteInbound(ps.peer.Seal(23, []byte("x")))
	if ps.h.SecretsWiped() {
		t.Fatal("secrets zero while the connection is open")
	}
	ps.ch.Close()
	if !ps.ch.IsClosed() || !ps.h.SecretsWiped() {
		t.Fatalf("closed %v, secrets still held after the close", ps.ch.IsClosed())
	}
}

// A record the handler cannot seal (the sequence number would wrap) ends
// the connection with an error, and no data goes out.
func TestTLS13SealFailureClosesTheConnection(t *testing.T) {
	ps := newPeerSession(t)
	ps.h.SetOutRecords(^uint64(0))
	ps.ch.WriteInbound(ps.peer.Seal(23, []byte("echo me")))
	if !ps.ch.IsClosed() {
		t.Fatal("the connection is still open")
	}
	if err := ps.ch.ReadError(); err == nil || !strings.Contains(err.Error(), "wraparound") {
		t.Fatalf("error %v, want the sequence number's wraparound", err)
	}
	if out := ps.ch.ReadOutboundBytes(); len(out) != 0 {
		t.Fatalf("sent %d bytes under a wrapped sequence number", len(out))
	}
}

// The handler's own key updates, checked by crypto/tls as the client:
// with an update every 3 records, 40 records' worth of echo read back
// whole by a tls.Conn, which follows each KeyUpdate.
func TestTLS13KeyUpdatesReadByCryptoTLS(t *testing.T) {
	tlsh.SetRekeyAfter(t, 3)
	certs := tlstest.New(t)
	got := &collect{}
	h := tlsh.New(tlsh.Config{TLS: certs.ServerConfig()})
	s := &session{ch: pipelinetest.New(h, echoing(got)), p: newPipe(), got: got, h: h}
	s.client = tls.Client(s.p, certs.ClientConfig())
	done := make(chan error, 1)
	go func() { done <- s.client.Handshake() }()
	s.until(t, "the handshake", nil, func() bool { return h.State().Version != 0 })
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !h.RunsRecords() {
		t.Fatal("crypto/tls still runs the records")
	}
	var want []byte
	read := make(chan error, 1)
	msgs := 40
	first := h.OutSecret()
	go func() {
		buf := make([]byte, 0, 64<<10)
		for i := range msgs {
			m := fmt.Appendf(nil, "message %d\n", i)
			if _, err := s.client.Write(m); err != nil {
				read <- err
				return
			}
			r := make([]byte, len(m))
			if _, err := io.ReadFull(s.client, r); err != nil {
				read <- fmt.Errorf("reading echo %d: %w", i, err)
				return
			}
			buf = append(buf, r...)
		}
		if !bytes.Equal(buf, want) {
			read <- fmt.Errorf("echo %q", buf)
			return
		}
		read <- nil
	}()
	for i := range msgs {
		want = fmt.Appendf(want, "message %d\n", i)
	}
	for deadline := time.Now().Add(20 * time.Second); ; {
		select {
		case err := <-read:
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Equal(h.OutSecret(), first) || h.OutRecords() >= 3 {
				t.Fatalf("the server's key was not updated every 3 records (%d under this key)", h.OutRecords())
			}
			s.p.Close()
			return
		default:
		}
		if !s.pump(nil) {
			if time.Now().After(deadline) {
				t.Fatal("timed out")
			}
			time.Sleep(time.Millisecond) // the client goroutine is working
		}
	}
}
