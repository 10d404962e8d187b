package router_test

import (
	"strings"
	"testing"

	"github.com/gnetty/gnetty/codec/http1"
	"github.com/gnetty/gnetty/handler/http/router"
	"github.com/gnetty/gnetty/pipeline"
	"github.com/gnetty/gnetty/pipeline/pipelinetest"
)

func named(name string) router.HandlerFunc {
	return func(ctx *pipeline.Context, req *http1.Request) {
		var b strings.Builder
		b.WriteString(name)
		for _, p := range req.Params {
			b.WriteString(" " + p.Key + "=" + p.Value)
		}
		router.Reply(ctx, req, 200, "text/plain", []byte(b.String()))
	}
}

func serve(t *testing.T, r *router.Router, reqs ...string) string {
	ch := pipelinetest.New(http1.NewServerCodec(http1.Config{}), http1.NewAggregator(0), r)
	for _, q := range reqs {
		ch.WriteInbound([]byte(q))
	}
	out := string(ch.ReadOutboundBytes())
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
	return out
}

func get(path string) string { return "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n" }

func TestRouting(t *testing.T) {
	r := router.New()
	for _, rt := range []struct{ method, pattern, name string }{
		{"GET", "/", "root"},
		{"GET", "/ws/chat/{room}", "chat"},
		{"GET", "/ws/chat/lobby", "lobby"},
		{"GET", "/static/{path...}", "static"},
		{"POST", "/login", "login"},
		{"DELETE", "/login", "logout"},
		{"", "/any", "any"},
		{"GET", "/users/{id}/posts/{post}", "post"},
	} {
		if err := r.Handle(rt.method, rt.pattern, named(rt.name)); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct{ req, want string }{
		{get("/"), "root"},
		{get("/ws/chat/kitchen"), "chat room=kitchen"},
		{get("/ws/chat/lobby"), "lobby"},
		{get("/ws/chat/caf%C3%A9"), "chat room=café"},
		{get("/ws/chat/"), "404 Not Found"},
		{get("/ws/chat/a/b"), "404 Not Found"},
		{get("/static/css/site.css?v=1"), "static path=css/site.css"},
		{get("/static/"), "static path="},
		{get("/users/7/posts/99"), "post id=7 post=99"},
		{"POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", "login"},
		{"PUT /any HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", "any"},
		{"HEAD /ws/chat/x HTTP/1.1\r\nHost: x\r\n\r\n", "Content-Length: 11"},
		{get("/login"), "405 Method Not Allowed"},
		{get("/nope"), "404 Not Found"},
	}
	for _, tc := range cases {
		out := serve(t, r, tc.req)
		if !strings.Contains(out, tc.want) {
			t.Errorf("%q: got\n%s\nwant %q", strings.SplitN(tc.req, "\r\n", 2)[0], out, tc.want)
		}
	}
	if out := serve(t, r, get("/login")); !strings.Contains(out, "Allow: DELETE, POST\r\n") {
		t.Errorf("405 without the right Allow:\n%s", out)
	}
}

func TestPassUnmatched(t *testing.T) {
	r := router.New()
	r.PassUnmatched = true
	_ = r.Handle("GET", "/a", named("a"))
	ch := pipelinetest.New(http1.NewServerCodec(http1.Config{}), http1.NewAggregator(0), r)
	ch.WriteInbound([]byte(get("/b")))
	req, ok := ch.ReadInbound().(*http1.Request)
	if !ok || string(req.Path()) != "/b" {
		t.Fatalf("unmatched request not passed on: %v", req)
	}
	req.Release()
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
}

func TestBadPatterns(t *testing.T) {
	r := router.New()
	for _, p := range []string{"nope", "/{rest...}/x", "/{}", "/a{b}", "/x"} {
		if p == "/x" {
			_ = r.Handle("GET", p, named("x"))
		}
		if err := r.Handle("GET", p, named("x")); err == nil {
			t.Errorf("%q accepted", p)
		}
	}
}
