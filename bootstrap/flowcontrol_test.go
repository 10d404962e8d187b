package bootstrap_test

import (
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/gnetty/gnetty/bootstrap"
	"github.com/gnetty/gnetty/pipeline"
)

// pacedProducer writes a patterned payload in chunks while the channel is
// writable, resumes on writable=true, and closes (gracefully) at the end.
type pacedProducer struct {
	total, chunk, sent int
}

func (p *pacedProducer) pump(ctx *pipeline.Context) {
	for p.sent < p.total && ctx.Channel().IsWritable() {
		n := min(p.chunk, p.total-p.sent)
		b := make([]byte, n)
		for i := range b {
			b[i] = byte((p.sent + i) % 251)
		}
		ctx.Write(b)
		p.sent += n
	}
	ctx.Flush()
	if p.sent == p.total {
		ctx.Close()
	}
}

func (p *pacedProducer) HandleActive(ctx *pipeline.Context) { p.pump(ctx); ctx.FireActive() }

func (p *pacedProducer) HandleWritabilityChanged(ctx *pipeline.Context, writable bool) {
	if writable {
		p.pump(ctx)
	}
	ctx.FireWritabilityChanged(writable)
}

// TestPacedProducerDeliversEveryByte: Netty's flow-controlled producer
// over real sockets with default, small and tiny send buffers and chunks
// of 512 B to 16 KiB, several connections at once; each client reads
// slowly for a while, then drains. Every byte arrives, in order. (Before:
// with the default buffers the producer stopped after 64-80 KiB for good.)
func TestPacedProducerDeliversEveryByte(t *testing.T) {
	for _, sndbuf := range []int{0, 16 << 10, 4 << 10} {
		for _, chunk := range []int{512, 4 << 10, 16 << 10} {
			total := 1 << 20
			if sndbuf == 0 && chunk == 4<<10 {
				total = 4 << 20 // the reported case
			}
			t.Run(fmt.Sprintf("sndbuf=%d/chunk=%d", sndbuf, chunk), func(t *testing.T) {
				s := start(t, bootstrap.Config{
					ChannelOptions: bootstrap.ChannelOptions{SocketSendBuffer: sndbuf},
					Initializer: func(ch *pipeline.Channel) {
						_ = ch.Pipeline().AddLast("producer", &pacedProducer{total: total, chunk: chunk})
					},
				})
				var wg sync.WaitGroup
				errs := make(chan error, 3)
				for range 3 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						errs <- readSlowlyThenDrain(s.Addrs()[0].String(), total)
					}()
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					if err != nil {
						t.Fatal(err)
					}
				}
			})
		}
	}
}

func readSlowlyThenDrain(addr string, total int) error {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(60 * time.Second))
	got := 0
	buf := make([]byte, 32<<10)
	check := func(b []byte) error {
		for i, x := range b {
			if want := byte((got + i) % 251); x != want {
				return fmt.Errorf("byte %d is %d, want %d", got+i, x, want)
			}
		}
		got += len(b)
		return nil
	}
	// Slowly: 1 KiB every 10 ms for about half a second (the client's
	// pace, which fills the server's buffers; not a wait for the server).
	for range 50 {
		n, err := io.ReadFull(c, buf[:1<<10])
		if err != nil {
			return fmt.Errorf("slow read after %d bytes: %w", got, err)
		}
		if err := check(buf[:n]); err != nil {
			return err
		}
		time.Sleep(10 * time.Millisecond)
	}
	for {
		n, err := c.Read(buf)
		if cerr := check(buf[:n]); cerr != nil {
			return cerr
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("after %d of %d bytes: %w", got, total, err)
		}
	}
	if got != total {
		return fmt.Errorf("got %d of %d bytes", got, total)
	}
	return nil
}
