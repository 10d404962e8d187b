package bootstrap_test

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"

	"github.com/gnetty/gnetty/bootstrap"
	"github.com/gnetty/gnetty/codec/frame"
	"github.com/gnetty/gnetty/pipeline"
)

// A line echo server on a free port, one client, a graceful shutdown.
func Example() {
	s, err := bootstrap.New(bootstrap.Config{
		Addrs:   []string{"tcp://127.0.0.1:0"},
		Workers: 1,
		Logger:  slog.New(slog.DiscardHandler),
		Initializer: func(ch *pipeline.Channel) {
			p := ch.Pipeline()
			_ = p.AddLast("lines", frame.NewLineDecoder(frame.LineConfig{}))
			_ = p.AddLast("strings", frame.NewStringCodec(frame.StringConfig{Delimiter: "\n", ValidateUTF8: true}))
			_ = p.AddLast("echo", pipeline.ReadFunc(func(ctx *pipeline.Context, msg any) {
				ctx.WriteAndFlush("echo: " + msg.(string))
			}))
		},
	})
	if err != nil {
		panic(err)
	}
	if err := s.Start(); err != nil {
		panic(err)
	}
	defer s.Shutdown(context.Background())

	c, err := net.Dial("tcp", s.Addrs()[0].String())
	if err != nil {
		panic(err)
	}
	defer c.Close()
	fmt.Fprint(c, "hello\n")
	line, _ := bufio.NewReader(c).ReadString('\n')
	fmt.Print(line)
	// Output: echo: hello
}
