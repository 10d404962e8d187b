package bootstrap_test

import (
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gnetty/gnetty/bootstrap"
	"github.com/gnetty/gnetty/codec/frame"
	"github.com/gnetty/gnetty/pipeline"
)

// BenchmarkFanOut is a room broadcast: members are real sockets on one
// loop, read by the benchmark. With from=goroutines, publisher goroutines
// (the chat's executor) write each message to every member with
// WriteAndFlush; with from=sockets, publisher connections on the same
// loop send lines that their read handler writes to every member (a
// single-node chat room). It reports deliveries per second and socket
// writes per delivery (below 1 when messages for a member share a
// writev).
func BenchmarkFanOut(b *testing.B) {
	for _, from := range []string{"goroutines", "sockets"} {
		for _, members := range []int{10, 100} {
			b.Run(fmt.Sprintf("from=%s/members=%d", from, members), func(b *testing.B) { fanOut(b, from, members) })
		}
	}
}

func fanOut(b *testing.B, from string, members int) {
	{
		{
			var mu sync.Mutex
			var chans []*pipeline.Channel
			ready := make(chan struct{}, members+8)
			msg := []byte("a chat message of about a hundred bytes, as rooms carry them: {\"type\":\"user\",\"id\":12345}\n")
			var publishing atomic.Bool // connections made now are publishers
			s := start(b, bootstrap.Config{Workers: 1, Initializer: func(ch *pipeline.Channel) {
				if publishing.Load() {
					p := ch.Pipeline()
					_ = p.AddLast("lines", frame.NewLineDecoder(frame.LineConfig{}))
					_ = p.AddLast("room", pipeline.ReadFunc(func(ctx *pipeline.Context, m any) {
						for _, member := range chans { // the loop's own: written at once, flushed by the loop
							member.WriteAndFlush(msg)
						}
						pipeline.Release(m)
					}))
				} else {
					mu.Lock()
					chans = append(chans, ch)
					mu.Unlock()
				}
				ready <- struct{}{}
			}})
			var received atomic.Int64
			var wg sync.WaitGroup
			for range members {
				c, err := net.Dial("tcp", s.Addrs()[0].String())
				if err != nil {
					b.Fatal(err)
				}
				defer c.Close()
				<-ready
				wg.Add(1)
				go func() {
					defer wg.Done()
					buf := make([]byte, 64<<10)
					for {
						n, err := c.Read(buf)
						received.Add(int64(n))
						if err != nil {
							if err != io.EOF {
								return
							}
							return
						}
					}
				}()
			}
			want := int64(b.N) * int64(members) * int64(len(msg))
			w0 := s.Stats().Writes
			b.ResetTimer()
			t0 := time.Now()
			publishers := 4
			var pub sync.WaitGroup
			if from == "sockets" {
				// Many publishers at a paced rate, as people in a room: one
				// line every 2 ms each, so a loop pass sees a few of them.
				publishers = 50
				publishing.Store(true)
				for p := range publishers {
					c, err := net.Dial("tcp", s.Addrs()[0].String())
					if err != nil {
						b.Fatal(err)
					}
					defer c.Close()
					<-ready
					pub.Add(1)
					go func() {
						defer pub.Done()
						tick := time.NewTicker(2 * time.Millisecond)
						defer tick.Stop()
						for i := p; i < b.N; i += publishers {
							if _, err := c.Write(msg); err != nil { // one line, one read
								return
							}
							<-tick.C
						}
					}()
				}
			} else {
				for p := range publishers {
					pub.Add(1)
					go func() {
						defer pub.Done()
						for i := p; i < b.N; i += publishers {
							for _, ch := range chans {
								ch.WriteAndFlush(msg)
							}
						}
					}()
				}
			}
			pub.Wait()
			for deadline := time.Now().Add(60 * time.Second); received.Load() < want && time.Now().Before(deadline); {
				time.Sleep(100 * time.Microsecond)
			}
			el := time.Since(t0)
			b.StopTimer()
			if got := received.Load(); got < want {
				b.Fatalf("received %d of %d bytes", got, want)
			}
			deliveries := float64(b.N) * float64(members)
			b.ReportMetric(deliveries/el.Seconds(), "deliveries/s")
			b.ReportMetric(float64(s.Stats().Writes-w0)/deliveries, "writes/delivery")
		}
	}
}
