package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptrace"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gnetty/gnetty/handler/tlsh"
	"github.com/gnetty/gnetty/internal/servertest"
	"github.com/gnetty/gnetty/internal/tlstest"
)

func startHello(t *testing.T) string {
	t.Helper()
	s, closeSessions, err := newServer("127.0.0.1:0", 2, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeSessions)
	return servertest.Start(t, s)
}

func client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{
		Jar:       jar,
		Timeout:   10 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 4, TLSClientConfig: &tls.Config{}},
	}
}

func TestNetHTTPClientKeepAlive(t *testing.T) {
	addr := startHello(t)
	c := client()
	defer c.CloseIdleConnections()
	reused := 0
	for i := range 20 {
		trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
			if info.Reused {
				reused++
			}
		}}
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "GET", fmt.Sprintf("http://%s/hello/n%d", addr, i), nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != fmt.Sprintf("Hello, n%d!", i) {
			t.Fatalf("%d %q", resp.StatusCode, body)
		}
	}
	if reused != 19 {
		t.Fatalf("connection reused %d times of 19", reused)
	}
}

func TestNetHTTPChunkedUploadAndSessions(t *testing.T) {
	addr := startHello(t)
	c := client()
	defer c.CloseIdleConnections()
	payload := bytes.Repeat([]byte("0123456789"), 50_000) // 500 KB
	pr, pw := io.Pipe()
	go func() {
		for off := 0; off < len(payload); off += 7_000 {
			_, _ = pw.Write(payload[off:min(off+7_000, len(payload))])
		}
		pw.Close()
	}()
	resp, err := c.Post("http://"+addr+"/api/echo", "application/octet-stream", pr) // unknown length: chunked
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(got, payload) {
		t.Fatalf("echo: %d, %d bytes", resp.StatusCode, len(got))
	}

	check := func(path string, wantStatus int, wantBody string) {
		t.Helper()
		resp, err := c.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != wantStatus || !strings.Contains(string(b), wantBody) {
			t.Fatalf("%s: %d %q", path, resp.StatusCode, b)
		}
	}
	check("/me", 401, "not logged in")
	resp, err = c.Post("http://"+addr+"/login", "text/plain", strings.NewReader("ann"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	check("/me", 200, "ann")
	resp, err = c.Post("http://"+addr+"/logout", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	check("/me", 401, "not logged in")
}

func TestPipelinedRequestsOverOneSocket(t *testing.T) {
	addr := startHello(t)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	paths := []string{"/hello/a", "/api/time", "/static/site.css", "/hello/b", "/nope"}
	var batch strings.Builder
	for _, p := range paths {
		batch.WriteString("GET " + p + " HTTP/1.1\r\nHost: x\r\n\r\n")
	}
	if _, err := io.WriteString(c, batch.String()); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	want := []struct {
		status int
		body   string
	}{{200, "Hello, a!"}, {200, `"time"`}, {200, "font-family"}, {200, "Hello, b!"}, {404, "not found"}}
	for i, w := range want {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != w.status || !strings.Contains(string(b), w.body) {
			t.Fatalf("response %d (%s): %d %q", i, paths[i], resp.StatusCode, b)
		}
	}
}

// raw sends bytes and returns everything the server answers until it
// closes the connection or goes quiet.
func raw(t *testing.T, addr, input string) (string, bool) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, input); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	out, err := io.ReadAll(c)
	closed := err == nil // EOF: the server closed
	return string(out), closed
}

func TestSmugglingAndLimitsOverSockets(t *testing.T) {
	addr := startHello(t)
	cases := []struct {
		name, input string
		code        int
	}{
		{"CL and TE", "POST /api/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /hello/smuggled HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"two content lengths", "POST /api/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde", 400},
		{"TE obfuscated", "POST /api/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n", 501},
		{"bad chunk size", "POST /api/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n\r\n", 400},
		{"bare CR", "GET / HTTP/1.1\r\nHost: x\r\nX: a\rb\r\n\r\n", 400},
		{"space before colon", "GET / HTTP/1.1\r\nHost: x\r\nContent-Length : 0\r\n\r\n", 400},
		{"folding", "GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n\tb\r\n\r\n", 400},
		{"NUL", "GET / HTTP/1.1\r\nHost: x\r\nX: \x00\r\n\r\n", 400},
		{"URI too long", "GET /" + strings.Repeat("a", 10_000) + " HTTP/1.1\r\nHost: x\r\n\r\n", 414},
		{"head too large", "GET / HTTP/1.1\r\nHost: x\r\n" + strings.Repeat("X-Pad: "+strings.Repeat("p", 1000)+"\r\n", 70) + "\r\n", 431},
		{"HTTP/2.0", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505},
		{"body too large", "POST /api/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\nConnection: close\r\n\r\n", 413},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, closed := raw(t, addr, tc.input)
			if !strings.HasPrefix(out, fmt.Sprintf("HTTP/1.1 %d ", tc.code)) {
				t.Fatalf("answer %q", out)
			}
			if strings.Count(out, "HTTP/1.1 ") != 1 {
				t.Fatalf("more than one answer (smuggled request served?):\n%s", out)
			}
			if !closed {
				t.Fatal("connection not closed")
			}
		})
	}
	// Every other connection goes on.
	if out, _ := raw(t, addr, "GET /hello/after HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); !strings.Contains(out, "Hello, after!") {
		t.Fatalf("server unwell after bad input: %q", out)
	}
}

func TestCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Fatal("curl is required (.ci/run installs it)")
	}
	addr := startHello(t)
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(curl, append([]string{"-s", "-S", "--max-time", "10"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("curl %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	if out := run("-i", "http://"+addr+"/hello/curl"); !strings.Contains(out, "HTTP/1.1 200 OK") || !strings.Contains(out, "Hello, curl!") {
		t.Fatalf("GET: %s", out)
	}
	if out := run("-I", "http://"+addr+"/static/index.html"); !strings.Contains(out, "Content-Type: text/html") || strings.Contains(out, "<h1>") {
		t.Fatalf("HEAD: %s", out)
	}
	body := strings.Repeat("chunk!", 10_000)
	if out := run("-H", "Transfer-Encoding: chunked", "--data-binary", body, "http://"+addr+"/api/echo"); out != body {
		t.Fatalf("chunked upload echoed %d bytes", len(out))
	}
	if out := run("-H", "Expect: 100-continue", "--data-binary", body, "http://"+addr+"/api/echo"); out != body {
		t.Fatalf("100-continue upload echoed %d bytes", len(out))
	}
	etagOut := run("-i", "http://"+addr+"/static/site.css")
	i := strings.Index(etagOut, "ETag: ")
	etag := strings.TrimSpace(etagOut[i+6 : i+6+strings.Index(etagOut[i+6:], "\n")])
	if out := run("-i", "-H", "If-None-Match: "+etag, "http://"+addr+"/static/site.css"); !strings.Contains(out, "304 Not Modified") {
		t.Fatalf("conditional GET: %s", out)
	}
	if out := run("-i", "-X", "DELETE", "http://"+addr+"/hello/x"); !strings.Contains(out, "405 Method Not Allowed") || !strings.Contains(out, "Allow: GET, HEAD") {
		t.Fatalf("405: %s", out)
	}
	urls := []string{}
	for i := range 5 {
		urls = append(urls, fmt.Sprintf("http://%s/hello/k%d", addr, i))
	}
	if out := run(urls...); out != "Hello, k0!Hello, k1!Hello, k2!Hello, k3!Hello, k4!" {
		t.Fatalf("keep-alive sequence: %q", out)
	}
}

func TestDeepPipelineOverOneSocket(t *testing.T) {
	addr := startHello(t)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	const n = 300 // more than http1.MaxPipelined: the rest waits, then flows
	go func() {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "GET /hello/p%d HTTP/1.1\r\nHost: x\r\n\r\n", i)
		}
		_, _ = io.WriteString(c, b.String())
	}()
	br := bufio.NewReader(c)
	for i := range n {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		b, _ := io.ReadAll(resp.Body)
		if want := fmt.Sprintf("Hello, p%d!", i); string(b) != want {
			t.Fatalf("response %d = %q, want %q", i, b, want)
		}
	}
}

// TestHTTPSWithCurlAndOpenSSL serves the example over TLS (a test CA) and
// talks to it with curl (ALPN, keep-alive, a chunked upload, the session
// cookie marked Secure) and openssl s_client with TLS 1.3 and 1.2 forced.
func TestHTTPSWithCurlAndOpenSSL(t *testing.T) {
	certs := tlstest.New(t)
	cfg, err := tlsh.ServerConfig(certs.CertFile, certs.KeyFile, "http/1.1")
	if err != nil {
		t.Fatal(err)
	}
	s, closeSessions, err := newServer("127.0.0.1:0", 2, slog.New(slog.DiscardHandler), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeSessions)
	addr := servertest.Start(t, s)
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Fatal("curl is required (.ci/run installs it)")
	}
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(curl, append([]string{"-sS", "--max-time", "10", "--cacert", certs.CAFile}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("curl %.200v: %v\n%.2000s", args, err, out)
		}
		return string(out)
	}
	base := "https://" + addr
	if out := run("-v", base+"/hello/tls"); !strings.Contains(out, "Hello, tls!") || !strings.Contains(out, "ALPN: server accepted http/1.1") {
		t.Fatalf("GET over https: %s", out)
	}
	body := strings.Repeat("secret!", 50_000)
	bodyFile := filepath.Join(t.TempDir(), "body")
	if err := os.WriteFile(bodyFile, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := run("-H", "Transfer-Encoding: chunked", "--data-binary", "@"+bodyFile, base+"/api/echo"); out != body {
		t.Fatalf("chunked upload over https echoed %d bytes", len(out))
	}
	if out := run(base+"/hello/a", base+"/hello/b"); out != "Hello, a!Hello, b!" {
		t.Fatalf("keep-alive over https: %q", out)
	}
	if out := run("-i", "--data-binary", "ann", base+"/login"); !strings.Contains(strings.ToLower(out), "; secure") {
		t.Fatalf("the session cookie is not Secure over TLS: %s", out)
	}
	// Plain http:// on the TLS port gets net/http's answer.
	if out, _ := exec.Command(curl, "-sS", "--max-time", "10", "http://"+addr+"/").CombinedOutput(); !strings.Contains(string(out), "Client sent an HTTP request to an HTTPS server") {
		t.Fatalf("plaintext on the TLS port: %s", out)
	}

	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Fatal("openssl is required")
	}
	for _, v := range []struct{ flag, want string }{{"-tls1_3", "TLSv1.3"}, {"-tls1_2", "TLSv1.2"}} {
		cmd := exec.Command(openssl, "s_client", v.flag, "-alpn", "http/1.1", "-CAfile", certs.CAFile, "-connect", addr, "-servername", "localhost", "-ign_eof")
		cmd.Stdin = strings.NewReader("GET /hello/openssl HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("openssl %s: %v\n%s", v.flag, err, out)
		}
		o := string(out)
		if !strings.Contains(o, "Protocol: "+v.want) && !strings.Contains(o, "Protocol  : "+v.want) && !strings.Contains(o, ", "+v.want+",") {
			t.Fatalf("openssl %s: no %s in\n%s", v.flag, v.want, o)
		}
		if !strings.Contains(o, "ALPN protocol: http/1.1") || !strings.Contains(o, "Verify return code: 0 (ok)") || !strings.Contains(o, "Hello, openssl!") {
			t.Fatalf("openssl %s:\n%s", v.flag, o)
		}
	}
	// A version the server does not speak is refused with an alert.
	cmd := exec.Command(openssl, "s_client", "-tls1_1", "-connect", addr)
	cmd.Stdin = strings.NewReader("")
	if out, _ := cmd.CombinedOutput(); !strings.Contains(string(out), "alert protocol version") && !strings.Contains(string(out), "no protocols available") {
		t.Fatalf("TLS 1.1 with openssl:\n%s", out)
	}
}

// TestPipelineWithABadRequestLast: answers made on the loop, off it
// (net/http) and from files all come out before the 400 for a malformed
// request that followed them in the same write.
func TestPipelineWithABadRequestLast(t *testing.T) {
	addr := startHello(t)
	servertest.PipelinedThenBad(t, addr, []string{"/hello/a", "/api/time", "/static/site.css", "/nope"}, []int{200, 200, 200, 404})
}
