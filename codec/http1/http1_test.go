package http1_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/gnetty/gnetty/codec/http1"
	"github.com/gnetty/gnetty/pipeline"
	"github.com/gnetty/gnetty/pipeline/pipelinetest"
)

// seen is what the decoder delivered: request lines, headers of interest,
// and body bytes per request.
type seen struct {
	reqs     []string
	bodies   []string
	trailers []string
}

// collector copies what the codec fires (views are only valid during the
// call) and releases requests.
type collector struct{ s *seen }

func (c collector) HandleRead(ctx *pipeline.Context, msg any) {
	switch m := msg.(type) {
	case *http1.Request:
		c.s.reqs = append(c.s.reqs, fmt.Sprintf("%s %s %s ka=%v cl=%d chunked=%v", m.Method(), m.Target(), m.Proto(), m.KeepAlive, m.ContentLength, m.Chunked))
		c.s.bodies = append(c.s.bodies, "")
		m.Release()
	case *http1.Content:
		c.s.bodies[len(c.s.bodies)-1] += string(m.Data)
		for _, f := range m.Trailer {
			c.s.trailers = append(c.s.trailers, string(f.Name)+"="+string(f.Value))
		}
	default:
		ctx.FireRead(msg)
	}
}

func decode(t testing.TB, chunks ...string) (*seen, *pipelinetest.Channel) {
	s := &seen{}
	ch := pipelinetest.New(http1.NewServerCodec(http1.Config{}), collector{s})
	for _, c := range chunks {
		if ch.IsClosed() {
			break
		}
		ch.WriteInbound([]byte(c))
	}
	return s, ch
}

func TestDecodeValidRequests(t *testing.T) {
	cases := []struct {
		name   string
		input  string
		reqs   []string
		bodies []string
	}{
		{name: "simple GET", input: "GET /a?b=1 HTTP/1.1\r\nHost: x\r\n\r\n",
			reqs: []string{"GET /a?b=1 HTTP/1.1 ka=true cl=0 chunked=false"}, bodies: []string{""}},
		{name: "pipelined", input: "GET /1 HTTP/1.1\r\nHost: x\r\n\r\nHEAD /2 HTTP/1.1\r\nHost: x\r\n\r\nGET /3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
			reqs:   []string{"GET /1 HTTP/1.1 ka=true cl=0 chunked=false", "HEAD /2 HTTP/1.1 ka=true cl=0 chunked=false", "GET /3 HTTP/1.1 ka=false cl=0 chunked=false"},
			bodies: []string{"", "", ""}},
		{name: "content-length body", input: "POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\nHost: x\r\n\r\n",
			reqs: []string{"POST /p HTTP/1.1 ka=true cl=5 chunked=false", "GET / HTTP/1.1 ka=true cl=0 chunked=false"}, bodies: []string{"hello", ""}},
		{name: "identical content-length list", input: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 3\r\nContent-Length: 3\r\n\r\nabc",
			reqs: []string{"POST / HTTP/1.1 ka=true cl=3 chunked=false"}, bodies: []string{"abc"}},
		{name: "chunked with extension", input: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\nA\r\n0123456789\r\n0\r\n\r\n",
			reqs: []string{"POST / HTTP/1.1 ka=true cl=-1 chunked=true"}, bodies: []string{"hello0123456789"}},
		{name: "HTTP/1.0 keep-alive", input: "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
			reqs: []string{"GET / HTTP/1.0 ka=true cl=0 chunked=false"}, bodies: []string{""}},
		{name: "HTTP/1.0 default close", input: "GET / HTTP/1.0\r\n\r\n",
			reqs: []string{"GET / HTTP/1.0 ka=false cl=0 chunked=false"}, bodies: []string{""}},
		{name: "leading empty lines", input: "\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
			reqs: []string{"GET / HTTP/1.1 ka=true cl=0 chunked=false"}, bodies: []string{""}},
		{name: "bare LF head", input: "GET / HTTP/1.1\nHost: x\n\n",
			reqs: []string{"GET / HTTP/1.1 ka=true cl=0 chunked=false"}, bodies: []string{""}},
		{name: "mixed line endings", input: "GET / HTTP/1.1\nHost: x\r\nX-A: b\n\r\n",
			reqs: []string{"GET / HTTP/1.1 ka=true cl=0 chunked=false"}, bodies: []string{""}},
		{name: "bare LF pipelined with body", input: "\nPOST /p HTTP/1.1\nHost: x\nContent-Length: 2\n\nhiGET /q HTTP/1.1\nHost: x\nConnection: close\n\n",
			reqs: []string{"POST /p HTTP/1.1 ka=true cl=2 chunked=false", "GET /q HTTP/1.1 ka=false cl=0 chunked=false"}, bodies: []string{"hi", ""}},
		{name: "absolute form", input: "GET http://x/y/z?q HTTP/1.1\r\nHost: x\r\n\r\n",
			reqs: []string{"GET http://x/y/z?q HTTP/1.1 ka=true cl=0 chunked=false"}, bodies: []string{""}},
		{name: "OWS around values, empty value", input: "GET / HTTP/1.1\r\nHost:x\r\nX-A: \t v \t\r\nX-Empty:\r\n\r\n",
			reqs: []string{"GET / HTTP/1.1 ka=true cl=0 chunked=false"}, bodies: []string{""}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, ch := decode(t, tc.input)
			if strings.Join(s.reqs, "|") != strings.Join(tc.reqs, "|") {
				t.Fatalf("requests\n%q\nwant\n%q", s.reqs, tc.reqs)
			}
			if strings.Join(s.bodies, "|") != strings.Join(tc.bodies, "|") {
				t.Fatalf("bodies %q, want %q", s.bodies, tc.bodies)
			}
			if err := ch.ReadError(); err != nil {
				t.Fatalf("error %v", err)
			}
			if err := ch.Finish(); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestChunkedTrailers(t *testing.T) {
	s, ch := decode(t, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-Sum: 42\r\nX-B: b\r\n\r\n")
	if s.bodies[0] != "abc" || strings.Join(s.trailers, ",") != "X-Sum=42,X-B=b" {
		t.Fatalf("body %q trailers %q", s.bodies, s.trailers)
	}
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
}

func TestRejectedRequests(t *testing.T) {
	long := strings.Repeat("a", 9000)
	chunked := "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
	cases := []struct {
		name   string
		input  string
		code   int
		reason string // when set, the answer's text must hold it: the guard that refused it
	}{
		// The smuggling and denial-of-service guards, each by its reason.
		{name: "chunk size line over 4 KiB", input: chunked + "1;" + strings.Repeat("a", 5000), code: 400, reason: "malformed chunk size"},
		{name: "trailer section too large, unfinished", input: chunked + "0\r\nX-T: " + strings.Repeat("b", 70<<10), code: 431, reason: "too large"},
		{name: "trailer section too large", input: chunked + "0\r\nX-T: " + strings.Repeat("b", 70<<10) + "\r\n\r\n", code: 431, reason: "too large"},
		{name: "too many trailer fields", input: chunked + "0\r\n" + strings.Repeat("X-T: b\r\n", 101) + "\r\n", code: 431, reason: "too many header fields"},
		{name: "trailer bare CR", input: chunked + "0\r\nX-A: b\rc\r\n\r\n", code: 400, reason: "malformed trailer"},
		{name: "trailer field without colon", input: chunked + "0\r\nnocolon\r\n\r\n", code: 400, reason: "malformed trailer"},
		{name: "control character in the target", input: "GET /a\x01b HTTP/1.1\r\nHost: x\r\n\r\n", code: 400, reason: "malformed request target"},
		{name: "DEL in the target", input: "GET /a\x7fb HTTP/1.1\r\nHost: x\r\n\r\n", code: 400, reason: "malformed request target"},
		{name: "asterisk with GET", input: "GET * HTTP/1.1\r\nHost: x\r\n\r\n", code: 400, reason: "malformed request target"},
		{name: "empty Transfer-Encoding element", input: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: , chunked\r\n\r\n", code: 400, reason: "malformed Transfer-Encoding"},
		{name: "empty last Transfer-Encoding element", input: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked,\r\n\r\n", code: 400, reason: "malformed Transfer-Encoding"},
		{name: "two hosts in HTTP/1.0", input: "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", code: 400, reason: "more than one Host"},
		{name: "CL and TE", input: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", code: 400},
		{name: "differing CL", input: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", code: 400},
		{name: "differing CL list", input: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 4\r\n\r\n", code: 400},
		{name: "signed CL", input: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\n", code: 400},
		{name: "negative CL", input: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", code: 400},
		{name: "hex CL", input: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0x10\r\n\r\n", code: 400},
		{name: "empty CL", input: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: \r\n\r\n", code: 400},
		{name: "huge CL", input: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n", code: 400},
		{name: "unknown coding", input: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", code: 501},
		{name: "chunked not last", input: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", code: 400},
		{name: "TE in HTTP/1.0", input: "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", code: 400},
		{name: "bad chunk size", input: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", code: 400},
		{name: "chunk size overflow", input: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n", code: 400},
		{name: "chunk without CRLF", input: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n", code: 400},
		{name: "chunk size bare LF", input: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n", code: 400},
		{name: "bare CR", input: "GET / HTTP/1.1\r\nHost: x\rX: y\r\n\r\n", code: 400},
		{name: "chunk size then a space", input: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n", code: 400},
		{name: "chunk size then a tab", input: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\t\r\nhello\r\n0\r\n\r\n", code: 400},
		{name: "chunk data bare LF", input: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\n0\r\n\r\n", code: 400},
		{name: "trailer bare LF", input: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-A: b\nX-B: c\r\n\r\n", code: 400},
		{name: "bare CR in a bare-LF head", input: "GET / HTTP/1.1\nHost: x\rX: y\n\n", code: 400},
		{name: "bare LF head, no Host", input: "GET / HTTP/1.1\n\n", code: 400},
		{name: "space before colon", input: "GET / HTTP/1.1\r\nHost : x\r\n\r\n", code: 400},
		{name: "obs-fold", input: "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n", code: 400},
		{name: "NUL in value", input: "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n", code: 400},
		{name: "control in value", input: "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n", code: 400},
		{name: "bad header name", input: "GET / HTTP/1.1\r\nHost: x\r\nX(A): b\r\n\r\n", code: 400},
		{name: "no colon", input: "GET / HTTP/1.1\r\nHost: x\r\nnocolon\r\n\r\n", code: 400},
		{name: "missing host", input: "GET / HTTP/1.1\r\n\r\n", code: 400},
		{name: "two hosts", input: "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", code: 400},
		{name: "bad method", input: "G(T / HTTP/1.1\r\nHost: x\r\n\r\n", code: 400},
		{name: "double space", input: "GET  / HTTP/1.1\r\nHost: x\r\n\r\n", code: 400},
		{name: "bad version", input: "GET / HTTP/1.x\r\nHost: x\r\n\r\n", code: 400},
		{name: "lowercase version", input: "GET / http/1.1\r\nHost: x\r\n\r\n", code: 400},
		{name: "HTTP/2.0", input: "GET / HTTP/2.0\r\nHost: x\r\n\r\n", code: 505},
		{name: "HTTP/1.2", input: "GET / HTTP/1.2\r\nHost: x\r\n\r\n", code: 505},
		{name: "relative target", input: "GET abc HTTP/1.1\r\nHost: x\r\n\r\n", code: 400},
		{name: "request line too long", input: "GET /" + long + " HTTP/1.1\r\nHost: x\r\n\r\n", code: 414},
		{name: "request line too long, no end yet", input: "GET /" + long, code: 414},
		{name: "too many headers", input: "GET / HTTP/1.1\r\nHost: x\r\n" + strings.Repeat("X-A: b\r\n", 100) + "\r\n", code: 431},
		{name: "head too large", input: "GET / HTTP/1.1\r\nHost: x\r\n" + strings.Repeat("X-Long: "+strings.Repeat("b", 8000)+"\r\n", 9), code: 431},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, ch := decode(t, tc.input, "GET /after HTTP/1.1\r\nHost: x\r\n\r\n")
			for _, r := range s.reqs {
				if strings.Contains(r, "/after") {
					t.Fatal("input after a rejected request was decoded")
				}
			}
			out := string(ch.ReadOutboundBytes())
			want := fmt.Sprintf("HTTP/1.1 %d ", tc.code)
			if !strings.HasPrefix(out, want) || !strings.Contains(out, "Connection: close\r\n") {
				t.Fatalf("answer %q, want %q... with Connection: close", out, want)
			}
			if !strings.Contains(out, tc.reason) {
				t.Fatalf("answer %q, want the reason %q", out, tc.reason)
			}
			var se *http1.StatusError
			if err := ch.ReadError(); !errors.As(err, &se) || se.Code != tc.code {
				t.Fatalf("error %v", err)
			}
			if !ch.IsClosed() {
				t.Fatal("connection left open")
			}
			for ch.ReadError() != nil {
			}
			if err := ch.Finish(); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestResponsesMatchRequestsInOrder(t *testing.T) {
	var reqs []*http1.Request
	ch := pipelinetest.New(http1.NewServerCodec(http1.Config{}), pipeline.ReadFunc(func(ctx *pipeline.Context, msg any) {
		if r, ok := msg.(*http1.Request); ok {
			reqs = append(reqs, r)
		}
	}))
	ch.WriteInbound([]byte("GET /1 HTTP/1.1\r\nHost: x\r\n\r\nHEAD /2 HTTP/1.1\r\nHost: x\r\n\r\nGET /3 HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /4 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /5 HTTP/1.1\r\nHost: x\r\n\r\n"))
	if len(reqs) != 4 {
		t.Fatalf("%d requests decoded; the one after Connection: close must not be", len(reqs))
	}
	for i, r := range reqs {
		resp := http1.AcquireResponse()
		resp.Header.Set("X-N", fmt.Sprint(i+1))
		resp.Body = append(resp.Body, "body"...)
		if i == 2 {
			resp.Status = 304
		}
		ch.WriteOutbound(resp)
		r.Release()
	}
	out := string(ch.ReadOutboundBytes())
	parts := strings.Split(out, "HTTP/1.1 ")[1:]
	if len(parts) != 4 {
		t.Fatalf("%d responses: %q", len(parts), out)
	}
	checks := []struct{ has, hasNot []string }{
		{has: []string{"200 OK", "Content-Length: 4", "\r\n\r\nbody"}, hasNot: []string{"Connection:"}},
		{has: []string{"200 OK", "Content-Length: 4"}, hasNot: []string{"body"}},
		{has: []string{"304 Not Modified", "Connection: keep-alive"}, hasNot: []string{"Content-Length", "body"}},
		{has: []string{"Connection: close", "\r\n\r\nbody"}},
	}
	for i, c := range checks {
		for _, h := range c.has {
			if !strings.Contains(parts[i], h) {
				t.Errorf("response %d lacks %q: %q", i+1, h, parts[i])
			}
		}
		for _, h := range c.hasNot {
			if strings.Contains(parts[i], h) {
				t.Errorf("response %d has %q: %q", i+1, h, parts[i])
			}
		}
		if !strings.Contains(parts[i], "Date: ") {
			t.Errorf("response %d has no Date", i+1)
		}
	}
	if !ch.IsClosed() {
		t.Fatal("not closed after the Connection: close response")
	}
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
}

func TestStreamedResponse(t *testing.T) {
	for _, tc := range []struct {
		name, req string
		want      []string
		closed    bool
	}{
		{name: "HTTP/1.1 chunked", req: "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
			want: []string{"Transfer-Encoding: chunked\r\n", "\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"}},
		{name: "HTTP/1.0 close-delimited", req: "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
			want: []string{"Connection: close\r\n", "\r\n\r\nhello world"}, closed: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ch := pipelinetest.New(http1.NewServerCodec(http1.Config{}), pipeline.ReadFunc(func(ctx *pipeline.Context, msg any) {
				if r, ok := msg.(*http1.Request); ok {
					r.Release()
					resp := http1.AcquireResponse()
					resp.Stream = true
					ctx.Write(resp)
					ctx.Write(&http1.Content{Data: []byte("hello")})
					ctx.WriteAndFlush(&http1.Content{Data: []byte(" world"), Last: true})
				}
			}))
			ch.WriteInbound([]byte(tc.req))
			out := string(ch.ReadOutboundBytes())
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Fatalf("output %q lacks %q", out, w)
				}
			}
			if ch.IsClosed() != tc.closed {
				t.Fatalf("closed = %v", ch.IsClosed())
			}
			if err := ch.Finish(); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestValidValueAgainstBytewise(t *testing.T) {
	for c := 0; c < 256; c++ {
		for pos := 0; pos < 19; pos++ {
			b := []byte(strings.Repeat("a", 19))
			b[pos] = byte(c)
			want := !(c < ' ' && c != '\t' || c == 0x7f)
			s, ch := decode(t, "GET / HTTP/1.1\r\nHost: x\r\nX-V: "+string(b)+"\r\n\r\n")
			got := len(s.reqs) == 1
			switch {
			case c == '\r':
				want = false
			case c == '\n':
				want = pos == len(b)-1 // a bare LF at the end ends the line; elsewhere it leaves a line with no colon
			}
			if got != want {
				t.Fatalf("byte %#x at %d: accepted %v, want %v", c, pos, got, want)
			}
			for ch.ReadError() != nil {
			}
			ch.ReadOutboundBytes()
			if err := ch.Finish(); err != nil {
				t.Error(err)
			}
		}
	}
}

func TestResponsesProducedOutOfOrderGoOutInOrder(t *testing.T) {
	var reqs []*http1.Request
	ch := pipelinetest.New(http1.NewServerCodec(http1.Config{}), pipeline.ReadFunc(func(ctx *pipeline.Context, msg any) {
		reqs = append(reqs, msg.(*http1.Request))
	}))
	ch.WriteInbound([]byte("GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\nGET /3 HTTP/1.1\r\nHost: x\r\n\r\n"))
	if len(reqs) != 3 {
		t.Fatalf("%d requests", len(reqs))
	}
	// /3 answers first, /2 streams, /1 answers last.
	r3 := http1.NewResponse(reqs[2])
	r3.Body = append(r3.Body, "three"...)
	ch.WriteOutbound(r3)
	r2 := http1.NewResponse(reqs[1])
	r2.Stream = true
	ch.WriteOutbound(r2, &http1.Content{Data: []byte("tw"), Seq: reqs[1].Seq()})
	if out := ch.ReadOutboundBytes(); len(out) != 0 {
		t.Fatalf("wrote %q before the first response", out)
	}
	r1 := http1.NewResponse(reqs[0])
	r1.Body = append(r1.Body, "one"...)
	ch.WriteOutbound(r1)
	ch.WriteOutbound(&http1.Content{Data: []byte("o"), Last: true, Seq: reqs[1].Seq()})
	out := string(ch.ReadOutboundBytes())
	i1, i2, i3 := strings.Index(out, "one"), strings.Index(out, "2\r\ntw\r\n1\r\no\r\n0\r\n\r\n"), strings.Index(out, "three")
	if i1 < 0 || i2 < 0 || i3 < 0 || !(i1 < i2 && i2 < i3) {
		t.Fatalf("out of order or missing:\n%s", out)
	}
	for _, r := range reqs {
		r.Release()
	}
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
}

func TestPipeliningIsBoundedAndResumes(t *testing.T) {
	var reqs []*http1.Request
	ch := pipelinetest.New(http1.NewServerCodec(http1.Config{}), pipeline.ReadFunc(func(ctx *pipeline.Context, msg any) {
		reqs = append(reqs, msg.(*http1.Request))
	}))
	n := http1.MaxPipelined + 10
	ch.WriteInbound([]byte(strings.Repeat("GET / HTTP/1.1\r\nHost: x\r\n\r\n", n)))
	if len(reqs) != http1.MaxPipelined {
		t.Fatalf("%d requests decoded without answers, want %d", len(reqs), http1.MaxPipelined)
	}
	for i := 0; i < len(reqs); i++ { // answering lets the held-back ones through
		ch.WriteOutbound(http1.NewResponse(reqs[i]))
	}
	if len(reqs) != n {
		t.Fatalf("%d requests after answering, want %d", len(reqs), n)
	}
	if got := strings.Count(string(ch.ReadOutboundBytes()), "HTTP/1.1 200 OK"); got != n {
		t.Fatalf("%d responses", got)
	}
	for _, r := range reqs {
		r.Release()
	}
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
}

// A bad request that arrives in the same read as good ones is answered
// after them: every request before it gets its response, in order, then the
// 400, then the connection closes.
func TestBadRequestAfterGoodOnesIsAnsweredLast(t *testing.T) {
	cases := []struct {
		name  string
		input string
		good  int // requests decoded before the bad part
		want  string
	}{
		{name: "bad request line", input: "GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\nGARBAGE\r\n\r\n", good: 2, want: "400 Bad Request"},
		{name: "unsupported version", input: "GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/2.7\r\nHost: x\r\n\r\n", good: 1, want: "505 "},
		// The bad chunk belongs to the second request: its answer is the 400.
		{name: "bad chunk of a later request", input: "GET /1 HTTP/1.1\r\nHost: x\r\n\r\nPOST /2 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", good: 2, want: "400 Bad Request"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var reqs []*http1.Request
			ch := pipelinetest.New(http1.NewServerCodec(http1.Config{}), pipeline.ReadFunc(func(ctx *pipeline.Context, msg any) {
				if r, ok := msg.(*http1.Request); ok {
					reqs = append(reqs, r)
				}
			}))
			ch.WriteInbound([]byte(tc.input))
			if len(reqs) != tc.good {
				t.Fatalf("%d requests decoded, want %d", len(reqs), tc.good)
			}
			if ch.IsClosed() {
				t.Fatal("closed before the good requests were answered")
			}
			if out := ch.ReadOutboundBytes(); len(out) != 0 {
				t.Fatalf("wrote %q before the good requests were answered", out)
			}
			// Answer the first good request, off the loop's turn (later).
			r := http1.NewResponse(reqs[0])
			r.Body = append(r.Body, "first"...)
			ch.WriteOutbound(r)
			if tc.good == 2 && !strings.HasPrefix(tc.name, "bad chunk") {
				r := http1.NewResponse(reqs[1])
				r.Body = append(r.Body, "second"...)
				ch.WriteOutbound(r)
			}
			out := string(ch.ReadOutboundBytes())
			if !ch.IsClosed() {
				t.Fatalf("open after the answers:\n%s", out)
			}
			iFirst, iBad := strings.Index(out, "first"), strings.Index(out, tc.want)
			if iFirst < 0 || iBad < 0 || iFirst > iBad {
				t.Fatalf("want the good answers, then %q, got:\n%s", tc.want, out)
			}
			if tc.good == 2 && !strings.HasPrefix(tc.name, "bad chunk") {
				if i := strings.Index(out, "second"); i < iFirst || i > iBad {
					t.Fatalf("second answer missing or out of order:\n%s", out)
				}
			}
			if !errors.As(ch.ReadError(), new(*http1.StatusError)) {
				t.Error("no StatusError fired")
			}
			for _, r := range reqs {
				r.Release()
			}
		})
	}
}

// A bad chunk in the only request waiting is answered at once.
func TestBadChunkOfTheOnlyRequestIsAnsweredAtOnce(t *testing.T) {
	var reqs []*http1.Request
	ch := pipelinetest.New(http1.NewServerCodec(http1.Config{}), pipeline.ReadFunc(func(ctx *pipeline.Context, msg any) {
		if r, ok := msg.(*http1.Request); ok {
			reqs = append(reqs, r)
		}
	}))
	ch.WriteInbound([]byte("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n"))
	out := string(ch.ReadOutboundBytes())
	if !strings.HasPrefix(out, "HTTP/1.1 400 ") || !ch.IsClosed() {
		t.Fatalf("closed=%v out=%q", ch.IsClosed(), out)
	}
	for _, r := range reqs {
		r.Release()
	}
}
