package session_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"strings"

	"github.com/gnetty/gnetty/bootstrap"
	"github.com/gnetty/gnetty/codec/http1"
	"github.com/gnetty/gnetty/handler/http/router"
	"github.com/gnetty/gnetty/handler/http/session"
	"github.com/gnetty/gnetty/pipeline"
)

// A login that starts a server-side session, and a route that reads it
// back: the Manager sits before the router and loads the session named by
// the cookie for every request.
func ExampleManager() {
	sessions := session.New(session.Config{})
	defer sessions.Close()
	r := router.New()
	_ = r.Handle("POST", "/login", func(ctx *pipeline.Context, req *http1.Request) {
		resp := http1.NewResponse(req)
		if _, err := sessions.Login(context.Background(), ctx.Channel(), req, resp, map[string]string{"user": string(req.Body)}); err != nil {
			resp.Status = http.StatusServiceUnavailable
		}
		req.Release()
		ctx.WriteAndFlush(resp)
	})
	_ = r.Handle("GET", "/me", func(ctx *pipeline.Context, req *http1.Request) {
		s := session.FromChannel(ctx.Channel())
		if s == nil {
			router.Error(ctx, req, http.StatusUnauthorized, "log in first")
			return
		}
		router.Reply(ctx, req, 200, "text/plain", []byte("you are "+s.Get("user")))
	})
	front := router.Front{Router: r, Before: []router.Slot{{Name: session.Name, Handler: sessions}}}
	srv, err := bootstrap.New(bootstrap.Config{Addrs: []string{"127.0.0.1:0"}, Workers: 1,
		Logger: slog.New(slog.DiscardHandler), Initializer: front.Initializer()})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := srv.Start(); err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Shutdown(context.Background())
	base := "http://" + srv.Addrs()[0].String()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	get := func() string {
		resp, err := client.Get(base + "/me")
		if err != nil {
			return err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return fmt.Sprint(resp.StatusCode, " ", strings.TrimSpace(string(b)))
	}
	fmt.Println(get())
	resp, err := client.Post(base+"/login", "text/plain", strings.NewReader("gopher"))
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	fmt.Println(strings.Contains(resp.Header.Get("Set-Cookie"), "HttpOnly"))
	fmt.Println(get())
	// Output:
	// 401 log in first
	// true
	// 200 you are gopher
}
