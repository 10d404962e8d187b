package tlsh_test

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/gnetty/gnetty/handler/tlsh"
	"github.com/gnetty/gnetty/internal/tlstest"
	"github.com/gnetty/gnetty/pipeline"
	"github.com/gnetty/gnetty/pipeline/pipelinetest"
)

// pipe is the client's side of an in-memory connection to a test
// channel: what the client writes is collected for the test to feed the
// channel (split as it likes); what the channel writes is given to it.
type pipe struct {
	mu   sync.Mutex
	cond sync.Cond
	in   []byte // from the server
	out  []byte // to the server
	shut bool
}

func newPipe() *pipe { p := &pipe{}; p.cond.L = &p.mu; return p }

func (p *pipe) Read(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.in) == 0 {
		if p.shut {
			return 0, io.EOF
		}
		p.cond.Wait()
	}
	n := copy(b, p.in)
	p.in = p.in[n:]
	return n, nil
}

func (p *pipe) Write(b []byte) (int, error) {
	p.mu.Lock()
	p.out = append(p.out, b...)
	p.mu.Unlock()
	return len(b), nil
}

func (p *pipe) give(b []byte) {
	p.mu.Lock()
	p.in = append(p.in, b...)
	p.cond.Broadcast()
	p.mu.Unlock()
}

func (p *pipe) take() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	b := p.out
	p.out = nil
	return b
}

func (p *pipe) Close() error {
	p.mu.Lock()
	p.shut = true
	p.cond.Broadcast()
	p.mu.Unlock()
	return nil
}
func (p *pipe) LocalAddr() net.Addr                { return pipelinetest.Addr }
func (p *pipe) RemoteAddr() net.Addr               { return pipelinetest.Addr }
func (p *pipe) SetDeadline(t time.Time) error      { return nil }
func (p *pipe) SetReadDeadline(t time.Time) error  { return nil }
func (p *pipe) SetWriteDeadline(t time.Time) error { return nil }

// collect keeps the plaintext the TLS handler fires.
type collect struct{ got []byte }

func (c *collect) HandleRead(_ *pipeline.Context, msg any) {
	if b, ok := msg.(*pipeline.Bytes); ok {
		c.got = append(c.got, b.Bytes()...)
		b.Skip(b.Len())
	}
}

// session is a handshaken client and server: the server is a TLS handler
// on a test channel, driven by the test goroutine.
type session struct {
	ch     *pipelinetest.Channel
	client *tls.Conn
	p      *pipe
	got    *collect
	h      *tlsh.Handler
}

// pump moves bytes both ways once, feeding the channel in pieces of the
// sizes split gives (cycled); it reports whether anything moved.
func (s *session) pump(split []byte) bool {
	moved := false
	s.ch.RunPendingTasks()
	if out := s.ch.ReadOutboundBytes(); len(out) > 0 {
		s.p.give(out)
		moved = true
	}
	in := s.p.take()
	for i := 0; len(in) > 0; i++ {
		n := len(in)
		if len(split) > 0 {
			n = min(n, int(split[i%len(split)])+1)
		}
		if s.ch.IsClosed() {
			break
		}
		s.ch.WriteInbound(in[:n])
		in = in[n:]
		moved = true
	}
	return moved
}

// until pumps until cond holds (bounded).
func (s *session) until(t testing.TB, what string, split []byte, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if !s.pump(split) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out: %s", what)
			}
			time.Sleep(time.Millisecond) // the handshake goroutines are working
		}
	}
}

func handshake(t testing.TB, certs *tlstest.Certs, split []byte) *session {
	t.Helper()
	return handshakeWith(t, certs, split, certs.ClientConfig())
}

// handshakeWith is handshake with a client configuration of the test's
// (another version, say).
func handshakeWith(t testing.TB, certs *tlstest.Certs, split []byte, client *tls.Config) *session {
	t.Helper()
	got := &collect{}
	h := tlsh.New(tlsh.Config{TLS: certs.ServerConfig()})
	s := &session{ch: pipelinetest.New(h, got), p: newPipe(), got: got, h: h}
	s.client = tls.Client(s.p, client)
	done := make(chan error, 1)
	go func() { done <- s.client.Handshake() }()
	var err error
	finished := false
	s.until(t, "the handshake", split, func() bool {
		select {
		case err = <-done:
			finished = true
		default:
		}
		return finished
	})
	if err != nil {
		t.Fatal(err)
	}
	// The server's side ends once the client's Finished has arrived.
	s.until(t, "the server's handshake", split, func() bool { return h.State().Version != 0 })
	return s
}

// Records split anywhere decrypt to the same bytes, in order.
func FuzzRecordSplits(f *testing.F) {
	certs := tlstest.New(f)
	f.Add([]byte{0})           // one byte at a time
	f.Add([]byte{4, 0, 200})   // header pieces, then large
	f.Add([]byte{255, 255, 7}) // larger than records, odd remainders
	f.Fuzz(func(t *testing.T, split []byte) {
		s := handshake(t, certs, split)
		var want []byte
		for i, n := range []int{1, 100, 16 << 10, 17 << 10, 3} {
			msg := bytes.Repeat([]byte{byte('a' + i)}, n)
			want = append(want, msg...)
			go func() { _, _ = s.client.Write(msg) }()
			s.until(t, "the message", split, func() bool { return len(s.got.got) == len(want) })
		}
		if !bytes.Equal(s.got.got, want) {
			t.Fatal("the plaintext differs")
		}
		if err := s.ch.ReadError(); err != nil {
			t.Fatal(err)
		}
		s.p.Close()
	})
}

// A record altered in flight ends the connection with an alert, on the
// handler's own record layer (TLS 1.3) and on crypto/tls's (TLS 1.2),
// where it is a read error of the in-memory connection.
func TestTamperedRecordIsRefused(t *testing.T) {
	for _, v := range []uint16{tls.VersionTLS13, tls.VersionTLS12} {
		t.Run(tls.VersionName(v), func(t *testing.T) { tamperedRecord(t, v) })
	}
}

func tamperedRecord(t *testing.T, version uint16) {
	certs := tlstest.New(t)
	cfg := certs.ClientConfig()
	cfg.MinVersion, cfg.MaxVersion = version, version
	s := handshakeWith(t, certs, nil, cfg)
	if s.h.RunsRecords() != (version == tls.VersionTLS13) {
		t.Fatalf("%s: the handler runs the records: %v", tls.VersionName(version), s.h.RunsRecords())
	}
	go func() { _, _ = s.client.Write([]byte("hello")) }()
	var rec []byte
	for deadline := time.Now().Add(10 * time.Second); len(rec) == 0; {
		if rec = s.p.take(); len(rec) == 0 {
			if time.Now().After(deadline) {
				t.Fatal("the client wrote nothing")
			}
			time.Sleep(time.Millisecond)
		}
	}
	rec[len(rec)-1] ^= 1
	s.ch.WriteInbound(rec)
	s.ch.RunPendingTasks()
	if !s.ch.IsClosed() {
		t.Fatal("a tampered record did not close the connection")
	}
	out := s.ch.ReadOutboundBytes()   // the alert
	if len(out) < 5 || out[0] != 21 { // an alert record (encrypted in TLS 1.3 as application data)
		if len(out) < 5 || out[0] != 23 {
			t.Fatalf("no alert sent: %x", out)
		}
	}
	var rh tls.RecordHeaderError
	if err := s.ch.ReadError(); err == nil || errors.As(err, &rh) {
		t.Fatalf("error %v", err)
	}
	if len(s.got.got) != 0 {
		t.Fatalf("tampered plaintext delivered: %q", s.got.got)
	}
	s.p.Close()
}

// Replies to one read share records: a handler that answers every byte
// of what it got with its own write and flush produces one record, not
// one per write.
func TestRepliesToOneReadShareARecord(t *testing.T) {
	certs := tlstest.New(t)
	h := tlsh.New(tlsh.Config{TLS: certs.ServerConfig()})
	echoEach := pipeline.ReadFunc(func(ctx *pipeline.Context, msg any) {
		b := msg.(*pipeline.Bytes)
		for _, c := range b.Bytes() {
			ctx.WriteAndFlush([]byte{c})
		}
		b.Skip(b.Len())
	})
	s := &session{ch: pipelinetest.New(h, echoEach), p: newPipe(), got: &collect{}}
	s.client = tls.Client(s.p, certs.ClientConfig())
	done := make(chan error, 1)
	go func() { done <- s.client.Handshake() }()
	s.until(t, "the handshake", nil, func() bool { return h.State().Version != 0 })
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	s.ch.ReadOutboundBytes() // session tickets
	go func() { _, _ = s.client.Write([]byte("eight by")) }()
	var out []byte
	for deadline := time.Now().Add(10 * time.Second); len(out) == 0; {
		s.pump(nil)
		s.ch.RunPendingTasks()
		out = append(out, s.ch.ReadOutboundBytes()...)
		if len(out) == 0 {
			if time.Now().After(deadline) {
				t.Fatal("no answer")
			}
			time.Sleep(time.Millisecond)
		}
	}
	records := 0
	for b := out; len(b) >= 5; records++ {
		n := int(b[3])<<8 | int(b[4])
		b = b[5+n:]
	}
	if records != 1 {
		t.Fatalf("8 one-byte replies to one read took %d records", records)
	}
	s.p.give(out)
	got := make([]byte, 8)
	if _, err := io.ReadFull(s.client, got); err != nil || string(got) != "eight by" {
		t.Fatalf("client read %q %v", got, err)
	}
	s.p.Close()
}

// After a TLS 1.3 handshake the handler runs the records itself; what
// the server sends after its session tickets opens at the client.
func TestTLS13RecordsRunByTheHandler(t *testing.T) {
	certs := tlstest.New(t)
	s := handshake(t, certs, nil)
	if !s.h.RunsRecords() {
		t.Fatal("crypto/tls still runs the records")
	}
	s.p.Close()
}
