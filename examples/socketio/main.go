// Command socketio is a Socket.IO v5 server for the stock socket.io-client
// (4.x): long-polling, WebSocket and the upgrade between them, on gnetty.
//
//	go run ./examples/socketio -addr 127.0.0.1:3000     # then open http://127.0.0.1:3000/
//
// Namespace "/" serves
//   - echo: emits "echo" back with the same arguments and acknowledges
//     with them;
//   - join (room name): joins the room, acknowledges "ok";
//   - say {room, msg}: broadcasts "said" {room, msg, from} to the room,
//     except the sender;
//   - size (room): acknowledges with the number of this node's sockets in
//     the room;
//   - ask (args): emits "question" with the args to the client with an
//     acknowledgement, and acknowledges "ask" with the client's answer;
//   - the official Socket.IO chat demo's events: "add user", "new
//     message", "typing", "stop typing" in; "login" {numUsers}, "user
//     joined", "new message" {username, message}, "typing", "stop typing",
//     "user left" out; the page at / is that chat.
//
// Namespace "/private" lets in only clients whose auth carries the token
// (-token): others get connect_error "not authorized".
//
// With -redis, rooms and broadcasts span every node that uses the same
// Redis (sticky sessions in front for polling): a server's address or URL,
// or a Sentinel set's URL (redis://SENTINEL:PORT/0?master_name=NAME&addr=...);
// -redis-cluster takes a Redis Cluster's (redis://SEED:PORT?addr=SEED2:PORT),
// where each room's broadcasts go through one shard (sharded pub/sub).
//
// The page needs the browser build of socket.io-client at
// /socket.io/socket.io.js: -client-js FILE (or SOCKETIO_CLIENT_JS), else
// the npm package tests/interop pins (npm ci --prefix tests/interop),
// found from the working directory up, so the demo runs without the
// internet; else a redirect to the CDN. A page whose client cannot load
// says so, with the command that fixes it.
package main

import (
	"context"
	"crypto/tls"
	"embed"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gnetty/gnetty/bootstrap"
	"github.com/gnetty/gnetty/codec/http1"
	"github.com/gnetty/gnetty/codec/jsonmsg"
	"github.com/gnetty/gnetty/handler/http/router"
	"github.com/gnetty/gnetty/handler/tlsh"
	"github.com/gnetty/gnetty/internal/logflag"
	"github.com/gnetty/gnetty/layer"
	"github.com/gnetty/gnetty/pipeline"
	"github.com/gnetty/gnetty/preset/socketio"
)

//go:embed web
var web embed.FS

// clientCDN serves the client script when no client file is found.
const clientCDN = "https://cdn.socket.io/4.8.1/socket.io.min.js"

// localClient is where the npm socket.io-client that tests/interop pins
// keeps its browser build, from the repository's root.
const localClient = "tests/interop/node_modules/socket.io-client/dist/socket.io.min.js"

// findClient looks for localClient from the working directory up to the
// root; "" when it is nowhere.
func findClient() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		p := filepath.Join(dir, filepath.FromSlash(localClient))
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

type options struct {
	addr      string
	token     string
	clientJS  string // a file with socket.io.min.js; "" redirects to the CDN
	redisAddr string // -redis: host:port or a URL
	cluster   string // -redis-cluster: a cluster URL
	workers   int
	sc        bootstrap.Config
	tls       *tls.Config   // -tls-cert, -tls-key
	ping      time.Duration // ping interval (tests shorten it)
}

func main() {
	var o options
	flag.StringVar(&o.addr, "addr", "127.0.0.1:3000", "listen address")
	flag.StringVar(&o.token, "token", "secret", "auth token of namespace /private")
	flag.StringVar(&o.clientJS, "client-js", os.Getenv("SOCKETIO_CLIENT_JS"), "file to serve as /socket.io/socket.io.js (default: "+localClient+" found from the working directory up, else a redirect to "+clientCDN+")")
	flag.StringVar(&o.redisAddr, "redis", os.Getenv("SOCKETIO_REDIS"), "Redis address (host:port), URL (redis://host:port/db) or Sentinel URL (redis://SENTINEL:PORT/0?master_name=NAME&addr=...): rooms across nodes")
	flag.StringVar(&o.cluster, "redis-cluster", os.Getenv("SOCKETIO_REDIS_CLUSTER"), "Redis Cluster URL (redis://SEED:PORT?addr=SEED2:PORT&addr=...): rooms across nodes, instead of -redis")
	flag.IntVar(&o.workers, "workers", 0, "event loops (default: one per CPU)")
	certFile := flag.String("tls-cert", "", "PEM certificate: serve https:// and wss:// (with -tls-key)")
	keyFile := flag.String("tls-key", "", "PEM private key of -tls-cert")
	logFlags := logflag.Add(flag.CommandLine)
	flag.Parse()
	logger := logFlags.MustLogger("socketio")
	if o.clientJS == "" {
		if o.clientJS = findClient(); o.clientJS == "" {
			logger.Warn("socketio: no local socket.io client: the page loads it from " + clientCDN + " (needs the internet); `npm ci --prefix tests/interop` installs it, or pass -client-js FILE")
		}
	}
	if o.clientJS != "" {
		logger.Info("socketio: serving the client script", "file", o.clientJS)
	}
	if *certFile != "" || *keyFile != "" {
		cfg, err := tlsh.ServerConfig(*certFile, *keyFile, "http/1.1")
		if err != nil {
			fmt.Fprintf(os.Stderr, "socketio: -tls-cert/-tls-key: %v\n", err)
			os.Exit(2)
		}
		o.tls = cfg
	}
	srv, closeLayer, err := newServer(o)
	if err != nil {
		logflag.Fatal(logger, "socketio: cannot start", "err", err)
	}
	defer closeLayer()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Start(); err != nil {
		logflag.Fatal(logger, "socketio: cannot listen", "addr", o.addr, "err", err)
	}
	logger.Info("socketio: serving", "url", "http://"+srv.Addrs()[0].String()+"/")
	<-ctx.Done()
}

func newServer(o options) (*socketio.Server, func(), error) {
	var l layer.Layer
	closeLayer := func() {}
	if o.redisAddr != "" || o.cluster != "" {
		if o.redisAddr != "" && o.cluster != "" {
			return nil, nil, errors.New("-redis and -redis-cluster are one or the other")
		}
		u := o.redisAddr + o.cluster
		if !strings.Contains(u, "://") {
			u = "redis://" + u // a bare host:port
		}
		rc, err := layer.DialRedis(u, o.cluster != "")
		if err != nil {
			return nil, nil, fmt.Errorf("-redis: %w", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		rl, err := layer.NewRedis(ctx, layer.RedisConfig{Client: rc, Prefix: "socketio-example"})
		cancel()
		if err != nil {
			_ = rc.Close()
			return nil, nil, err
		}
		l = rl
		closeLayer = func() { _ = rl.Close(); _ = rc.Close() }
	}
	sc := o.sc
	sc.Workers = o.workers
	srv, err := socketio.New(socketio.Config{
		Addrs:        []string{o.addr},
		Recovery:     &socketio.Recovery{MaxDisconnection: 2 * time.Minute},
		Layer:        l,
		PingInterval: o.ping,
		HTTP:         func(r *router.Router) error { return pages(r, o.clientJS) },
		TLS:          o.tls,
		Server:       sc,
	})
	if err != nil {
		closeLayer()
		return nil, nil, err
	}
	root := srv.Of("/")
	d := newDemo()
	root.OnConnection(func(s *socketio.Socket) {
		s.On("echo", func(s *socketio.Socket, e *socketio.Event) {
			vals := e.Args.Values()
			_ = s.Emit("echo", vals...)
			_ = e.Ack(vals...)
		})
		s.On("join", func(s *socketio.Socket, e *socketio.Event) {
			room, ok := e.Args.String(0)
			if !ok || room == "" {
				_ = e.Ack("error: a room name is required")
				return
			}
			s.Join(room)
			_ = e.Ack("ok")
		})
		s.On("say", func(s *socketio.Socket, e *socketio.Event) {
			var m struct {
				Room string `json:"room"`
				Msg  any    `json:"msg"`
			}
			if err := e.Args.Decode(0, &m); err != nil || m.Room == "" {
				_ = e.Ack("error: want {room, msg}")
				return
			}
			_ = s.To(m.Room).Emit("said", map[string]any{"room": m.Room, "msg": m.Msg, "from": s.ID()})
			_ = e.Ack("ok")
		})
		s.On("size", func(s *socketio.Socket, e *socketio.Event) {
			room, _ := e.Args.String(0)
			_ = e.Ack(s.Namespace().RoomSize(room))
		})
		s.On("ask", func(s *socketio.Socket, e *socketio.Event) {
			// The server's own acknowledged emit: ask the client, then
			// acknowledge the client's "ask" with its answer.
			err := s.EmitWithAck(5*time.Second, func(answer *socketio.Args, err error) {
				if err != nil {
					_ = e.Ack("error: " + err.Error())
					return
				}
				_ = e.Ack(answer.Values()...)
			}, "question", e.Args.Values()...)
			if err != nil {
				_ = e.Ack("error: " + err.Error())
			}
		})
		d.attach(s)
	})
	private := srv.Of("/private")
	private.Use(func(s *socketio.Socket, next func(error)) {
		var auth struct {
			Token string `json:"token"`
		}
		if s.Auth() == nil || jsonmsg.API.Unmarshal(s.Auth(), &auth) != nil || auth.Token != o.token {
			next(&socketio.ConnectError{Message: "not authorized", Data: map[string]string{"hint": "auth.token"}})
			return
		}
		next(nil)
	})
	private.OnConnection(func(s *socketio.Socket) {
		_ = s.Emit("welcome", "private")
		s.On("echo", func(s *socketio.Socket, e *socketio.Event) { _ = e.Ack(e.Args.Values()...) })
	})
	return srv, closeLayer, nil
}

// demo is the official chat demo's state: the number of users, on every
// node a count of its own (as the Node demo keeps one per process).
type demo struct {
	mu       sync.Mutex
	numUsers int
}

func newDemo() *demo { return &demo{} }

func (d *demo) attach(s *socketio.Socket) {
	var username string
	added := false
	s.On("new message", func(s *socketio.Socket, e *socketio.Event) {
		var msg any
		_ = e.Args.Decode(0, &msg)
		_ = s.Broadcast().Emit("new message", map[string]any{"username": username, "message": msg})
	})
	s.On("add user", func(s *socketio.Socket, e *socketio.Event) {
		if added {
			return
		}
		name, ok := e.Args.String(0)
		if !ok {
			return
		}
		username, added = name, true
		d.mu.Lock()
		d.numUsers++
		n := d.numUsers
		d.mu.Unlock()
		_ = s.Emit("login", map[string]any{"numUsers": n})
		_ = s.Broadcast().Emit("user joined", map[string]any{"username": username, "numUsers": n})
	})
	s.On("typing", func(s *socketio.Socket, e *socketio.Event) {
		_ = s.Broadcast().Emit("typing", map[string]any{"username": username})
	})
	s.On("stop typing", func(s *socketio.Socket, e *socketio.Event) {
		_ = s.Broadcast().Emit("stop typing", map[string]any{"username": username})
	})
	s.OnDisconnect(func(s *socketio.Socket, reason string) {
		if !added {
			return
		}
		d.mu.Lock()
		d.numUsers--
		n := d.numUsers
		d.mu.Unlock()
		_ = s.Broadcast().Emit("user left", map[string]any{"username": username, "numUsers": n})
	})
}

// pages serves the chat page and the client script.
func pages(r *router.Router, clientJS string) error {
	page, err := web.ReadFile("web/index.html")
	if err != nil {
		return err
	}
	var script []byte
	if clientJS != "" {
		if script, err = os.ReadFile(clientJS); err != nil {
			return errors.New("socketio: -client-js: " + err.Error())
		}
	}
	if err := r.Handle("GET", "/", func(ctx *pipeline.Context, req *http1.Request) {
		router.Reply(ctx, req, 200, "text/html; charset=utf-8", page)
	}); err != nil {
		return err
	}
	return r.Handle("GET", "/socket.io/socket.io.js", func(ctx *pipeline.Context, req *http1.Request) {
		if script != nil {
			router.Reply(ctx, req, 200, "application/javascript; charset=utf-8", script)
			return
		}
		resp := http1.NewResponse(req)
		resp.Status = 302
		resp.Header.Set("Location", clientCDN)
		req.Release()
		ctx.Channel().WriteAndFlush(resp)
	})
}
