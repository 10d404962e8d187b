package tlsh_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gnetty/gnetty/bootstrap"
	"github.com/gnetty/gnetty/codec/frame"
	"github.com/gnetty/gnetty/handler/tlsh"
	"github.com/gnetty/gnetty/internal/servertest"
	"github.com/gnetty/gnetty/internal/tlstest"
	"github.com/gnetty/gnetty/pipeline"
)

// startTLS runs a TLS server; its handshake timeout is generous (a busy
// machine running 500 handshakes under the race detector is slow) but
// for the test of the timeout itself.
func startTLS(t *testing.T, cfg *tls.Config, init func(*pipeline.Channel)) *bootstrap.Server {
	t.Helper()
	return startTLSTimeout(t, cfg, init, time.Minute)
}

func startTLSTimeout(t *testing.T, cfg *tls.Config, init func(*pipeline.Channel), timeout time.Duration) *bootstrap.Server {
	t.Helper()
	if init == nil {
		init = bigLineEcho
	}
	return start(t, bootstrap.Config{Initializer: tlsh.Initializer(tlsh.Config{TLS: cfg, HandshakeTimeout: timeout}, init)})
}

// The servers of these tests are bootstrap's, over real sockets, with the
// TLS handler first in every pipeline (tlsh.Initializer).

var quiet = slog.New(slog.DiscardHandler)

type echo struct{}

func (echo) HandleRead(ctx *pipeline.Context, msg any) { ctx.Write(msg) }
func (echo) HandleReadComplete(ctx *pipeline.Context)  { ctx.Flush() }

func lineEcho(ch *pipeline.Channel) {
	p := ch.Pipeline()
	_ = p.AddLast("lines", frame.NewLineDecoder(frame.LineConfig{}))
	_ = p.AddLast("string", frame.NewStringCodec(frame.StringConfig{Delimiter: "\n"}))
	_ = p.AddLast("echo", echo{})
}

// dial connects to s over plain TCP, closed at the end of the test.
func dial(t *testing.T, s *bootstrap.Server) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", s.Addrs()[0].String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	return c
}

// start runs a server on 127.0.0.1 with a free port and stops it at the
// end of the test.
func start(t testing.TB, cfg bootstrap.Config) *bootstrap.Server {
	t.Helper()
	cfg.Addrs = []string{"tcp://127.0.0.1:0"}
	cfg.Workers, cfg.Logger = 2, quiet
	s, err := bootstrap.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	servertest.Start(t, s)
	return s
}

// bigLineEcho echoes lines of up to 1 MiB.
func bigLineEcho(ch *pipeline.Channel) {
	p := ch.Pipeline()
	_ = p.AddLast("lines", frame.NewLineDecoder(frame.LineConfig{MaxLength: 1 << 20}))
	_ = p.AddLast("string", frame.NewStringCodec(frame.StringConfig{Delimiter: "\n"}))
	_ = p.AddLast("echo", echo{})
}

func dialTLS(t *testing.T, s *bootstrap.Server, cfg *tls.Config) *tls.Conn {
	t.Helper()
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 5 * time.Second}, Config: cfg}
	c, err := d.DialContext(context.Background(), "tcp", s.Addrs()[0].String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	return c.(*tls.Conn)
}

// lines writes every line in pieces of random sizes and reads them back.
func echoLines(t *testing.T, c net.Conn, lines []string) {
	t.Helper()
	var all []byte
	for _, l := range lines {
		all = append(all, l...)
		all = append(all, '\n')
	}
	errc := make(chan error, 1)
	go func() {
		rest := all
		for len(rest) > 0 {
			n := min(len(rest), 1+rand.IntN(20000))
			if _, err := c.Write(rest[:n]); err != nil {
				errc <- err
				return
			}
			rest = rest[n:]
		}
		errc <- nil
	}()
	r := bufio.NewReaderSize(c, 1<<20)
	for i, want := range lines {
		got, err := r.ReadString('\n')
		if err != nil || got != want+"\n" {
			t.Fatalf("line %d: %d bytes %v, want %d", i, len(got), err, len(want)+1)
		}
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

func TestTLSEchoBothVersionsAndALPN(t *testing.T) {
	certs := tlstest.New(t)
	protos := make(chan string, 4)
	s := startTLS(t, certs.ServerConfig(), func(ch *pipeline.Channel) {
		bigLineEcho(ch)
		_ = ch.Pipeline().AddLast("alpn", pipeline.UserEventFunc(func(ctx *pipeline.Context, ev any) {
			if d, ok := ev.(tlsh.HandshakeDone); ok {
				select { // never block the loop
				case protos <- d.State.NegotiatedProtocol + " " + tlsh.FromChannel(ctx.Channel()).State().NegotiatedProtocol:
				default:
				}
			}
			ctx.FireUserEvent(ev)
		}))
	})
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		cfg := certs.ClientConfig()
		cfg.MinVersion, cfg.MaxVersion = v, v
		cfg.NextProtos = []string{"h2", "http/1.1"}
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := dialTLS(t, s, cfg)
				if c.ConnectionState().Version != v || c.ConnectionState().NegotiatedProtocol != "http/1.1" {
					t.Errorf("version %x alpn %q", c.ConnectionState().Version, c.ConnectionState().NegotiatedProtocol)
				}
				lines := []string{"hello", strings.Repeat("x", 200_000), fmt.Sprint("conn ", i)}
				for range 50 {
					lines = append(lines, strings.Repeat("y", rand.IntN(3000)))
				}
				echoLines(t, c, lines)
			}()
		}
		wg.Wait()
		if p := <-protos; p != "http/1.1 http/1.1" {
			t.Fatalf("the server's side of ALPN: %q", p)
		}
	}
}

func TestTLSBadInputEndsOnlyThatConnection(t *testing.T) {
	certs := tlstest.New(t)
	s := startTLS(t, certs.ServerConfig(), nil)
	good := dialTLS(t, s, certs.ClientConfig())
	echoLines(t, good, []string{"before"})

	raw := func(send []byte) []byte {
		c := dial(t, s)
		_, _ = c.Write(send)
		got, _ := io.ReadAll(c) // until the server closes
		return got
	}
	// Plaintext HTTP on the TLS port gets net/http's answer.
	if got := raw([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")); !bytes.HasPrefix(got, []byte("HTTP/1.0 400 Bad Request")) {
		t.Fatalf("plaintext HTTP got %q", got)
	}
	// Garbage, and a record of a version that does not exist: closed
	// (with an alert or without a word).
	for _, in := range [][]byte{bytes.Repeat([]byte{0xde, 0xad}, 100), {0x16, 0x20, 0x00, 0x00, 0x05, 1, 2, 3, 4, 5}} {
		if got := raw(in); len(got) > 7 {
			t.Fatalf("garbage answered %q", got)
		}
	}
	// A client that only offers TLS 1.1 is refused with an alert.
	old := certs.ClientConfig()
	old.MinVersion, old.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
	c, err := tls.Dial("tcp", s.Addrs()[0].String(), old)
	if err == nil {
		c.Close()
		t.Fatal("TLS 1.1 handshake succeeded")
	}
	if !strings.Contains(err.Error(), "protocol version") {
		t.Fatalf("TLS 1.1: %v", err)
	}
	// A truncated ClientHello, then the peer half-closes: closed.
	hello := clientHelloBytes(t, certs.ClientConfig())
	half := dial(t, s)
	_, _ = half.Write(hello[:len(hello)/2])
	_ = half.(*net.TCPConn).CloseWrite()
	if got, err := io.ReadAll(half); err != nil || len(got) > 7 {
		t.Fatalf("a truncated hello: %q %v", got, err)
	}
	echoLines(t, good, []string{"after"})
}

// clientHelloBytes captures the first flight a Go client sends.
func clientHelloBytes(t *testing.T, cfg *tls.Config) []byte {
	t.Helper()
	a, b := net.Pipe()
	go func() {
		_ = tls.Client(a, cfg).Handshake()
	}()
	buf := make([]byte, 4096)
	_ = b.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := b.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	a.Close()
	b.Close()
	return buf[:n]
}

func TestTLSHandshakeTimeoutCutsAStalledClient(t *testing.T) {
	certs := tlstest.New(t)
	s := startTLSTimeout(t, certs.ServerConfig(), nil, 2*time.Second)
	hello := clientHelloBytes(t, certs.ClientConfig())
	c := dial(t, s)
	_, _ = c.Write(hello[:10]) // part of a ClientHello, then nothing
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.ReadAll(c); err != nil {
		t.Fatalf("the stalled connection was not closed by the server: %v", err)
	}
	waitFor(t, "the handshake goroutine ends", func() bool { return tlsh.Handshakes.Load() == 0 })
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	servertest.WaitFor(t, what, cond)
}

func TestTLSClientCertificatesSNIAndResumption(t *testing.T) {
	certs := tlstest.New(t)
	other, _, _ := certs.Sign(t, "other", "other.test")
	clientCert, _, _ := certs.Sign(t, "client", "client-ann")
	cfg := &tls.Config{
		ClientAuth: tls.RequireAndVerifyClientCert,
		ClientCAs:  certs.CA,
		GetCertificate: func(hi *tls.ClientHelloInfo) (*tls.Certificate, error) {
			if hi.ServerName == "other.test" {
				return &other, nil
			}
			return &certs.Server, nil
		},
	}
	peers := make(chan string, 8)
	s := startTLS(t, cfg, func(ch *pipeline.Channel) {
		lineEcho(ch)
		_ = ch.Pipeline().AddLast("peer", pipeline.UserEventFunc(func(ctx *pipeline.Context, ev any) {
			if d, ok := ev.(tlsh.HandshakeDone); ok && len(d.State.PeerCertificates) > 0 {
				select {
				case peers <- d.State.PeerCertificates[0].Subject.CommonName:
				default:
				}
			}
			ctx.FireUserEvent(ev)
		}))
	})
	// Without a client certificate: refused.
	if c, err := tls.Dial("tcp", s.Addrs()[0].String(), certs.ClientConfig()); err == nil {
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err = c.Read(make([]byte, 1)); err == nil { // TLS 1.3 reports it on the first read
			t.Fatal("a client without a certificate was let in")
		}
		c.Close()
	}
	cc := certs.ClientConfig()
	cc.Certificates = []tls.Certificate{clientCert}
	cc.ClientSessionCache = tls.NewLRUClientSessionCache(4)
	cc.ServerName = "other.test"
	first := dialTLS(t, s, cc)
	echoLines(t, first, []string{"sni"})
	if cn := first.ConnectionState().PeerCertificates[0].Subject.CommonName; cn != "other.test" {
		t.Fatalf("SNI other.test got the certificate of %q", cn)
	}
	if p := <-peers; p != "client-ann" {
		t.Fatalf("server saw client %q", p)
	}
	first.Close()
	second := dialTLS(t, s, cc)
	echoLines(t, second, []string{"resumed"}) // the ticket arrives after the handshake: read first
	third := dialTLS(t, s, cc)
	echoLines(t, third, []string{"resumed"})
	if !third.ConnectionState().DidResume {
		t.Fatal("the session was not resumed")
	}
}

func TestTLSManyConcurrentHandshakes(t *testing.T) {
	certs := tlstest.New(t)
	s := startTLS(t, certs.ServerConfig(), nil)
	var wg sync.WaitGroup
	errs := make(chan error, 500)
	for i := range 500 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := tls.DialWithDialer(&net.Dialer{Timeout: 20 * time.Second}, "tcp", s.Addrs()[0].String(), certs.ClientConfig())
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(30 * time.Second))
			line := fmt.Sprintf("client %d\n", i)
			if _, err := c.Write([]byte(line)); err != nil {
				errs <- err
				return
			}
			got, err := bufio.NewReader(c).ReadString('\n')
			if err != nil || got != line {
				errs <- fmt.Errorf("client %d got %q %v", i, got, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	waitFor(t, "handshake goroutines end", func() bool { return tlsh.Handshakes.Load() == 0 })
}

// The client bootstrap speaks TLS too.
func TestTLSClientBootstrap(t *testing.T) {
	certs := tlstest.New(t)
	s := startTLS(t, certs.ServerConfig(), nil)
	cli, err := bootstrap.NewClient(bootstrap.ClientConfig{Workers: 1, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	got := make(chan string, 1)
	ch, err := cli.Dial(context.Background(), "tcp", s.Addrs()[0].String(), tlsh.Initializer(tlsh.Config{TLS: certs.ClientConfig(), Client: true}, func(ch *pipeline.Channel) {
		_ = ch.Pipeline().AddLast("read", pipeline.ReadFunc(func(ctx *pipeline.Context, msg any) {
			if b, ok := msg.(*pipeline.Bytes); ok {
				got <- b.String()
				b.Skip(b.Len())
			}
		}))
	}))
	if err != nil {
		t.Fatal(err)
	}
	ch.WriteAndFlush([]byte("over tls\n")) // written before the handshake ends: held, then sent
	select {
	case s := <-got:
		if s != "over tls\n" {
			t.Fatalf("got %q", s)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no echo through the client bootstrap")
	}
	ch.Close()
}

// openssl s_client on each TLS 1.3 suite, with KeyUpdate both ways: the
// handler runs TLS 1.3 records itself after the handshake, and a real
// client checks every suite and key change.
func TestTLS13SuitesAndKeyUpdateWithOpenSSL(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Fatal("openssl is required (.ci/run installs it)")
	}
	certs := tlstest.New(t)
	s := startTLS(t, certs.ServerConfig(), nil)
	for _, suite := range []string{"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"} {
		t.Run(suite, func(t *testing.T) {
			cmd := exec.Command(openssl, "s_client", "-tls1_3", "-ciphersuites", suite, "-CAfile", certs.CAFile,
				"-connect", s.Addrs()[0].String(), "-servername", "localhost")
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			pr, pw := io.Pipe()
			cmd.Stdout, cmd.Stderr = pw, pw
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait(); _ = pw.Close() })
			lines := make(chan string, 1000)
			go func() {
				sc := bufio.NewScanner(pr)
				for sc.Scan() {
					lines <- sc.Text()
				}
				close(lines)
			}()
			var seen []string
			wait := func(want string) {
				t.Helper()
				deadline := time.After(20 * time.Second)
				for {
					select {
					case l, ok := <-lines:
						if !ok {
							t.Fatalf("openssl ended before %q:\n%s", want, strings.Join(seen, "\n"))
						}
						seen = append(seen, l)
						if strings.Contains(l, want) {
							return
						}
					case <-deadline:
						t.Fatalf("no %q from openssl:\n%s", want, strings.Join(seen, "\n"))
					}
				}
			}
			send := func(s string) {
				t.Helper()
				if _, err := io.WriteString(stdin, s); err != nil {
					t.Fatal(err)
				}
			}
			wait(suite) // "Cipher is ..." once handshaken
			send("first line\n")
			wait("first line")
			send("K\n") // KeyUpdate, asking for the server's
			wait("KEYUPDATE")
			send("after the update\n")
			wait("after the update")
			send("k\n") // KeyUpdate without a request
			wait("KEYUPDATE")
			send(strings.Repeat("z", 40_000) + "\n") // three records each way
			wait(strings.Repeat("z", 40_000))
			_ = stdin.Close()
			if err := cmd.Wait(); err != nil {
				t.Fatalf("openssl: %v\n%s", err, strings.Join(seen, "\n"))
			}
		})
	}
}

// heldConn holds every write after the first (the ClientHello) until
// release, so that a TLS 1.3 client's Finished and its first data arrive
// in one segment, as a fast client's often do.
type heldConn struct {
	net.Conn
	mu     sync.Mutex
	writes int
	held   []byte
}

func (c *heldConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes++
	if c.writes == 1 {
		return c.Conn.Write(p)
	}
	c.held = append(c.held, p...)
	return len(p), nil
}

func (c *heldConn) release() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, err := c.Conn.Write(c.held)
	c.held = nil
	return err
}

// A handler that refuses a connection on HandshakeDone (by ALPN, SNI or
// client certificate) closes it: nothing the client sent with its
// Finished reaches the handlers behind it, and nothing more is sent but
// close_notify.
func TestNoDataPastAHandlerThatClosedOnHandshakeDone(t *testing.T) {
	certs := tlstest.New(t)
	var mu sync.Mutex
	leaked := 0
	inactive := make(chan struct{}, 16)
	s := startTLS(t, certs.ServerConfig(), func(ch *pipeline.Channel) {
		p := ch.Pipeline()
		_ = p.AddLast("refuse", pipeline.UserEventFunc(func(ctx *pipeline.Context, ev any) {
			if _, ok := ev.(tlsh.HandshakeDone); ok {
				ctx.Close()
				return
			}
			ctx.FireUserEvent(ev)
		}))
		_ = p.AddLast("behind", pipeline.ReadFunc(func(ctx *pipeline.Context, msg any) {
			if b, ok := msg.(*pipeline.Bytes); ok {
				mu.Lock()
				leaked += b.Len()
				mu.Unlock()
				b.Skip(b.Len())
			}
		}))
		_ = p.AddLast("done", pipeline.InactiveFunc(func(ctx *pipeline.Context) {
			inactive <- struct{}{}
		}))
	})
	for i := range 5 {
		raw, err := net.DialTimeout("tcp", s.Addrs()[0].String(), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_ = raw.SetDeadline(time.Now().Add(20 * time.Second))
		hc := &heldConn{Conn: raw}
		cfg := certs.ClientConfig()
		cfg.MinVersion = tls.VersionTLS13
		c := tls.Client(hc, cfg)
		if err := c.Handshake(); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write([]byte("31 bytes sent with the Finished")); err != nil {
			t.Fatal(err)
		}
		if err := hc.release(); err != nil {
			t.Fatal(err)
		}
		if n, err := c.Read(make([]byte, 64)); err != io.EOF {
			t.Fatalf("client %d: read %d bytes, %v; want close_notify", i, n, err)
		}
		<-inactive
		c.Close()
	}
	mu.Lock()
	defer mu.Unlock()
	if leaked != 0 {
		t.Fatalf("%d bytes reached the handlers behind one that closed", leaked)
	}
}
