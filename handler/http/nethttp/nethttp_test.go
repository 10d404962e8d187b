package nethttp_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gnetty/gnetty/codec/http1"
	"github.com/gnetty/gnetty/handler/http/nethttp"
	"github.com/gnetty/gnetty/handler/http/router"
	"github.com/gnetty/gnetty/pipeline/pipelinetest"
)

func mux() http.Handler {
	m := http.NewServeMux()
	m.HandleFunc("GET /hello/{name}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Proto", r.Proto)
		fmt.Fprintf(w, "hello %s from %s", r.PathValue("name"), r.Host)
	})
	m.HandleFunc("POST /upload", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, "got %d bytes: %s trailer=%s", len(b), b, r.Trailer.Get("X-Sum"))
	})
	m.HandleFunc("GET /stream", func(w http.ResponseWriter, r *http.Request) {
		for i := range 3 {
			fmt.Fprintf(w, "part%d;", i)
			w.(http.Flusher).Flush()
		}
	})
	m.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(30 * time.Millisecond)
		io.WriteString(w, "slow")
	})
	m.HandleFunc("GET /panic", func(w http.ResponseWriter, r *http.Request) { panic("boom") })
	return m
}

func run(t *testing.T, input string, want int) string {
	r := router.New()
	if err := r.Handle("", "/{path...}", nethttp.Handler(mux())); err != nil {
		t.Fatal(err)
	}
	ch := pipelinetest.New(http1.NewServerCodec(http1.Config{}), http1.NewAggregator(0), r)
	ch.WriteInbound([]byte(input))
	var out string
	for deadline := time.Now().Add(5 * time.Second); strings.Count(out, "HTTP/1.1 ") < want && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
		ch.RunPendingTasks()
		out += string(ch.ReadOutboundBytes())
	}
	if strings.Contains(input, "/stream") {
		for deadline := time.Now().Add(5 * time.Second); !strings.Contains(out, "0\r\n\r\n") && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
			ch.RunPendingTasks()
			out += string(ch.ReadOutboundBytes())
		}
	}
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
	return out
}

func TestBridge(t *testing.T) {
	cases := []struct {
		name, input string
		responses   int
		has         []string
	}{
		{name: "path value and host", input: "GET /hello/ann HTTP/1.1\r\nHost: example.com\r\n\r\n", responses: 1,
			has: []string{"200 OK", "X-Proto: HTTP/1.1", "Content-Type: text/plain; charset=utf-8", "hello ann from example.com"}},
		{name: "chunked upload with trailer", input: "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\nX-Sum: 5\r\n\r\n", responses: 1,
			has: []string{"201 Created", "got 5 bytes: abcde trailer=5"}},
		{name: "streamed response", input: "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n", responses: 1,
			has: []string{"Transfer-Encoding: chunked", "6\r\npart0;\r\n", "6\r\npart2;\r\n0\r\n\r\n"}},
		{name: "panic becomes 500", input: "GET /panic HTTP/1.1\r\nHost: x\r\n\r\n", responses: 1,
			has: []string{"500 Internal Server Error"}},
		{name: "not found from the mux", input: "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n", responses: 1,
			has: []string{"404 Not Found"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := run(t, tc.input, tc.responses)
			for _, h := range tc.has {
				if !strings.Contains(out, h) {
					t.Errorf("lacks %q:\n%s", h, out)
				}
			}
		})
	}
}

func TestPipelinedRequestsAnsweredInOrder(t *testing.T) {
	in := "GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /hello/b HTTP/1.1\r\nHost: x\r\n\r\nGET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /hello/d HTTP/1.1\r\nHost: x\r\n\r\n"
	out := run(t, in, 4)
	idx := []int{strings.Index(out, "slow"), strings.Index(out, "hello b"), strings.LastIndex(out, "slow"), strings.Index(out, "hello d")}
	for i := 1; i < len(idx); i++ {
		if idx[i-1] < 0 || idx[i] < 0 || idx[i-1] >= idx[i] {
			t.Fatalf("answers out of order %v:\n%s", idx, out)
		}
	}
}
