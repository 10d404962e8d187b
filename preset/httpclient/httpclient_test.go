package httpclient_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gnetty/gnetty/internal/tlstest"
	"github.com/gnetty/gnetty/preset/httpclient"
)

// server is a net/http server that counts its connections.
type server struct {
	*httptest.Server
	conns   atomic.Int32
	release chan struct{} // /block waits for it
}

func newServer(t *testing.T, certs *tlstest.Certs) *server {
	s := &server{release: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s %s", r.Method, r.URL.RawQuery)
	})
	mux.HandleFunc("/chunked", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Sum")
		for i := range 5 {
			fmt.Fprintf(w, "part %d;", i)
			w.(http.Flusher).Flush() // each part a chunk
		}
		w.Header().Set("X-Sum", "5 parts")
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		if r.Method != "HEAD" {
			_, _ = w.Write([]byte(strings.Repeat("b", 1000)))
		}
	})
	mux.HandleFunc("/status/{code}", func(w http.ResponseWriter, r *http.Request) {
		var code int
		fmt.Sscan(r.PathValue("code"), &code)
		w.WriteHeader(code)
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body) // reading sends the 100 Continue
		w.Header().Set("X-Expect", r.Header.Get("Expect"))
		_, _ = w.Write(body)
	})
	mux.HandleFunc("/refuse", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no uploads here", http.StatusUnauthorized) // the body is never read
	})
	mux.HandleFunc("/close", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		fmt.Fprint(w, "closing")
	})
	mux.HandleFunc("/cut", func(w http.ResponseWriter, r *http.Request) {
		c, rw, _ := w.(http.Hijacker).Hijack()
		_, _ = rw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b")
		_ = rw.Flush()
		c.Close()
	})
	mux.HandleFunc("/huge", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(make([]byte, 64<<10))
	})
	mux.HandleFunc("/block", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-s.release:
		case <-r.Context().Done():
		}
	})
	s.Server = httptest.NewUnstartedServer(mux)
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	if certs != nil {
		s.TLS = certs.ServerConfig()
		s.StartTLS()
	} else {
		s.Start()
	}
	t.Cleanup(func() { close(s.release); s.Close() })
	return s
}

func client(t *testing.T, cfg httpclient.Config) *httpclient.Client {
	c, err := httpclient.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func TestResponses(t *testing.T) {
	s := newServer(t, nil)
	c := client(t, httpclient.Config{})
	ctx := context.Background()
	do := func(req *httpclient.Request) *httpclient.Response {
		t.Helper()
		r, err := c.Do(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	r := do(&httpclient.Request{URL: s.URL + "/hello?x=1", Header: http.Header{"X-Any": {"y"}}})
	if r.Status != 200 || string(r.Body) != "hello GET x=1" || r.Proto != "HTTP/1.1" || r.Header.Get("Content-Type") == "" {
		t.Fatalf("GET: %+v", r)
	}
	// Chunked with a trailer.
	r = do(&httpclient.Request{URL: s.URL + "/chunked"})
	if string(r.Body) != "part 0;part 1;part 2;part 3;part 4;" || r.Trailer.Get("X-Sum") != "5 parts" {
		t.Fatalf("chunked: %q, trailer %v", r.Body, r.Trailer)
	}
	// HEAD: the length, no body; and the connection goes on.
	r = do(&httpclient.Request{Method: "HEAD", URL: s.URL + "/big"})
	if r.Status != 200 || len(r.Body) != 0 || r.Header.Get("Content-Length") != "1000" {
		t.Fatalf("HEAD: %+v", r)
	}
	for _, code := range []int{204, 304, 404, 500} {
		r = do(&httpclient.Request{URL: fmt.Sprint(s.URL, "/status/", code)})
		if r.Status != code || code < 400 && len(r.Body) != 0 {
			t.Fatalf("%d: %+v", code, r)
		}
	}
	r = do(&httpclient.Request{URL: s.URL + "/big"})
	if len(r.Body) != 1000 {
		t.Fatalf("after them: %d bytes", len(r.Body))
	}
	// Everything so far on one keep-alive connection.
	if n := s.conns.Load(); n != 1 {
		t.Fatalf("%d connections for sequential requests", n)
	}
	r, err := c.Post(ctx, s.URL+"/echo", "text/plain", []byte("posted"))
	if err != nil || string(r.Body) != "posted" {
		t.Fatalf("POST: %v %+v", err, r)
	}
}

func TestExpectContinue(t *testing.T) {
	s := newServer(t, nil)
	c := client(t, httpclient.Config{})
	body := []byte(strings.Repeat("upload ", 1000))
	r, err := c.Do(context.Background(), &httpclient.Request{Method: "PUT", URL: s.URL + "/echo", Body: body, ExpectContinue: true})
	if err != nil || string(r.Body) != string(body) || r.Header.Get("X-Expect") != "100-continue" {
		t.Fatalf("100-continue: %v %+v", err, r)
	}
	// Refused before the body: the answer comes, the body never leaves,
	// and the next request works (on another connection).
	r, err = c.Do(context.Background(), &httpclient.Request{Method: "PUT", URL: s.URL + "/refuse", Body: body, ExpectContinue: true})
	if err != nil || r.Status != 401 || !strings.Contains(string(r.Body), "no uploads here") {
		t.Fatalf("refused: %v %+v", err, r)
	}
	if r, err := c.Get(context.Background(), s.URL+"/hello"); err != nil || r.Status != 200 {
		t.Fatalf("after a refusal: %v %+v", err, r)
	}
}

func TestConnections(t *testing.T) {
	s := newServer(t, nil)
	c := client(t, httpclient.Config{MaxConnsPerHost: 4})
	ctx := context.Background()
	// Concurrent requests share at most MaxConnsPerHost connections.
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for range 40 {
		wg.Go(func() {
			r, err := c.Get(ctx, s.URL+"/hello")
			if err == nil && r.Status != 200 {
				err = fmt.Errorf("status %d", r.Status)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := s.conns.Load(); n < 1 || n > 4 {
		t.Fatalf("%d connections for 40 requests at most 4 at a time", n)
	}
	// Connection: close from the client, and from the server: the next
	// request opens another connection.
	before := s.conns.Load()
	if _, err := c.Do(ctx, &httpclient.Request{URL: s.URL + "/hello", Close: true}); err != nil {
		t.Fatal(err)
	}
	c.CloseIdle()
	for _, path := range []string{"/close", "/hello"} {
		if r, err := c.Get(ctx, s.URL+path); err != nil || r.Status != 200 {
			t.Fatalf("%s: %v", path, err)
		}
	}
	if n := s.conns.Load() - before; n != 2 {
		t.Fatalf("%d new connections after Connection: close (want 2)", n)
	}
	// The server closes every connection: a GET on a pooled connection
	// that turns out closed is sent again on a new one.
	s.CloseClientConnections()
	if r, err := c.Get(ctx, s.URL+"/hello"); err != nil || r.Status != 200 {
		t.Fatalf("after the server closed the pool: %v", err)
	}
}

func TestBrokenResponses(t *testing.T) {
	s := newServer(t, nil)
	c := client(t, httpclient.Config{MaxResponseBytes: 32 << 10})
	ctx := context.Background()
	if _, err := c.Get(ctx, s.URL+"/cut"); err == nil || !strings.Contains(err.Error(), "in the middle of the body") {
		t.Fatalf("cut mid-body: %v", err)
	}
	if _, err := c.Get(ctx, s.URL+"/huge"); err == nil || !strings.Contains(err.Error(), "over the limit") {
		t.Fatalf("over the limit: %v", err)
	}
	// A raw server with a malformed answer.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			_, _ = bufio.NewReader(conn).ReadString('\n')
			_, _ = conn.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"))
			conn.Close()
		}
	}()
	if _, err := c.Get(ctx, "http://"+l.Addr().String()+"/"); err == nil || !strings.Contains(err.Error(), "http1: response") {
		t.Fatalf("malformed: %v", err)
	}
	// Timeouts: the context's, and nothing else is harmed.
	tctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if _, err := c.Get(tctx, s.URL+"/block"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("blocked: %v", err)
	}
	if r, err := c.Get(ctx, s.URL+"/hello"); err != nil || r.Status != 200 {
		t.Fatalf("after them: %v", err)
	}
	if _, err := c.Get(ctx, "ftp://example.com/"); err == nil {
		t.Fatal("ftp accepted")
	}
}

func TestHTTPS(t *testing.T) {
	certs := tlstest.New(t)
	s := newServer(t, certs)
	c := client(t, httpclient.Config{TLS: certs.ClientConfig()})
	for range 3 {
		r, err := c.Get(context.Background(), s.URL+"/chunked")
		if err != nil || r.Trailer.Get("X-Sum") != "5 parts" {
			t.Fatalf("https: %v %+v", err, r)
		}
	}
	if n := s.conns.Load(); n != 1 {
		t.Fatalf("%d TLS connections for 3 requests", n)
	}
	plain := client(t, httpclient.Config{})
	if _, err := plain.Get(context.Background(), s.URL+"/hello"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("an unknown CA: %v", err)
	}
}

// Go from many goroutines; each callback once.
func TestGo(t *testing.T) {
	s := newServer(t, nil)
	c := client(t, httpclient.Config{})
	const n = 100
	var got atomic.Int32
	done := make(chan struct{})
	for i := range n {
		c.Go(&httpclient.Request{URL: fmt.Sprint(s.URL, "/hello?", i)}, func(r *httpclient.Response, err error) {
			if err != nil || string(r.Body) != fmt.Sprint("hello GET ", i) {
				t.Errorf("%d: %v %+v", i, err, r)
			}
			if got.Add(1) == n {
				close(done)
			}
		})
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("%d of %d callbacks", got.Load(), n)
	}
	c.Close()
	c.Go(&httpclient.Request{URL: s.URL + "/hello"}, func(_ *httpclient.Response, err error) {
		if !errors.Is(err, httpclient.ErrClosed) {
			t.Errorf("after Close: %v", err)
		}
	})
}
