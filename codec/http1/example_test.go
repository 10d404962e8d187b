package http1_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"

	"github.com/gnetty/gnetty/codec/http1"
	"github.com/gnetty/gnetty/pipeline"
	"github.com/gnetty/gnetty/pipeline/pipelinetest"
)

// printResponses parses what the server wrote with net/http's client
// parser and prints each status and body.
func printResponses(wire []byte) {
	r := bufio.NewReader(bytes.NewReader(wire))
	for {
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			return
		}
		body, _ := io.ReadAll(resp.Body)
		fmt.Printf("%s %q\n", resp.Status, body)
	}
}

// The server codec and the aggregator in a pipeline: requests arrive in
// pieces, pipelined, and are answered in order. The handler gets whole
// requests (*http1.Request with Body) and writes *http1.Response.
func Example() {
	hello := pipeline.MessageFunc[*http1.Request](func(ctx *pipeline.Context, req *http1.Request) {
		resp := http1.NewResponse(req)
		resp.Header.Set("Content-Type", "text/plain")
		resp.Body = fmt.Appendf(resp.Body, "%s %s, body %q", req.Method(), req.Path(), req.Body)
		req.Release()
		ctx.WriteAndFlush(resp)
	})
	ch := pipelinetest.New(
		http1.NewServerCodec(http1.Config{}),
		http1.NewAggregator(1<<20),
		hello,
	)
	ch.WriteInbound(
		[]byte("GET /hello HTTP/1.1\r\nHo"),
		[]byte("st: example\r\n\r\nPOST /echo HTTP/1.1\r\nHost: example\r\nContent-Length: 2\r\n\r\nhi"),
	)
	printResponses(ch.ReadOutboundBytes())
	_ = ch.Finish()
	// Output:
	// 200 OK "GET /hello, body \"\""
	// 200 OK "POST /echo, body \"hi\""
}

// Malformed requests are refused with the right status and the connection
// is closed: nothing after the bad request is read.
func Example_refused() {
	for _, raw := range []string{
		"GET / HTTP/1.1\r\n\r\n",            // no Host
		"GET / HTTP/2.0\r\nHost: x\r\n\r\n", // unsupported version
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", // smuggling shape
	} {
		ch := pipelinetest.New(http1.NewServerCodec(http1.Config{}))
		ch.WriteInbound([]byte(raw))
		printResponses(ch.ReadOutboundBytes())
		se, _ := ch.ReadError().(*http1.StatusError)
		fmt.Println("closed:", ch.IsClosed(), "error:", se.Code)
		_ = ch.Finish()
	}
	// Output:
	// 400 Bad Request "missing Host header\n"
	// closed: true error: 400
	// 505 HTTP Version Not Supported "HTTP version not supported\n"
	// closed: true error: 505
	// 400 Bad Request "both Content-Length and Transfer-Encoding\n"
	// closed: true error: 400
}
