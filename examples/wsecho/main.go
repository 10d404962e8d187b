// Command wsecho echoes every WebSocket text and binary message at path /,
// with permessage-deflate offered: the reference target for conformance
// tools such as the Autobahn TestSuite.
//
// Compression keeps context takeover on by default: each connection keeps
// a window of its past messages in both directions, 8 KiB in all
// (-deflate-memory), so similar messages compress several times better.
// -context-takeover=false compresses every message alone.
//
//	go run ./examples/wsecho -addr 127.0.0.1:9001
//	go run ./examples/wsecho -addr 127.0.0.1:9443 -tls-cert cert.pem -tls-key key.pem   # wss://
package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/gnetty/gnetty/bootstrap"
	"github.com/gnetty/gnetty/codec/http1"
	"github.com/gnetty/gnetty/codec/wsframe"
	"github.com/gnetty/gnetty/handler/http/router"
	"github.com/gnetty/gnetty/handler/tlsh"
	"github.com/gnetty/gnetty/handler/ws/upgrade"
	"github.com/gnetty/gnetty/internal/logflag"
	"github.com/gnetty/gnetty/pipeline"
	"github.com/gnetty/gnetty/preset/websocket"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9001", "listen address")
	certFile := flag.String("tls-cert", "", "PEM certificate: serve wss:// (with -tls-key; reloaded when the files change)")
	keyFile := flag.String("tls-key", "", "PEM private key of -tls-cert")
	takeover := flag.Bool("context-takeover", true, "permessage-deflate context takeover: keep each direction's window between messages")
	memory := flag.Int("deflate-memory", wsframe.DefaultDeflateMemory, "bytes of compression window a connection keeps with -context-takeover, both directions")
	general := flag.Bool("general-chain", false, "run each connection on the general handler chain (codec, keepalive, application: what Config.Handlers gets) instead of the fused one, to compare or test both")
	logFlags := logflag.Add(flag.CommandLine)
	flag.Parse()
	logger := logFlags.MustLogger("wsecho")
	var tlsCfg *tls.Config
	if *certFile != "" || *keyFile != "" {
		cfg, err := tlsh.ServerConfig(*certFile, *keyFile, "http/1.1")
		if err != nil {
			fmt.Fprintf(os.Stderr, "wsecho: -tls-cert/-tls-key: %v\n", err)
			os.Exit(2)
		}
		tlsCfg = cfg
	}
	srv, err := newServer(*addr, bootstrap.Config{Logger: logger}, tlsCfg, deflate{takeover: *takeover, memory: *memory, general: *general})
	if err != nil {
		logflag.Fatal(logger, "wsecho: cannot start", "err", err)
	}
	if err := srv.Start(); err != nil {
		logflag.Fatal(logger, "wsecho: cannot listen", "addr", *addr, "err", err)
	}
	scheme := "ws"
	if tlsCfg != nil {
		scheme = "wss"
	}
	logger.Info("wsecho: listening", "url", scheme+"://"+srv.Addrs()[0].String()+"/")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := srv.Serve(ctx); err != nil {
		logflag.Fatal(logger, "wsecho: stopped", "err", err)
	}
}

// deflate is the compression policy: context takeover and its budget.
type deflate struct {
	takeover bool
	memory   int
	general  bool // the general chain (see -general-chain), not the fused one
}

func newServer(addr string, sc bootstrap.Config, tlsCfg *tls.Config, d deflate) (*websocket.Server, error) {
	echo := websocket.Funcs{
		Message: func(c *websocket.Conn, typ websocket.MessageType, data []byte) {
			_ = c.WriteMessage(typ, data) // text stays text, binary binary; no copy
		},
	}
	var handlers func(*pipeline.Pipeline, *upgrade.Handshake) error
	if d.general {
		handlers = func(*pipeline.Pipeline, *upgrade.Handshake) error { return nil }
	}
	return websocket.New(websocket.Config{
		Handlers: handlers,
		Addrs:    []string{addr},
		Routes:   map[string]websocket.Handler{"/": echo},
		HTTP: func(r *router.Router) error {
			return r.Handle("GET", "/page", func(ctx *pipeline.Context, req *http1.Request) {
				router.Reply(ctx, req, 200, "text/html; charset=utf-8", []byte(page))
			})
		},
		Upgrade: upgrade.Config{
			Compression:       true,
			ContextTakeover:   d.takeover,
			CompressionMemory: d.memory,
			CheckOrigin:       func(string, *http1.Request) bool { return true }, // a test target
			Frame:             wsframe.Config{MaxMessageSize: 16 << 20},
		},
		TLS:    tlsCfg,
		Server: sc,
	})
}

// page is a self-test: it echoes a few messages through "/" and leaves the
// outcome in window.result (the browser interop test reads it).
const page = `<!doctype html>
<meta charset="utf-8"><title>wsecho self-test</title>
<pre id="out">running</pre>
<script>
const want = ["hello from the browser", "ünïcödé ✓ 𝄞", "z".repeat(70000)];
const seen = [];
const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/");
ws.binaryType = "arraybuffer";
ws.onopen = () => { for (const m of want) ws.send(m); ws.send(new Uint8Array([1, 2, 3]).buffer); };
ws.onmessage = (e) => {
  if (typeof e.data === "string") seen.push(e.data === want[seen.length] ? "text" : "BAD");
  else { seen.push(new Uint8Array(e.data).join(",") === "1,2,3" ? "binary" : "BAD"); ws.close(4002, "browser done"); }
};
ws.onclose = (e) => {
  window.result = { ok: seen.join() === "text,text,text,binary" && e.code === 4002, seen, code: e.code, extensions: ws.extensions };
  document.getElementById("out").textContent = JSON.stringify(window.result);
};
ws.onerror = () => { window.result = { ok: false, error: "websocket error", seen }; };
</script>
`
