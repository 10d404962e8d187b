// Command echo is a line echo server built from a custom chain:
// line framer -> string codec -> echo handler.
//
//	go run ./examples/echo -addr 127.0.0.1:7000
package main

import (
	"context"
	"flag"
	"os"
	"os/signal"
	"syscall"

	"github.com/gnetty/gnetty/bootstrap"
	"github.com/gnetty/gnetty/codec/frame"
	"github.com/gnetty/gnetty/internal/logflag"
	"github.com/gnetty/gnetty/pipeline"
)

// echo writes every line back and flushes once per read.
type echo struct{}

func (echo) HandleRead(ctx *pipeline.Context, msg any) { ctx.Write(msg) }
func (echo) HandleReadComplete(ctx *pipeline.Context)  { ctx.Flush() }

func main() {
	addr := flag.String("addr", "127.0.0.1:7000", "listen address")
	logFlags := logflag.Add(flag.CommandLine) // -log-format, -log-level
	flag.Parse()
	logger := logFlags.MustLogger("echo")
	strings := frame.NewStringCodec(frame.StringConfig{Delimiter: "\n", ValidateUTF8: true}) // stateless: shared by all channels
	srv, err := bootstrap.New(bootstrap.Config{
		Addrs:  []string{*addr},
		Logger: logger,
		Initializer: func(ch *pipeline.Channel) {
			p := ch.Pipeline()
			_ = p.AddLast("lines", frame.NewLineDecoder(frame.LineConfig{MaxLength: 8192}))
			_ = p.AddLast("strings", strings)
			_ = p.AddLast("echo", echo{})
		},
	})
	if err != nil {
		logflag.Fatal(logger, "echo: cannot start", "err", err)
	}
	if err := srv.Start(); err != nil {
		logflag.Fatal(logger, "echo: cannot listen", "addr", *addr, "err", err)
	}
	logger.Info("echo: listening", "addr", srv.Addrs()[0].String())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := srv.Serve(ctx); err != nil {
		logflag.Fatal(logger, "echo: stopped", "err", err)
	}
}
