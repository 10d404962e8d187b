package router_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"

	"github.com/gnetty/gnetty/codec/http1"
	"github.com/gnetty/gnetty/handler/http/router"
	"github.com/gnetty/gnetty/pipeline"
	"github.com/gnetty/gnetty/pipeline/pipelinetest"
)

// Routes with a parameter, a 404 and a 405, through the HTTP front chain
// (codec, request timeout, aggregator, router) on a test channel.
func ExampleFront() {
	r := router.New()
	_ = r.Handle("GET", "/hello/{name}", func(ctx *pipeline.Context, req *http1.Request) {
		router.Reply(ctx, req, 200, "text/plain", []byte("hello, "+req.Param("name")))
	})
	ch := pipelinetest.New()
	if err := (router.Front{Router: r}).Install(ch.Pipeline()); err != nil {
		fmt.Println(err)
		return
	}
	ch.WriteInbound([]byte("GET /hello/gopher HTTP/1.1\r\nHost: x\r\n\r\n" +
		"GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n" +
		"POST /hello/gopher HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"))
	br := bufio.NewReader(bytes.NewReader(ch.ReadOutboundBytes()))
	for range 3 {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			fmt.Println(err)
			return
		}
		body, _ := io.ReadAll(resp.Body)
		line := fmt.Sprint(resp.StatusCode, " ", string(bytes.TrimSpace(body)))
		if allow := resp.Header.Get("Allow"); allow != "" {
			line += " (Allow: " + allow + ")"
		}
		fmt.Println(line)
	}
	// Output:
	// 200 hello, gopher
	// 404 not found
	// 405 method not allowed (Allow: GET, HEAD)
}
