package siobench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/gnetty/gnetty/benchmarks/internal/peer"
)

// loadResult is what a load process prints.
type loadResult struct {
	Messages int64   `json:"messages"`
	Offered  int64   `json:"offered"`
	Seconds  float64 `json:"seconds"`
	P50us    float64 `json:"p50_us"`
	P99us    float64 `json:"p99_us"`
	Errors   int64   `json:"errors"`
	// ServerCPU is the server's CPU seconds over the measured window only
	// (after the connections were set up, until the last delivery).
	ServerCPU float64 `json:"server_cpu"`
}

// serverCPU reads the server's CPU seconds ($SIOB_PID).
func serverCPU() float64 {
	pid, _ := strconv.Atoi(os.Getenv("SIOB_PID"))
	return peer.CPUSeconds(pid)
}

// sioConn is one Socket.IO client over a raw WebSocket.
type sioConn struct {
	c  net.Conn
	rw io.ReadWriter
}

// connect opens a session on the WebSocket transport and joins "/".
func connect(addr string) (*sioConn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, br, _, err := ws.Dial(ctx, "ws://"+addr+"/socket.io/?EIO=4&transport=websocket")
	if err != nil {
		return nil, err
	}
	var r io.Reader = c
	if br != nil {
		r = io.MultiReader(br, c)
	}
	s := &sioConn{c: c, rw: struct {
		io.Reader
		io.Writer
	}{bufio.NewReaderSize(r, 16<<10), c}}
	if m, err := s.read(); err != nil || len(m) == 0 || m[0] != '0' {
		c.Close()
		return nil, fmt.Errorf("open: %q %v", m, err)
	}
	if err := s.write([]byte("40")); err != nil {
		return nil, err
	}
	for {
		m, err := s.read()
		if err != nil {
			return nil, err
		}
		if bytes.HasPrefix(m, []byte("40")) {
			return s, nil
		}
	}
}

func (s *sioConn) write(p []byte) error { return wsutil.WriteClientText(s.c, p) }

// writeBatch writes several text messages in one syscall.
func (s *sioConn) writeBatch(msgs [][]byte) error {
	var buf bytes.Buffer
	w := wsutil.NewWriter(&buf, ws.StateClientSide, ws.OpText)
	for _, m := range msgs {
		w.Reset(&buf, ws.StateClientSide, ws.OpText)
		if _, err := w.Write(m); err != nil {
			return err
		}
		if err := w.Flush(); err != nil {
			return err
		}
	}
	_, err := s.c.Write(buf.Bytes())
	return err
}

// read returns the next text message, answering pings.
func (s *sioConn) read() ([]byte, error) {
	for {
		m, op, err := wsutil.ReadServerData(s.rw)
		if err != nil {
			return nil, err
		}
		if op != ws.OpText {
			continue
		}
		if len(m) == 1 && m[0] == '2' {
			if err := s.write([]byte("3")); err != nil {
				return nil, err
			}
			continue
		}
		return m, nil
	}
}

// ackID parses "43<id>[...]".
func ackID(m []byte) (int64, bool) {
	if len(m) < 3 || m[0] != '4' || m[1] != '3' {
		return 0, false
	}
	i := 2
	for i < len(m) && m[i] >= '0' && m[i] <= '9' {
		i++
	}
	id, err := strconv.ParseInt(string(m[2:i]), 10, 64)
	return id, err == nil
}

// runEcho keeps inflight acknowledged emits of size bytes on each of conns
// connections for d.
func runEcho(addr string, conns, inflight, size int, d time.Duration) error {
	payload := bytes.Repeat([]byte("a"), size)
	var acks, errs atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	ready := make(chan *sioConn, conns)
	for range conns {
		go func() {
			s, err := connect(addr)
			if err != nil {
				errs.Add(1)
				s = nil
			}
			ready <- s
		}()
	}
	var cs []*sioConn
	for range conns {
		if s := <-ready; s != nil {
			cs = append(cs, s)
		}
	}
	c0 := serverCPU()
	start := time.Now()
	end := start.Add(d)
	for _, s := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer s.c.Close()
			// Rounds of inflight emits written together (one syscall),
			// each round waiting for all of its acks.
			var next int64
			batch := make([][]byte, inflight)
			var mine []time.Duration
			for time.Now().Before(end) {
				sent := time.Now()
				for i := range batch {
					msg := append(strconv.AppendInt(batch[i][:0], next, 10), `["echo","`...)
					batch[i] = append(append(msg, payload...), `"]`...)
					batch[i] = append([]byte("42"), batch[i]...)
					next++
				}
				if s.writeBatch(batch) != nil {
					errs.Add(1)
					return
				}
				for got := 0; got < inflight; {
					m, err := s.read()
					if err != nil {
						errs.Add(1)
						return
					}
					if _, ok := ackID(m); !ok {
						continue
					}
					got++
					acks.Add(1)
					mine = append(mine, time.Since(sent))
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return report(loadResult{Messages: acks.Load(), Seconds: time.Since(start).Seconds(), Errors: errs.Load(), ServerCPU: serverCPU() - c0}, lat)
}

// runBroadcast joins members connections to one room and publishes rate
// times a second for d; each publish is delivered to every member.
func runBroadcast(addr string, members, rate int, d time.Duration) error {
	var delivered, errs atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	joined := make(chan *sioConn, members)
	for range members {
		go func() {
			s, err := connect(addr)
			if err == nil {
				err = s.write([]byte(`421["join","r"]`))
			}
			for err == nil {
				var m []byte
				if m, err = s.read(); err == nil && bytes.HasPrefix(m, []byte("431")) {
					break
				}
			}
			if err != nil {
				errs.Add(1)
				s = nil
			}
			joined <- s
		}()
	}
	var cs []*sioConn
	for range members {
		if s := <-joined; s != nil {
			cs = append(cs, s)
		}
	}
	stop := make(chan struct{})
	for _, s := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			key := []byte(`"t":`)
			for {
				m, err := s.read()
				if err != nil {
					break
				}
				i := bytes.Index(m, key)
				if i < 0 {
					continue
				}
				j := i + len(key)
				k := j
				for k < len(m) && m[k] >= '0' && m[k] <= '9' {
					k++
				}
				t, _ := strconv.ParseInt(string(m[j:k]), 10, 64)
				mine = append(mine, time.Since(time.Unix(0, t)))
				delivered.Add(1)
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	pub, err := connect(addr)
	if err != nil {
		return err
	}
	c0 := serverCPU()
	start := time.Now()
	tick := time.NewTicker(time.Second / time.Duration(rate))
	var pubs int64
	for time.Since(start) < d {
		<-tick.C
		msg := fmt.Appendf(nil, `42["pub",{"room":"r","t":%d}]`, time.Now().UnixNano())
		if err := pub.write(msg); err != nil {
			return err
		}
		pubs++
	}
	tick.Stop()
	elapsed := time.Since(start).Seconds()
	offered := pubs * int64(len(cs))
	// Drain: wait until every delivery arrived or 5 s passed.
	for deadline := time.Now().Add(5 * time.Second); delivered.Load() < offered && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	cpu := serverCPU() - c0
	close(stop)
	for _, s := range cs {
		s.c.Close()
	}
	pub.c.Close()
	wg.Wait()
	return report(loadResult{Messages: delivered.Load(), Offered: offered, Seconds: elapsed, Errors: errs.Load(), ServerCPU: cpu}, lat)
}

func report(r loadResult, lat []time.Duration) error {
	r.P50us, r.P99us = peer.Percentiles(lat)
	return json.NewEncoder(os.Stdout).Encode(r)
}
