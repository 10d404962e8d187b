package echo_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gnetty/gnetty/benchmarks/internal/peer"
	"github.com/gnetty/gnetty/bootstrap"
	"github.com/gnetty/gnetty/codec/frame"
	"github.com/gnetty/gnetty/pipeline"
)

type echo struct{}

func (echo) HandleRead(ctx *pipeline.Context, msg any) { ctx.Write(msg) }
func (echo) HandleReadComplete(ctx *pipeline.Context)  { ctx.Flush() }

// startGnetty runs the chain of examples/echo: lines -> strings -> echo.
// Each line becomes a Go string (one copy, two allocations).
func startGnetty(b *testing.B) (string, func()) {
	strings := frame.NewStringCodec(frame.StringConfig{Delimiter: "\n"})
	return startChain(b, func(p *pipeline.Pipeline) {
		_ = p.AddLast("lines", frame.NewLineDecoder(frame.LineConfig{}))
		_ = p.AddLast("strings", strings)
		_ = p.AddLast("echo", echo{})
	})
}

// startGnettyBytes frames lines without copying and echoes each frame
// (*pipeline.Bytes, delimiter kept) straight into the outbound batch: the
// framework's own cost, no allocation per line.
func startGnettyBytes(b *testing.B) (string, func()) {
	return startChain(b, func(p *pipeline.Pipeline) {
		_ = p.AddLast("lines", frame.NewLineDecoder(frame.LineConfig{KeepDelimiter: true}))
		_ = p.AddLast("echo", echo{})
	})
}

func startChain(b *testing.B, fill func(p *pipeline.Pipeline)) (string, func()) {
	s, err := bootstrap.New(bootstrap.Config{
		Addrs:       []string{"tcp://127.0.0.1:0"},
		Workers:     1,
		Logger:      slog.New(slog.DiscardHandler),
		Initializer: func(ch *pipeline.Channel) { fill(ch.Pipeline()) },
	})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Start(); err != nil {
		b.Fatal(err)
	}
	return s.Addrs()[0].String(), func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
	}
}

func startRaw(b *testing.B) (string, func()) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan struct{}), make(chan error, 1)
	go func() { done <- peer.RawEcho(ctx, addr, ready) }()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		b.Fatal(err)
	}
	return addr, func() { cancel(); <-done }
}

// BenchmarkEcho sends lines over conns connections with inflight lines
// per round trip, and reports lines per second. One op is one line echoed.
func BenchmarkEcho(b *testing.B) {
	servers := []struct {
		name  string
		start func(*testing.B) (string, func())
	}{
		{"raw-gnet", startRaw},
		{"gnetty-bytes", startGnettyBytes},
		{"gnetty-strings", startGnetty},
	}
	for _, size := range []int{64, 1024} {
		for _, inflight := range []int{1, 8} {
			for _, srv := range servers {
				name := fmt.Sprintf("size=%d/inflight=%d/%s", size, inflight, srv.name)
				b.Run(name, func(b *testing.B) {
					addr, stop := srv.start(b)
					defer stop()
					runEcho(b, addr, 50, size, inflight)
				})
			}
		}
	}
}

func runEcho(b *testing.B, addr string, conns, size, inflight int) {
	line := append(bytes.Repeat([]byte("x"), size-1), '\n')
	batch := bytes.Repeat(line, inflight)
	clients := make([]net.Conn, conns)
	for i := range clients {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		clients[i] = c
	}
	var rounds atomic.Int64
	total := int64((b.N + inflight - 1) / inflight)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for _, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got := make([]byte, len(batch))
			for rounds.Add(1) <= total {
				if _, err := c.Write(batch); err != nil {
					errs <- err
					return
				}
				if _, err := io.ReadFull(c, got); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	b.ReportMetric(float64(total*int64(inflight))/b.Elapsed().Seconds(), "lines/s")
}
