package http1_test

import (
	"testing"

	"github.com/gnetty/gnetty/codec/http1"
	"github.com/gnetty/gnetty/pipeline"
	"github.com/gnetty/gnetty/pipeline/pipelinetest"
)

// releaser checks a header, answers with an empty response when asked,
// and releases each request.
type releaser struct {
	hosts  int
	answer bool
}

func (r *releaser) HandleRead(ctx *pipeline.Context, msg any) {
	if req, ok := msg.(*http1.Request); ok {
		if string(req.Header("host")) == "example.com" && req.Method() == "GET" {
			r.hosts++
		}
		if r.answer {
			ctx.Write(http1.NewResponse(req))
		}
		req.Release()
	}
}

// dropWrites sits next to the head and swallows (releases) what is
// written, so benchmarks measure the codec and not the test transport.
type dropWrites struct{}

func (dropWrites) HandleWrite(_ *pipeline.Context, msg any) { pipeline.Release(msg) }

const browserGET = "GET /static/app.js?v=3 HTTP/1.1\r\n" +
	"Host: example.com\r\n" +
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36\r\n" +
	"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8\r\n" +
	"Accept-Language: en-US,en;q=0.9\r\n" +
	"Accept-Encoding: gzip, deflate, br\r\n" +
	"Cookie: gnetty_session=0123456789abcdef0123456789abcdef; theme=dark\r\n" +
	"Connection: keep-alive\r\n" +
	"Cache-Control: max-age=0\r\n" +
	"Sec-Fetch-Dest: script\r\n" +
	"Sec-Fetch-Mode: no-cors\r\n" +
	"Sec-Fetch-Site: same-origin\r\n" +
	"\r\n"

// BenchmarkDecodeBrowserGET decodes a typical browser GET (about 600
// bytes, 11 fields) and looks up its Host.
func BenchmarkDecodeBrowserGET(b *testing.B) {
	rel := &releaser{answer: true}
	ch := pipelinetest.New(dropWrites{}, http1.NewServerCodec(http1.Config{}), rel)
	req := []byte(browserGET)
	b.ReportAllocs()
	b.SetBytes(int64(len(req)))
	for b.Loop() {
		ch.Receive(req)
	}
}

// BenchmarkEncodeResponse encodes a small 200 response.
func BenchmarkEncodeResponse(b *testing.B) {
	body := []byte("hello, world\n")
	dst := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		r := http1.AcquireResponse()
		r.Header.Add("Content-Type", "text/plain")
		r.Body = append(r.Body, body...)
		dst = r.AppendTo(dst[:0])
		r.Release()
	}
}
