package http1_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gnetty/gnetty/codec/http1"
	"github.com/gnetty/gnetty/pipeline"
	"github.com/gnetty/gnetty/pipeline/pipelinetest"
)

// clientSeen keeps what the aggregated client chain fired.
type clientSeen struct {
	got  []string
	errs []string
}

func (s *clientSeen) HandleRead(ctx *pipeline.Context, msg any) {
	switch m := msg.(type) {
	case *http1.ClientResponse:
		line := fmt.Sprintf("%s %d %q", m.Request.Target, m.Status, m.Body)
		if len(m.Trailer) > 0 {
			line += " trailer " + m.Trailer.Get("X-Sum")
		}
		if !m.KeepAlive && m.Status >= 200 {
			line += " close"
		}
		s.got = append(s.got, line)
	case *pipeline.Bytes:
		s.got = append(s.got, "bytes "+m.String())
		m.Skip(m.Len())
	}
}

func (s *clientSeen) HandleError(ctx *pipeline.Context, err error) {
	var re *http1.ResponseError
	if errors.As(err, &re) && re.Request != nil {
		s.errs = append(s.errs, re.Request.Target+": "+re.Reason)
		return
	}
	s.errs = append(s.errs, err.Error())
}

func newClient(t *testing.T) (*pipelinetest.Channel, *clientSeen) {
	s := &clientSeen{}
	return pipelinetest.New(http1.NewClientCodec(http1.ClientConfig{ContinueTimeout: time.Second}), http1.NewResponseAggregator(1<<10), s), s
}

func TestClientCodecResponses(t *testing.T) {
	cases := []struct {
		name   string
		reqs   []*http1.ClientRequest
		wire   []string // the server's bytes, in reads
		want   []string
		closed bool
	}{
		{name: "content-length", reqs: []*http1.ClientRequest{{Target: "/a", Host: "h"}},
			wire: []string{"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel", "lo"}, want: []string{`/a 200 "hello"`}},
		{name: "chunked with a trailer", reqs: []*http1.ClientRequest{{Target: "/c", Host: "h"}},
			wire: []string{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\nX-Sum: 5\r\n\r\n"}, want: []string{`/c 200 "abcde" trailer 5`}},
		{name: "HEAD has no body", reqs: []*http1.ClientRequest{{Method: "HEAD", Target: "/h", Host: "h"}, {Target: "/next", Host: "h"}},
			wire: []string{"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"}, want: []string{`/h 200 ""`, `/next 200 "ok"`}},
		{name: "204 and 304 have none", reqs: []*http1.ClientRequest{{Target: "/1", Host: "h"}, {Target: "/2", Host: "h"}},
			wire: []string{"HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n"}, want: []string{`/1 204 ""`, `/2 304 ""`}},
		{name: "body until close", reqs: []*http1.ClientRequest{{Target: "/eof", Host: "h"}},
			wire: []string{"HTTP/1.1 200 OK\r\n\r\nall of ", "it"}, want: []string{`/eof 200 "all of it" close`}, closed: true},
		{name: "HTTP/1.0 closes", reqs: []*http1.ClientRequest{{Target: "/old", Host: "h"}},
			wire: []string{"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi"}, want: []string{`/old 200 "hi" close`}, closed: true},
		{name: "Connection: close", reqs: []*http1.ClientRequest{{Target: "/bye", Host: "h"}},
			wire: []string{"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"}, want: []string{`/bye 200 "ok" close`}, closed: true},
		{name: "interim 103, then the answer", reqs: []*http1.ClientRequest{{Target: "/i", Host: "h"}},
			wire: []string{"HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx"}, want: []string{`/i 103 ""`, `/i 200 "x"`}},
		{name: "pipelined, one read", reqs: []*http1.ClientRequest{{Target: "/p1", Host: "h"}, {Target: "/p2", Host: "h"}, {Target: "/p3", Host: "h"}},
			wire: []string{"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n1HTTP/1.1 404 Not Found\r\nContent-Length: 1\r\n\r\n2HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n3\r\n0\r\n\r\n"},
			want: []string{`/p1 200 "1"`, `/p2 404 "2"`, `/p3 200 "3"`}},
		{name: "101, then not HTTP", reqs: []*http1.ClientRequest{{Target: "/ws", Host: "h"}},
			wire: []string{"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x02hi", "more"}, want: []string{`/ws 101 ""`, "bytes \x81\x02hi", "bytes more"}},
		{name: "bare LF head", reqs: []*http1.ClientRequest{{Target: "/lf", Host: "h"}},
			wire: []string{"HTTP/1.1 200 OK\nContent-Length: 1\n\nz"}, want: []string{`/lf 200 "z"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ch, s := newClient(t)
			for _, r := range tc.reqs {
				ch.WriteOutbound(r)
			}
			ch.ReadOutboundBytes()
			for _, w := range tc.wire {
				ch.WriteInbound([]byte(w))
			}
			if tc.closed && !ch.IsClosed() {
				ch.Close() // the server's close ends a body read until close
			}
			if fmt.Sprint(s.got) != fmt.Sprint(tc.want) || len(s.errs) > 0 {
				t.Fatalf("got %q, errors %q\nwant %q", s.got, s.errs, tc.want)
			}
		})
	}
}

// The request on the wire: Host, lengths and Connection written by the
// codec, the caller's own versions of those dropped.
func TestClientCodecEncodesRequests(t *testing.T) {
	ch, _ := newClient(t)
	ch.WriteOutbound(&http1.ClientRequest{Method: "POST", Target: "/submit?x=1", Host: "example.test:8080", Body: []byte("a=1"),
		Header: http1.Header{{Name: "Content-Type", Value: "text/plain"}, {Name: "Content-Length", Value: "999"}, {Name: "Host", Value: "evil"}}, Close: true})
	got := string(ch.ReadOutboundBytes())
	want := "POST /submit?x=1 HTTP/1.1\r\nHost: example.test:8080\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\na=1"
	if got != want {
		t.Fatalf("wire %q\nwant %q", got, want)
	}
	ch.WriteOutbound(&http1.ClientRequest{Method: "PUT", Target: "/s", Host: "h", Stream: true},
		&http1.Content{Data: []byte("abc")}, &http1.Content{Data: []byte("de"), Last: true})
	if got := string(ch.ReadOutboundBytes()); got != "PUT /s HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n" {
		t.Fatalf("streamed %q", got)
	}
}

// 100-continue: the body waits for 100 (or the timeout); a final answer
// that comes first means the body is never sent and the connection ends.
func TestClientCodecExpectContinue(t *testing.T) {
	req := func() *http1.ClientRequest {
		return &http1.ClientRequest{Method: "POST", Target: "/up", Host: "h", Body: []byte("payload"), ExpectContinue: true}
	}
	t.Run("100 releases the body", func(t *testing.T) {
		ch, s := newClient(t)
		ch.WriteOutbound(req(), &http1.ClientRequest{Target: "/after", Host: "h"})
		head := string(ch.ReadOutboundBytes())
		if !strings.Contains(head, "Expect: 100-continue\r\n") || strings.Contains(head, "payload") || strings.Contains(head, "/after") {
			t.Fatalf("before 100: %q", head)
		}
		ch.WriteInbound([]byte("HTTP/1.1 100 Continue\r\n\r\n"))
		if rest := string(ch.ReadOutboundBytes()); rest != "payloadGET /after HTTP/1.1\r\nHost: h\r\n\r\n" {
			t.Fatalf("after 100: %q", rest)
		}
		ch.WriteInbound([]byte("HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
		if fmt.Sprint(s.got) != fmt.Sprint([]string{`/up 100 ""`, `/up 201 ""`, `/after 200 ""`}) {
			t.Fatalf("%q %q", s.got, s.errs)
		}
	})
	t.Run("no 100 in time: sent anyway", func(t *testing.T) {
		ch, _ := newClient(t)
		ch.WriteOutbound(req())
		ch.ReadOutboundBytes()
		ch.Advance(time.Second)
		if rest := string(ch.ReadOutboundBytes()); rest != "payload" {
			t.Fatalf("after the timeout: %q", rest)
		}
	})
	t.Run("a final answer first", func(t *testing.T) {
		ch, s := newClient(t)
		ch.WriteOutbound(req())
		ch.ReadOutboundBytes()
		ch.WriteInbound([]byte("HTTP/1.1 413 Content Too Large\r\nContent-Length: 0\r\n\r\n"))
		ch.Advance(2 * time.Second)
		if rest := ch.ReadOutboundBytes(); len(rest) != 0 {
			t.Fatalf("the body went out after a final answer: %q", rest)
		}
		if fmt.Sprint(s.got) != fmt.Sprint([]string{`/up 413 "" close`}) || !ch.IsClosed() {
			t.Fatalf("%q closed %v", s.got, ch.IsClosed())
		}
	})
}

// A response it cannot read is an error for the request that waited on
// it, never a panic; the connection closes and later requests fail too.
func TestClientCodecBadResponses(t *testing.T) {
	cases := []struct{ name, wire, want string }{
		{name: "status line", wire: "HTTP/1.1 2000 OK\r\n\r\n", want: "malformed status line"},
		{name: "version", wire: "HTTP/2.0 200 OK\r\n\r\n", want: "malformed status line"},
		{name: "1.9", wire: "HTTP/1.9 200 OK\r\n\r\n", want: "unsupported HTTP version"},
		{name: "code", wire: "HTTP/1.1 2x0 OK\r\n\r\n", want: "malformed status code"},
		{name: "CL and TE", wire: "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", want: "both Content-Length and Transfer-Encoding"},
		{name: "differing CL", wire: "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", want: "differing Content-Length"},
		{name: "obs-fold", wire: "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", want: "obsolete line folding"},
		{name: "bare CR", wire: "HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n", want: "bare CR"},
		{name: "too many fields", wire: "HTTP/1.1 200 OK\r\n" + strings.Repeat("X: y\r\n", 101) + "\r\n", want: "too many header fields"},
		{name: "head too large", wire: "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("y", 70<<10), want: "response head too large"},
		{name: "bad chunk", wire: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", want: "malformed chunk size"},
		{name: "body over the aggregator's limit", wire: "HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\n", want: "over the limit"},
		{name: "chunked body over the limit", wire: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n" + strings.Repeat("x", 1024) + "\r\n1\r\nx\r\n", want: "over the limit"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ch, s := newClient(t)
			ch.WriteOutbound(&http1.ClientRequest{Target: "/first", Host: "h"}, &http1.ClientRequest{Target: "/second", Host: "h"})
			ch.WriteInbound([]byte(tc.wire))
			if len(s.errs) == 0 || !strings.HasPrefix(s.errs[0], "/first: ") || !strings.Contains(s.errs[0], tc.want) {
				t.Fatalf("errors %q, want /first: ...%s", s.errs, tc.want)
			}
			if !ch.IsClosed() {
				t.Fatal("the connection stays open")
			}
			if len(s.errs) != 2 || s.errs[1] != "/second: "+http1.ErrConnectionClosed.Error() {
				t.Fatalf("the second request: %q", s.errs)
			}
		})
	}
	// Cut short in the middle of a body, and a response nobody asked for.
	ch, s := newClient(t)
	ch.WriteOutbound(&http1.ClientRequest{Target: "/cut", Host: "h"})
	ch.WriteInbound([]byte("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"))
	ch.Close()
	if len(s.errs) != 1 || !strings.HasPrefix(s.errs[0], "/cut: the connection closed in the middle") {
		t.Fatalf("cut short: %q", s.errs)
	}
	ch2, s2 := newClient(t)
	ch2.WriteInbound([]byte("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
	if len(s2.errs) != 1 || !strings.Contains(s2.errs[0], "no request asked for") || !ch2.IsClosed() {
		t.Fatalf("unsolicited: %q", s2.errs)
	}
}

// FuzzDecodeResponse: whatever the server sends, the client codec never
// panics, reads no more than it got, and reads the same in one piece as
// split at any point.
func FuzzDecodeResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-Sum: 3\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 101 Switching Protocols\r\n\r\n\x81\x00",
		"HTTP/1.0 200 OK\r\n\r\nuntil close",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
	} {
		f.Add([]byte(s), uint16(7))
	}
	// The bytes after a 101, cut in two reads (found by the fuzzer).
	f.Add([]byte("HTTP/1.1 101 \r\n\r\n000000"), uint16(21))
	f.Fuzz(func(t *testing.T, wire []byte, split uint16) {
		run := func(parts ...[]byte) string {
			ch, s := newClient(t)
			ch.WriteOutbound(&http1.ClientRequest{Target: "/1", Host: "h"}, &http1.ClientRequest{Method: "HEAD", Target: "/2", Host: "h"}, &http1.ClientRequest{Target: "/3", Host: "h"})
			ch.ReadOutboundBytes()
			for _, p := range parts {
				if ch.IsClosed() {
					break
				}
				ch.WriteInbound(p)
			}
			ch.Close()
			// After a 101 the bytes are a stream: the reads may cut it
			// anywhere, so compare what passed, not how it was cut.
			var got []string
			for _, g := range s.got {
				if n := len(got); n > 0 && strings.HasPrefix(g, "bytes ") && strings.HasPrefix(got[n-1], "bytes ") {
					got[n-1] += g[len("bytes "):]
					continue
				}
				got = append(got, g)
			}
			return fmt.Sprintf("%q %q", got, s.errs)
		}
		whole := run(wire)
		i := int(split) % (len(wire) + 1)
		if halves := run(wire[:i], wire[i:]); halves != whole {
			t.Fatalf("split at %d:\n%s\nwhole:\n%s", i, halves, whole)
		}
	})
}
