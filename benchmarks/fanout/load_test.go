package fanout

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gnetty/gnetty/benchmarks/internal/peer"
)

type loadResult struct {
	Delivered     int64   `json:"delivered"`
	Offered       int64   `json:"offered"`
	Seconds       float64 `json:"seconds"`
	P50us         float64 `json:"p50_us"`
	P99us         float64 `json:"p99_us"`
	Stalled       int     `json:"stalled"`
	StalledClosed int     `json:"stalled_closed"`
	OthersClosed  int64   `json:"others_closed"`
	Errors        int64   `json:"errors"`
	ServerCPU     float64 `json:"server_cpu"`
}

// run connects rooms*100 members (every stallEvery-th never reads; 0:
// none) and one publisher per room, publishes for d so that offered
// deliveries per second arrive, drains, and prints a loadResult.
func run(addr string, rooms, offered, stallEvery int, d time.Duration, pid int) error {
	const perRoom = 100
	type member struct {
		c       net.Conn
		r       *bufio.Reader
		stalled bool
	}
	var errs atomic.Int64
	members := make([]*member, rooms*perRoom)
	conns, bufs, failed := peer.DialMany(len(members), func(i int) (string, string) { return addr, "/room/" + strconv.Itoa(i%rooms) })
	errs.Add(failed)
	for i, c := range conns {
		if c != nil {
			members[i] = &member{c: c, r: bufs[i], stalled: stallEvery > 0 && i%stallEvery == stallEvery-1}
		}
	}
	pubs := make([]net.Conn, rooms)
	for i := range pubs {
		c, _, err := peer.DialWS(addr, "/pub/"+strconv.Itoa(i))
		if err != nil {
			return err
		}
		pubs[i] = c
	}
	// Let the servers register every member before the first publish.
	time.Sleep(500 * time.Millisecond)

	var delivered, othersClosed atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	var readers sync.WaitGroup
	stalled := 0
	for _, m := range members {
		if m == nil {
			continue
		}
		if m.stalled {
			stalled++
			continue
		}
		readers.Add(1)
		go func() {
			defer readers.Done()
			mine, closed := peer.ReadDeliveries(m.r, &delivered)
			if closed { // the server dropped us
				othersClosed.Add(1)
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	readersPerRoom := make([]int64, rooms)
	for i, m := range members {
		if m != nil && !m.stalled {
			readersPerRoom[i%rooms]++
		}
	}

	c0 := peer.CPUSeconds(pid)
	start := time.Now()
	var offeredToReaders atomic.Int64
	errs.Add(peer.Publish(pubs, float64(offered)/perRoom/float64(rooms), start, d, func(i int) { offeredToReaders.Add(readersPerRoom[i]) }))
	elapsed := time.Since(start).Seconds()
	for deadline := time.Now().Add(5 * time.Second); delivered.Load() < offeredToReaders.Load() && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	cpu := peer.CPUSeconds(pid) - c0
	// Which stalled members did the server drop? Read what is left: a
	// dropped member's stream ends (close frame or EOF).
	stalledClosed := 0
	var sw sync.WaitGroup
	var smu sync.Mutex
	for _, m := range members {
		if m == nil || !m.stalled {
			continue
		}
		sw.Add(1)
		go func() {
			defer sw.Done()
			_ = m.c.SetReadDeadline(time.Now().Add(3 * time.Second))
			_, err := io.Copy(io.Discard, m.r)
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				return // still open: not dropped
			}
			smu.Lock()
			stalledClosed++
			smu.Unlock()
		}()
	}
	sw.Wait()
	for _, m := range members {
		if m != nil {
			m.c.Close()
		}
	}
	for _, c := range pubs {
		c.Close()
	}
	readers.Wait()
	res := loadResult{Delivered: delivered.Load(), Offered: offeredToReaders.Load(), Seconds: elapsed, Stalled: stalled,
		StalledClosed: stalledClosed, OthersClosed: othersClosed.Load(), Errors: errs.Load(), ServerCPU: cpu}
	res.P50us, res.P99us = peer.Percentiles(lat)
	return json.NewEncoder(os.Stdout).Encode(res)
}
