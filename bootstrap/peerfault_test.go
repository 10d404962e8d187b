package bootstrap_test

import (
	"bufio"
	"errors"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gnetty/gnetty/bootstrap"
	"github.com/gnetty/gnetty/codec/frame"
	"github.com/gnetty/gnetty/internal/servertest"
	"github.com/gnetty/gnetty/pipeline"
)

// What a client does wrong (an over-long line) is counted and logged at
// debug level; an error of the server's own reaches the log as a warning.
func TestPeerFaultsAreDebugServerFaultsWarn(t *testing.T) {
	var logs servertest.Log
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := start(t, bootstrap.Config{Logger: logger, Initializer: func(ch *pipeline.Channel) {
		p := ch.Pipeline()
		_ = p.AddLast("lines", frame.NewLineDecoder(frame.LineConfig{MaxLength: 16}))
		_ = p.AddLast("string", frame.NewStringCodec(frame.StringConfig{Delimiter: "\n"}))
		_ = p.AddLast("app", pipeline.ReadFunc(func(ctx *pipeline.Context, msg any) {
			if msg == "fail" {
				ctx.FireError(errors.New("the server's own fault"))
				return
			}
			ctx.WriteAndFlush(msg)
		}))
	}})
	before := pipeline.PeerFaults()
	c, err := net.Dial("tcp", s.Addrs()[0].String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The too-long line is dropped, the connection goes on.
	if _, err := c.Write([]byte(strings.Repeat("x", 100) + "\nok\nfail\nafter\n")); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
	br := bufio.NewReader(c)
	for _, want := range []string{"ok\n", "after\n"} {
		if line, err := br.ReadString('\n'); err != nil || line != want {
			t.Fatalf("read %q, %v; want %q", line, err, want)
		}
	}
	if n := pipeline.PeerFaults() - before; n != 1 {
		t.Fatalf("%d peer faults counted, want 1", n)
	}
	log := logs.String()
	if !strings.Contains(log, `level=DEBUG msg="pipeline: the peer's fault"`) || !strings.Contains(log, "exceeds the maximum 16") {
		t.Fatalf("the peer's fault not at debug:\n%s", log)
	}
	if !strings.Contains(log, `level=WARN msg="pipeline: error reached the tail unhandled"`) || !strings.Contains(log, "the server's own fault") {
		t.Fatalf("the server's fault not a warning:\n%s", log)
	}
	if strings.Count(log, "level=WARN") != 1 {
		t.Fatalf("warnings:\n%s", log)
	}
}
