package servertest_test

import (
	"bufio"
	"fmt"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/gnetty/gnetty/bootstrap"
	"github.com/gnetty/gnetty/codec/frame"
	"github.com/gnetty/gnetty/internal/servertest"
	"github.com/gnetty/gnetty/pipeline"
)

func TestStartServesAndCleanupStops(t *testing.T) {
	s, err := bootstrap.New(bootstrap.Config{
		Addrs:   []string{"127.0.0.1:0"},
		Workers: 1,
		Logger:  slog.New(slog.DiscardHandler),
		Initializer: func(ch *pipeline.Channel) {
			_ = ch.Pipeline().AddLast("lines", frame.NewLineDecoder(frame.LineConfig{}))
			_ = ch.Pipeline().AddLast("strings", frame.NewStringCodec(frame.StringConfig{Delimiter: "\n"}))
			_ = ch.Pipeline().AddLast("echo", pipeline.ReadFunc(func(ctx *pipeline.Context, msg any) { ctx.WriteAndFlush(msg) }))
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	var addr string
	t.Run("inner", func(t *testing.T) {
		addr = servertest.Start(t, s)
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprint(c, "ping\n")
		if line, err := bufio.NewReader(c).ReadString('\n'); err != nil || line != "ping\n" {
			t.Fatalf("echo %q %v", line, err)
		}
	})
	// The inner test's cleanup has shut the server down: nothing listens.
	if c, err := net.DialTimeout("tcp", addr, 5*time.Second); err == nil {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, rerr := c.Read(make([]byte, 1))
		c.Close()
		if rerr == nil {
			t.Fatal("the server still answers after the test ended")
		}
	}
	if st := s.Stats(); st.Active != 0 {
		t.Fatalf("%d channels open after cleanup", st.Active)
	}
}
