package layer_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gnetty/gnetty/internal/redistest"
	"github.com/gnetty/gnetty/layer"
	"github.com/gnetty/gnetty/pipeline"
)

// inline is an event loop that runs every task at once on the caller,
// one at a time: enough for a benchmark that only counts what channels
// are sent.
type inline struct{ mu *sync.Mutex }

func (l inline) Execute(task func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	task()
}
func (inline) Schedule(time.Duration, func()) pipeline.Timer { return nil }
func (inline) InLoop() bool                                  { return false }
func (inline) Now() time.Time                                { return time.Now() }

// counting is a transport that records deliveries and, for one channel,
// the latency from the timestamp inside the message.
type counting struct {
	n       *atomic.Int64
	latency func(time.Duration)
	loop    inline
}

func (c *counting) EventLoop() pipeline.EventLoop { return c.loop }
func (c *counting) LocalAddr() net.Addr           { return nil }
func (c *counting) RemoteAddr() net.Addr          { return nil }
func (c *counting) Flush()                        {}
func (c *counting) Pending() int                  { return 0 }
func (c *counting) Close()                        {}
func (c *counting) Wake()                         {}

func (c *counting) Write(msg any) error {
	c.n.Add(1)
	if c.latency != nil {
		if m, ok := msg.(layer.Message); ok && len(m.Data) >= 8 {
			c.latency(time.Since(time.Unix(0, int64(binary.BigEndian.Uint64(m.Data)))))
		}
	}
	return nil
}

func members(n int, count *atomic.Int64, latency func(time.Duration)) []*pipeline.Channel {
	chans := make([]*pipeline.Channel, n)
	for i := range chans {
		tr := &counting{n: count, loop: inline{mu: &sync.Mutex{}}}
		if i == 0 {
			tr.latency = latency
		}
		ch := pipeline.NewChannel(tr, pipeline.Config{})
		ch.Activate()
		chans[i] = ch
	}
	return chans
}

// BenchmarkDelivery publishes group messages on node a and counts their
// deliveries to the members on node b (cross-node), or on a itself (one
// node). It reports deliveries per second and the p99 latency from the
// publish on a to the write on b.
func BenchmarkDelivery(b *testing.B) {
	rs := redistest.Start(b)
	for _, mode := range []string{"one-node", "cross-node"} {
		for _, size := range []int{10, 100} {
			b.Run(fmt.Sprintf("%s/members=%d", mode, size), func(b *testing.B) {
				mk := func(name string) *layer.Redis {
					c := redis.NewClient(&redis.Options{Addr: rs.Addr, PoolSize: 16})
					b.Cleanup(func() { c.Close() })
					l, err := layer.NewRedis(context.Background(), layer.RedisConfig{Client: c, Node: name,
						Encode: func(m layer.Message) any { return m }})
					if err != nil {
						b.Fatal(err)
					}
					b.Cleanup(func() { l.Close() })
					return l
				}
				a := mk("a-" + mode)
				recv := a
				if mode == "cross-node" {
					recv = mk("b-" + mode)
				}
				group := fmt.Sprintf("bench-%s-%d", mode, size)
				var count atomic.Int64
				var mu sync.Mutex
				var lat []time.Duration
				for _, ch := range members(size, &count, func(d time.Duration) {
					mu.Lock()
					lat = append(lat, d)
					mu.Unlock()
				}) {
					_ = recv.GroupAdd(group, ch)
				}
				time.Sleep(50 * time.Millisecond) // subscription settles
				want := int64(b.N) * int64(size)
				b.ResetTimer()
				start := time.Now()
				var wg sync.WaitGroup
				const publishers = 8
				per := (b.N + publishers - 1) / publishers
				sent := atomic.Int64{}
				for range publishers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						buf := make([]byte, 8, 64)
						for range per {
							if sent.Add(1) > int64(b.N) {
								return
							}
							binary.BigEndian.PutUint64(buf, uint64(time.Now().UnixNano()))
							_ = a.GroupSend(group, layer.Message{Data: append(buf[:8], "payload of a chat message"...)})
						}
					}()
				}
				wg.Wait()
				for deadline := time.Now().Add(30 * time.Second); count.Load() < want && time.Now().Before(deadline); {
					time.Sleep(time.Millisecond)
				}
				el := time.Since(start)
				b.StopTimer()
				if got := count.Load(); got < want {
					b.Fatalf("%d of %d deliveries", got, want)
				}
				b.ReportMetric(float64(want)/el.Seconds(), "deliveries/s")
				mu.Lock()
				slices.Sort(lat)
				if len(lat) > 0 {
					b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-us")
					b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-us")
				}
				mu.Unlock()
			})
		}
	}
}
