package wsbench

import (
	"bufio"
	"crypto/tls"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// loadResult is what a load process prints.
type loadResult struct {
	Messages int64   `json:"messages"`
	Seconds  float64 `json:"seconds"`
	P50us    float64 `json:"p50_us"`
	P99us    float64 `json:"p99_us"`
	Errors   int64   `json:"errors"`
}

// handshake upgrades c (nothing for the raw floor).
func handshake(c net.Conn, br *bufio.Reader, addr string) error {
	req := "GET / HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
	if _, err := io.WriteString(c, req); err != nil {
		return err
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return err
	}
	if resp.StatusCode != 101 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// frameFor builds a masked client text frame of size bytes.
func frameFor(size int) []byte {
	payload := make([]byte, size)
	for i := range payload {
		payload[i] = 'a' + byte(i%26)
	}
	f := []byte{0x81}
	switch {
	case size < 126:
		f = append(f, 0x80|byte(size))
	case size <= 0xFFFF:
		f = append(f, 0x80|126, byte(size>>8), byte(size))
	default:
		f = append(f, 0x80|127)
		f = binary.BigEndian.AppendUint64(f, uint64(size))
	}
	mask := []byte{1, 2, 3, 4}
	f = append(f, mask...)
	for i, c := range payload {
		f = append(f, c^mask[i%4])
	}
	return f
}

// replySize is the size of the server's unmasked answer.
func replySize(size int) int {
	switch {
	case size < 126:
		return 2 + size
	case size <= 0xFFFF:
		return 4 + size
	}
	return 10 + size
}

// dial connects to addr, over TLS when $WSB_TLS is set (resuming
// sessions from cache when it is not nil).
func dial(addr string, cache tls.ClientSessionCache) (net.Conn, error) {
	if os.Getenv("WSB_TLS") == "" {
		return net.Dial("tcp", addr)
	}
	c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, ClientSessionCache: cache, MinVersion: tls.VersionTLS13})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// runHandshakes connects, upgrades and closes, one connection after the
// other for d, and prints a loadResult (messages: handshakes); with
// resume, each reuses the previous connection's session ticket.
func runHandshakes(addr string, d time.Duration, resume bool) error {
	var cache tls.ClientSessionCache
	if resume {
		cache = tls.NewLRUClientSessionCache(16)
	}
	var n, errs, resumed int64
	var lat []time.Duration
	t0 := time.Now()
	for time.Since(t0) < d {
		s := time.Now()
		c, err := dial(addr, cache)
		if err != nil {
			errs++
			continue
		}
		br := bufio.NewReader(c)
		if err := handshake(c, br, addr); err != nil { // reading the answer also takes the ticket
			errs++
		}
		if tc, ok := c.(*tls.Conn); ok && tc.ConnectionState().DidResume {
			resumed++
		}
		c.Close()
		lat = append(lat, time.Since(s))
		n++
	}
	el := time.Since(t0).Seconds()
	pct := percentiles(lat)
	if resume && resumed < n/2 {
		return fmt.Errorf("only %d of %d handshakes resumed", resumed, n)
	}
	return json.NewEncoder(os.Stdout).Encode(loadResult{Messages: n, Seconds: el, P50us: pct(0.5), P99us: pct(0.99), Errors: errs})
}

// runLoad drives conns connections with inflight messages each for d and
// prints a loadResult.
func runLoad(impl, addr string, conns, inflight, size int, d time.Duration) error {
	frame := frameFor(size)
	batch := slices.Repeat(frame, inflight)
	want := replySize(size) * inflight
	if impl == "rawgnet" {
		want = len(batch)
	}
	var msgs, errs atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	start := make(chan struct{})
	var ready, looped, done sync.WaitGroup
	deadline := time.Now().Add(d + 5*time.Second)
	for range conns {
		ready.Add(1)
		looped.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			defer looped.Done() // before the close, which the window leaves out
			c, err := dial(addr, nil)
			if err != nil {
				errs.Add(1)
				ready.Done()
				return
			}
			defer c.Close()
			br := bufio.NewReaderSize(c, 64<<10)
			if impl != "rawgnet" {
				if err := handshake(c, br, addr); err != nil {
					errs.Add(1)
					ready.Done()
					return
				}
			}
			ready.Done()
			<-start
			_ = c.SetDeadline(deadline)
			buf := make([]byte, want)
			var mine []time.Duration
			end := time.Now().Add(d)
			for n := 0; time.Now().Before(end); n++ {
				t0 := time.Now()
				if _, err := c.Write(batch); err != nil {
					errs.Add(1)
					return
				}
				if _, err := io.ReadFull(br, buf); err != nil {
					errs.Add(1)
					return
				}
				msgs.Add(int64(inflight))
				if n%4 == 0 {
					mine = append(mine, time.Since(t0))
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	ready.Wait()
	fmt.Println(windowStart) // the server's CPU is counted from here: connecting (a TLS handshake) is not echo
	t0 := time.Now()
	close(start)
	looped.Wait()
	el := time.Since(t0).Seconds()
	fmt.Println(windowStop)
	done.Wait()
	pct := percentiles(lat)
	return json.NewEncoder(os.Stdout).Encode(loadResult{Messages: msgs.Load(), Seconds: el, P50us: pct(0.5), P99us: pct(0.99), Errors: errs.Load()})
}

// runIdle opens n upgraded connections, prints "ready", and holds them
// until its standard input closes.
func runIdle(addr string, n int) error {
	var conns []net.Conn
	for range n {
		c, err := dial(addr, nil)
		if err != nil {
			return err
		}
		br := bufio.NewReader(c)
		if err := handshake(c, br, addr); err != nil {
			return err
		}
		conns = append(conns, c)
	}
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	for _, c := range conns {
		c.Close()
	}
	return nil
}

// percentiles sorts lat and returns a function from a fraction to that
// percentile in microseconds (0 without samples).
func percentiles(lat []time.Duration) func(p float64) float64 {
	slices.Sort(lat)
	return func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return float64(lat[int(float64(len(lat)-1)*p)].Microseconds())
	}
}
