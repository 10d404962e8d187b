package wsbench

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	gobwas "github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/gorilla/websocket"
	nbtls "github.com/lesismal/llib/std/crypto/tls"
	"github.com/lesismal/nbio/nbhttp"
	nbws "github.com/lesismal/nbio/nbhttp/websocket"

	"github.com/gnetty/gnetty/benchmarks/internal/peer"
	"github.com/gnetty/gnetty/bootstrap"
	"github.com/gnetty/gnetty/codec/http1"
	"github.com/gnetty/gnetty/handler/ws/upgrade"
	gws "github.com/gnetty/gnetty/preset/websocket"
)

func anyOrigin(string, *http1.Request) bool { return true }

// serve runs one server until SIGTERM. An impl named "<name>-tls" serves
// over TLS with the certificate in $WSB_CERT and $WSB_KEY.
func serve(impl, addr string) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	var tlsCfg *tls.Config
	if name, ok := strings.CutSuffix(impl, "-tls"); ok {
		impl = name
		cert, err := tls.LoadX509KeyPair(os.Getenv("WSB_CERT"), os.Getenv("WSB_KEY"))
		if err != nil {
			return err
		}
		tlsCfg = &tls.Config{Certificates: []tls.Certificate{cert}}
	}
	switch impl {
	case "gnetty":
		echo := gws.Funcs{Message: func(c *gws.Conn, typ gws.MessageType, data []byte) { _ = c.WriteMessage(typ, data) }}
		ping, _ := time.ParseDuration(os.Getenv("WSB_PING")) // BenchmarkHeartbeat's; 0: the default 25 s
		gcPercent, _ := strconv.Atoi(os.Getenv("WSB_GCPERCENT"))
		s, err := gws.New(gws.Config{
			Addrs:        []string{addr},
			Routes:       map[string]gws.Handler{"/": echo},
			PingInterval: ping,
			Upgrade:      upgrade.Config{CheckOrigin: anyOrigin},
			TLS:          tlsCfg,
			Server:       bootstrap.Config{Workers: 1, GCPercent: gcPercent, Logger: slog.New(slog.DiscardHandler)},
		})
		if err != nil {
			return err
		}
		return s.Serve(ctx)
	case "gorilla":
		up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
		srv := &http.Server{Addr: addr, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, err := up.Upgrade(w, r, nil)
			if err != nil {
				return
			}
			defer c.Close()
			for {
				mt, rd, err := c.NextReader()
				if err != nil {
					return
				}
				wr, err := c.NextWriter(mt)
				if err != nil {
					return
				}
				if _, err := io.Copy(wr, rd); err != nil {
					return
				}
				if err := wr.Close(); err != nil {
					return
				}
			}
		})}
		go func() { <-ctx.Done(); _ = srv.Close() }()
		var err error
		if tlsCfg != nil {
			srv.TLSConfig = tlsCfg
			srv.TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){} // HTTP/1.1 only, as WebSocket needs
			err = srv.ListenAndServeTLS("", "")
		} else {
			err = srv.ListenAndServe()
		}
		if err != http.ErrServerClosed {
			return err
		}
		return nil
	case "gobwas":
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return err
		}
		go func() { <-ctx.Done(); _ = l.Close() }()
		for {
			c, err := l.Accept()
			if err != nil {
				return nil
			}
			go func() {
				defer c.Close()
				if _, err := gobwas.Upgrade(c); err != nil {
					return
				}
				for {
					data, op, err := wsutil.ReadClientData(c)
					if err != nil {
						return
					}
					if err := wsutil.WriteServerMessage(c, op, data); err != nil {
						return
					}
				}
			}()
		}
	case "nbio":
		up := nbws.NewUpgrader()
		up.CheckOrigin = func(*http.Request) bool { return true }
		up.OnMessage(func(c *nbws.Conn, mt nbws.MessageType, data []byte) { _ = c.WriteMessage(mt, data) })
		mux := http.NewServeMux()
		mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { _, _ = up.Upgrade(w, r, nil) })
		conf := nbhttp.Config{Network: "tcp", Addrs: []string{addr}, Handler: mux, NPoller: 1}
		if tlsCfg != nil {
			cert, err := nbtls.LoadX509KeyPair(os.Getenv("WSB_CERT"), os.Getenv("WSB_KEY"))
			if err != nil {
				return err
			}
			conf.Addrs, conf.AddrsTLS = nil, []string{addr}
			conf.TLSConfig = &nbtls.Config{Certificates: []nbtls.Certificate{cert}}
		}
		e := nbhttp.NewEngine(conf)
		if err := e.Start(); err != nil {
			return err
		}
		<-ctx.Done()
		e.Stop()
		return nil
	case "rawgnet":
		return peer.RawEcho(ctx, addr, nil)
	}
	return nil
}
