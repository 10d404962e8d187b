// Command tailf streams log files to logged-in browsers over WebSocket:
// the second half of the Django Channels seed.
//
//	go run ./examples/tailf -addr 127.0.0.1:8081 -file 1=/var/log/app.log -file 2=/tmp/other.log
//
// POST /login (name) starts a session; GET /ws/tailf/{id} upgrades (401
// without a session, 404 for an unknown id) and sends every line appended
// to file id from then on, one text message per line. Each connection has
// one follower goroutine, stopped when the connection closes.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"github.com/gnetty/gnetty/bootstrap"
	"github.com/gnetty/gnetty/codec/http1"
	"github.com/gnetty/gnetty/handler/http/router"
	"github.com/gnetty/gnetty/handler/http/session"
	"github.com/gnetty/gnetty/handler/ws/upgrade"
	"github.com/gnetty/gnetty/internal/logflag"
	"github.com/gnetty/gnetty/pipeline"
	"github.com/gnetty/gnetty/preset/websocket"
)

type files map[string]string

func (f files) String() string { return fmt.Sprint(map[string]string(f)) }

func (f files) Set(v string) error {
	id, path, ok := strings.Cut(v, "=")
	if !ok || id == "" || path == "" {
		return fmt.Errorf("want id=path, got %q", v)
	}
	f[id] = path
	return nil
}

func main() {
	fs := files{}
	addr := flag.String("addr", "127.0.0.1:8081", "listen address")
	flag.Var(fs, "file", "id=path of a file to follow (repeatable)")
	logFlags := logflag.Add(flag.CommandLine)
	flag.Parse()
	logger := logFlags.MustLogger("tailf")
	srv, stop, err := newServer(*addr, fs, logger)
	if err != nil {
		logflag.Fatal(logger, "tailf: cannot start", "err", err)
	}
	defer stop()
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	if err := srv.Serve(ctx); err != nil {
		logflag.Fatal(logger, "tailf: stopped", "addr", *addr, "err", err)
	}
}

// tail follows one file per connection.
type tail struct {
	files   files
	mu      sync.Mutex
	cancels map[*websocket.Conn]context.CancelFunc
	wg      sync.WaitGroup
}

func (t *tail) OnOpen(c *websocket.Conn) {
	path := t.files[c.Handshake().Param("id")]
	ctx, cancel := context.WithCancel(context.Background())
	t.mu.Lock()
	t.cancels[c] = cancel
	t.mu.Unlock()
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		if err := follow(ctx, path, func(line string) { _ = c.WriteText(line) }); err != nil {
			c.Close(websocket.StatusInternalServerError, "cannot follow the file")
		}
	}()
}

func (t *tail) OnMessage(*websocket.Conn, websocket.MessageType, []byte) {}

func (t *tail) OnClose(c *websocket.Conn, _ websocket.StatusCode, _ string) {
	t.mu.Lock()
	cancel := t.cancels[c]
	delete(t.cancels, c)
	t.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

func newServer(addr string, fs files, logger *slog.Logger) (*websocket.Server, func(), error) {
	sessions := session.New(session.Config{})
	t := &tail{files: fs, cancels: map[*websocket.Conn]context.CancelFunc{}}
	srv, err := websocket.New(websocket.Config{
		Addrs:    []string{addr},
		Routes:   map[string]websocket.Handler{"/ws/tailf/{id}": t},
		Sessions: sessions,
		Upgrade: upgrade.Config{Authorize: func(ctx *pipeline.Context, req *http1.Request) (int, string) {
			if session.FromChannel(ctx.Channel()) == nil {
				return http.StatusUnauthorized, "log in first"
			}
			if _, ok := fs[req.Param("id")]; !ok {
				return http.StatusNotFound, "no such file"
			}
			return 0, ""
		}},
		HTTP: func(r *router.Router) error {
			return r.Handle("POST", "/login", func(ctx *pipeline.Context, req *http1.Request) {
				resp := http1.NewResponse(req)
				name := strings.TrimSpace(string(req.Body))
				if name == "" || len(name) > 32 {
					resp.Status = http.StatusBadRequest
				} else if _, err := sessions.Login(context.Background(), ctx.Channel(), req, resp, map[string]string{"user": name}); err != nil {
					resp.Status = http.StatusInternalServerError
				}
				req.Release()
				ctx.WriteAndFlush(resp)
			})
		},
		Server: bootstrap.Config{Logger: logger},
	})
	if err != nil {
		sessions.Close()
		return nil, nil, err
	}
	stop := func() {
		t.mu.Lock()
		for _, cancel := range t.cancels {
			cancel()
		}
		t.mu.Unlock()
		t.wg.Wait()
		sessions.Close()
	}
	return srv, stop, nil
}
