// Command hello is an HTTP server on gnetty: a hello-world route, an
// embedded static folder, sessions, and a net/http handler mounted on the
// same port.
//
//	go run ./examples/hello -addr 127.0.0.1:8080
package main

import (
	"context"
	"crypto/tls"
	"embed"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gnetty/gnetty/bootstrap"
	"github.com/gnetty/gnetty/codec/http1"
	"github.com/gnetty/gnetty/handler/http/nethttp"
	"github.com/gnetty/gnetty/handler/http/router"
	"github.com/gnetty/gnetty/handler/http/session"
	"github.com/gnetty/gnetty/handler/http/static"
	"github.com/gnetty/gnetty/handler/tlsh"
	"github.com/gnetty/gnetty/internal/logflag"
	"github.com/gnetty/gnetty/pipeline"
)

//go:embed static
var assets embed.FS

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	workers := flag.Int("workers", 0, "event loops (0: one per CPU)")
	certFile := flag.String("tls-cert", "", "PEM certificate: serve https:// (with -tls-key; reloaded when the files change)")
	keyFile := flag.String("tls-key", "", "PEM private key of -tls-cert")
	logFlags := logflag.Add(flag.CommandLine)
	flag.Parse()
	logger := logFlags.MustLogger("hello")
	var tlsCfg *tls.Config
	if *certFile != "" || *keyFile != "" {
		var err error
		if tlsCfg, err = tlsh.ServerConfig(*certFile, *keyFile, "http/1.1"); err != nil {
			fmt.Fprintf(os.Stderr, "hello: -tls-cert/-tls-key: %v\n", err)
			os.Exit(2)
		}
	}
	srv, closeSessions, err := newServer(*addr, *workers, logger, tlsCfg)
	if err != nil {
		logflag.Fatal(logger, "hello: cannot start", "err", err)
	}
	defer closeSessions()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := srv.Serve(ctx); err != nil {
		logflag.Fatal(logger, "hello: stopped", "addr", *addr, "err", err)
	}
}

// newServer builds the server; the returned func stops the session
// store's janitor.
func newServer(addr string, workers int, logger *slog.Logger, tlsCfg *tls.Config) (*bootstrap.Server, func(), error) {
	files, err := fs.Sub(assets, "static")
	if err != nil {
		return nil, nil, err
	}
	sessions := session.New(session.Config{})
	r := router.New()
	routes := []struct {
		method, pattern string
		h               router.HandlerFunc
	}{
		{"GET", "/", func(ctx *pipeline.Context, req *http1.Request) {
			router.Reply(ctx, req, 200, "text/plain; charset=utf-8", []byte("Hello, World!"))
		}},
		{"GET", "/hello/{name}", func(ctx *pipeline.Context, req *http1.Request) {
			router.Reply(ctx, req, 200, "text/plain; charset=utf-8", []byte("Hello, "+req.Param("name")+"!"))
		}},
		{"GET", "/static/{path...}", static.New(static.Config{FS: files, MaxAge: time.Hour})},
		{"", "/api/{path...}", nethttp.Handler(api())},
		{"POST", "/login", func(ctx *pipeline.Context, req *http1.Request) {
			resp := http1.NewResponse(req)
			name := string(req.Body)
			if name == "" || len(name) > 32 {
				req.Release()
				resp.Status = http.StatusBadRequest
				resp.Body = append(resp.Body, "name: 1 to 32 bytes\n"...)
				ctx.WriteAndFlush(resp)
				return
			}
			if _, err := sessions.Login(context.Background(), ctx.Channel(), req, resp, map[string]string{"user": name}); err != nil {
				resp.Status = http.StatusInternalServerError
			}
			req.Release()
			ctx.WriteAndFlush(resp)
		}},
		{"GET", "/me", func(ctx *pipeline.Context, req *http1.Request) {
			s := session.FromChannel(ctx.Channel())
			if s == nil {
				router.Error(ctx, req, http.StatusUnauthorized, "not logged in")
				return
			}
			router.Reply(ctx, req, 200, "text/plain; charset=utf-8", []byte(s.Get("user")))
		}},
		{"POST", "/logout", func(ctx *pipeline.Context, req *http1.Request) {
			resp := http1.NewResponse(req)
			_ = sessions.Logout(context.Background(), ctx.Channel(), req, resp)
			req.Release()
			ctx.WriteAndFlush(resp)
		}},
	}
	for _, rt := range routes {
		if err := r.Handle(rt.method, rt.pattern, rt.h); err != nil {
			sessions.Close()
			return nil, nil, err
		}
	}
	// codec -> request timeout -> aggregator -> sessions -> router
	init := router.Front{Router: r, MaxBodyBytes: 1 << 20, Before: []router.Slot{{Name: session.Name, Handler: sessions}}}.Initializer()
	if tlsCfg != nil {
		init = tlsh.Initializer(tlsh.Config{TLS: tlsCfg}, init) // https:// on the loop
	}
	srv, err := bootstrap.New(bootstrap.Config{Addrs: []string{addr}, Workers: workers, Logger: logger, Initializer: init})
	if err != nil {
		sessions.Close()
		return nil, nil, err
	}
	return srv, sessions.Close, nil
}

// api is an ordinary net/http handler tree.
func api() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/time", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"time": time.Now().UTC().Format(time.RFC3339)})
	})
	mux.HandleFunc("POST /api/echo", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = io.Copy(w, r.Body)
	})
	return mux
}
