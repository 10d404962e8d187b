package crossnode

import (
	"bufio"
	"encoding/json"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gnetty/gnetty/benchmarks/internal/peer"
)

type result struct {
	Delivered   int64     `json:"delivered"`
	Offered     int64     `json:"offered"`
	Seconds     float64   `json:"seconds"`
	P50us       float64   `json:"p50_us"`
	P99us       float64   `json:"p99_us"`
	RemoteN     int       `json:"remote_n"`
	RemoteP50us float64   `json:"remote_p50_us"`
	RemoteP99us float64   `json:"remote_p99_us"`
	Errors      int64     `json:"errors"`
	NodeCPU     []float64 `json:"node_cpu"`
	RedisCPU    float64   `json:"redis_cpu"`
}

// run connects rooms*100 members, a room's members spread evenly over
// the nodes, and one publisher per room (room r's on node r mod the
// number of nodes); publishes for d so that offered deliveries per second
// arrive; drains; and prints a result.
func run(addrs []string, rooms, offered int, d time.Duration, nodePids, redisPids []int) error {
	const perRoom = 100
	type member struct {
		c      net.Conn
		r      *bufio.Reader
		remote bool // on another node than its room's publisher
	}
	var errs atomic.Int64
	members := make([]*member, rooms*perRoom)
	node := func(i int) int { return (i / rooms) % len(addrs) } // a room's members spread over the nodes
	conns, bufs, failed := peer.DialMany(len(members), func(i int) (string, string) {
		return addrs[node(i)], "/room/" + strconv.Itoa(i%rooms)
	})
	errs.Add(failed)
	for i, c := range conns {
		if c != nil {
			members[i] = &member{c: c, r: bufs[i], remote: node(i) != (i%rooms)%len(addrs)}
		}
	}
	pubs := make([]net.Conn, rooms)
	for i := range pubs {
		c, _, err := peer.DialWS(addrs[i%len(addrs)], "/pub/"+strconv.Itoa(i))
		if err != nil {
			return err
		}
		pubs[i] = c
	}
	// Let the nodes join every member (and subscribe through Redis).
	time.Sleep(time.Second)

	var delivered atomic.Int64
	var mu sync.Mutex
	var lat, remote []time.Duration
	var readers sync.WaitGroup
	readersPerRoom := make([]int64, rooms)
	for i, m := range members {
		if m == nil {
			continue
		}
		readersPerRoom[i%rooms]++
		readers.Add(1)
		go func() {
			defer readers.Done()
			mine, _ := peer.ReadDeliveries(m.r, &delivered)
			mu.Lock()
			lat = append(lat, mine...)
			if m.remote {
				remote = append(remote, mine...)
			}
			mu.Unlock()
		}()
	}

	cpu := func() (nodes []float64, redis float64) {
		for _, p := range nodePids {
			nodes = append(nodes, peer.CPUSeconds(p))
		}
		for _, p := range redisPids {
			redis += peer.CPUSeconds(p)
		}
		return
	}
	n0, r0 := cpu()
	start := time.Now()
	var offeredToReaders atomic.Int64
	errs.Add(peer.Publish(pubs, float64(offered)/perRoom/float64(rooms), start, d, func(i int) { offeredToReaders.Add(readersPerRoom[i]) }))
	elapsed := time.Since(start).Seconds()
	for deadline := time.Now().Add(5 * time.Second); delivered.Load() < offeredToReaders.Load() && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	n1, r1 := cpu()
	for _, m := range members {
		if m != nil {
			m.c.Close()
		}
	}
	for _, c := range pubs {
		c.Close()
	}
	readers.Wait()
	res := result{Delivered: delivered.Load(), Offered: offeredToReaders.Load(), Seconds: elapsed, Errors: errs.Load(), RedisCPU: r1 - r0}
	for i := range n1 {
		res.NodeCPU = append(res.NodeCPU, n1[i]-n0[i])
	}
	res.P50us, res.P99us = peer.Percentiles(lat)
	res.RemoteN = len(remote)
	res.RemoteP50us, res.RemoteP99us = peer.Percentiles(remote)
	return json.NewEncoder(os.Stdout).Encode(res)
}
