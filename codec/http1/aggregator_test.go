package http1_test

import (
	"strings"
	"testing"

	"github.com/gnetty/gnetty/codec/http1"
	"github.com/gnetty/gnetty/pipeline"
	"github.com/gnetty/gnetty/pipeline/pipelinetest"
)

// echoBody answers each whole request with its body and trailer.
var echoBody = pipeline.ReadFunc(func(ctx *pipeline.Context, msg any) {
	req := msg.(*http1.Request)
	resp := http1.AcquireResponse()
	resp.Body = append(resp.Body, req.Method()+" "+string(req.Path())+" "...)
	resp.Body = append(resp.Body, req.Body...)
	for _, f := range req.Trailer {
		resp.Body = append(resp.Body, " "+string(f.Name)+"="+string(f.Value)...)
	}
	req.Release()
	ctx.WriteAndFlush(resp)
})

func aggregate(t *testing.T, max int64, input ...string) (string, *pipelinetest.Channel) {
	ch := pipelinetest.New(http1.NewServerCodec(http1.Config{}), http1.NewAggregator(max), echoBody)
	for _, in := range input {
		if ch.IsClosed() {
			break
		}
		ch.WriteInbound([]byte(in))
	}
	return string(ch.ReadOutboundBytes()), ch
}

func TestAggregator(t *testing.T) {
	cases := []struct {
		name   string
		max    int64
		input  []string
		has    []string
		hasNot []string
		closed bool
	}{
		{name: "content-length body", input: []string{"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhel", "lo"},
			has: []string{"200 OK", "POST /a hello"}},
		{name: "chunked with trailer", input: []string{"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n1\r\nc\r\n0\r\nX-T: 9\r\n\r\n"},
			has: []string{"POST /c abc X-T=9"}},
		{name: "declared too large, keep-alive: 413, body skipped, next served", max: 4,
			input:  []string{"POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789GET /next HTTP/1.1\r\nHost: x\r\n\r\n"},
			has:    []string{"413 Request Entity Too Large", "GET /next "},
			hasNot: []string{"POST /big"}},
		{name: "declared too large with Expect: 413 and close", max: 4,
			input: []string{"POST /big HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n"},
			has:   []string{"413 Request Entity Too Large", "Connection: close"}, hasNot: []string{"100 Continue"}, closed: true},
		{name: "declared too large, not keep-alive: close", max: 4,
			input: []string{"POST /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 10\r\n\r\n0123456789"},
			has:   []string{"413", "Connection: close"}, closed: true},
		{name: "chunked grows too large: 413 and close", max: 4,
			input: []string{"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n"},
			has:   []string{"413", "Connection: close"}, hasNot: []string{"POST /c"}, closed: true},
		{name: "100-continue within limit",
			input: []string{"POST /e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n", "ok"},
			has:   []string{"HTTP/1.1 100 Continue\r\n", "200 OK", "POST /e ok"}},
		{name: "unknown expectation: 417",
			input: []string{"POST /e HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\nContent-Length: 2\r\n\r\nok"},
			has:   []string{"417 Expectation Failed"}, hasNot: []string{"POST /e"}, closed: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, ch := aggregate(t, tc.max, tc.input...)
			for _, h := range tc.has {
				if !strings.Contains(out, h) {
					t.Errorf("output lacks %q:\n%s", h, out)
				}
			}
			for _, h := range tc.hasNot {
				if strings.Contains(out, h) {
					t.Errorf("output has %q:\n%s", h, out)
				}
			}
			if ch.IsClosed() != tc.closed {
				t.Errorf("closed = %v, want %v", ch.IsClosed(), tc.closed)
			}
			if i := strings.Index(out, "100 Continue"); i >= 0 && strings.Index(out, "200 OK") < i {
				t.Error("100 Continue after the final response")
			}
			if err := ch.Finish(); err != nil {
				t.Error(err)
			}
		})
	}
}
