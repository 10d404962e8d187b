package main

import (
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"

	"github.com/gnetty/gnetty/bootstrap"
	"github.com/gnetty/gnetty/codec/http1"
	"github.com/gnetty/gnetty/handler/http/router"
	"github.com/gnetty/gnetty/handler/ws/upgrade"
	"github.com/gnetty/gnetty/internal/servertest"
	"github.com/gnetty/gnetty/internal/tlstest"
	"github.com/gnetty/gnetty/pipeline"
	"github.com/gnetty/gnetty/preset/websocket"
)

// server runs an echo server that also answers "drop" by dropping the
// connection, "bye" with close 1001, and /secret with 401 unless the
// request carries the token.
func server(t *testing.T, tlsCfg *tls.Config) string {
	t.Helper()
	h := websocket.Funcs{Message: func(c *websocket.Conn, typ websocket.MessageType, data []byte) {
		switch string(data) {
		case "drop":
			c.Channel().Close()
		case "bye":
			c.Close(websocket.StatusGoingAway, "done")
		case "who":
			_ = c.WriteText("protocol " + c.Handshake().Subprotocol + ", header " + c.Handshake().Header("X-Who"))
		default:
			_ = c.WriteMessage(typ, data)
		}
	}}
	srv, err := websocket.New(websocket.Config{
		Addrs:  []string{"127.0.0.1:0"},
		Routes: map[string]websocket.Handler{"/": h},
		Upgrade: upgrade.Config{Compression: true, Subprotocols: []string{"chat.v1"}, KeepHeaders: []string{"X-Who"},
			Authorize: func(ctx *pipeline.Context, req *http1.Request) (int, string) {
				if string(req.Header("X-Who")) == "intruder" {
					return 401, "who are you?"
				}
				return 0, ""
			}},
		HTTP: func(r *router.Router) error {
			return r.Handle("GET", "/page", func(ctx *pipeline.Context, req *http1.Request) {
				router.Reply(ctx, req, 200, "text/plain", []byte("a page"))
			})
		},
		TLS:    tlsCfg,
		Server: bootstrap.Config{Workers: 1, Logger: slog.New(slog.DiscardHandler)},
	})
	if err != nil {
		t.Fatal(err)
	}
	return servertest.Start(t, srv)
}

func wsclient(t *testing.T, stdin io.Reader, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr servertest.Log
	code := run(append([]string{"-wait", "50ms"}, args...), stdin, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestLinesInMessagesOut(t *testing.T) {
	addr := server(t, nil)
	code, out, errs := wsclient(t, strings.NewReader("hello\nwho\n\nlast line\n"),
		"-url", "ws://"+addr+"/", "-compress", "-subprotocol", "chat.v2, chat.v1", "-H", "X-Who: tester")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if out != "hello\nprotocol chat.v1, header tester\n\nlast line\n" {
		t.Fatalf("stdout %q", out)
	}
	if !strings.Contains(errs, `subprotocol "chat.v1", compression true`) || !strings.Contains(errs, "closed: 1000") {
		t.Fatalf("stderr %q", errs)
	}
}

func TestExitStatuses(t *testing.T) {
	addr := server(t, nil)
	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
		code  int
		err   string
	}{
		{name: "going away", stdin: "bye\nnot sent\n", args: []string{"ws://" + addr + "/"}, code: exitOK, err: "closed: 1001 done"},
		{name: "dropped", stdin: "drop\n", args: []string{"ws://" + addr + "/"}, code: exitAbnormal, err: "closed: 1006"},
		{name: "refused", args: []string{"-H", "X-Who: intruder", "ws://" + addr + "/"}, code: exitDial, err: "refused: 401 Unauthorized\nwho are you?"},
		{name: "a page", args: []string{"ws://" + addr + "/page"}, code: exitDial, err: "refused: 200 OK\na page"},
		{name: "no server", args: []string{"ws://" + closedPort(t) + "/"}, code: exitDial, err: "connection refused"},
		{name: "no url", code: exitUsage, err: "-url is required"},
		{name: "a bad header", args: []string{"-H", "nocolon", "ws://" + addr + "/"}, code: exitUsage, err: "want 'Name: value'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The dropped and going-away cases keep stdin open until the
			// connection ends: the server's action, not the end of input,
			// closes it.
			var stdin io.Reader = strings.NewReader(tc.stdin)
			if tc.code != exitUsage && tc.code != exitDial {
				r, w := io.Pipe()
				go func() { _, _ = io.WriteString(w, tc.stdin) }()
				t.Cleanup(func() { w.Close() })
				stdin = r
			}
			code, _, errs := wsclient(t, stdin, tc.args...)
			if code != tc.code || !strings.Contains(errs, tc.err) {
				t.Fatalf("exit %d (want %d), stderr %q (want %q)", code, tc.code, errs, tc.err)
			}
		})
	}
}

func TestWSSWithATestCA(t *testing.T) {
	certs := tlstest.New(t)
	addr := server(t, certs.ServerConfig())
	code, out, errs := wsclient(t, strings.NewReader("secure\n"), "-ca", certs.CAFile, "wss://"+addr+"/")
	if code != exitOK || out != "secure\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errs)
	}
	code, _, errs = wsclient(t, strings.NewReader(""), "wss://"+addr+"/")
	if code != exitDial || !strings.Contains(errs, "certificate signed by unknown authority") {
		t.Fatalf("without the CA: exit %d, stderr %q", code, errs)
	}
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}
