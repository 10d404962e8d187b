package wsbench

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gnetty/gnetty/benchmarks/internal/peer"
)

var (
	hbConns = flag.Int("hb.conns", 19000, "connections for BenchmarkHeartbeat")
	hbHold  = flag.Duration("hb.duration", time.Minute, "how long BenchmarkHeartbeat holds them")
	hbPing  = flag.Duration("hb.ping", 10*time.Second, "the server's ping interval in BenchmarkHeartbeat")
	hbGC    = flag.Int("hb.gcpercent", 0, "bootstrap.Config.GCPercent of the server in BenchmarkHeartbeat (0: GOGC)")
)

// hbResult is what the heartbeat load process prints at the end.
type hbResult struct {
	Conns     int   `json:"conns"`
	Pings     int64 `json:"pings"`      // pings received from the server, all answered
	MinPings  int64 `json:"min_pings"`  // the fewest any one connection got
	Closed    int64 `json:"closed"`     // connections the server ended during the hold
	EchoedEnd int64 `json:"echoed_end"` // connections that echoed a message after the hold
}

// BenchmarkHeartbeat holds -hb.conns idle upgraded connections to gnetty for
// -hb.duration while the server pings each every -hb.ping and the load
// process (another process, on the other core) answers every ping. It
// reports the server's resident memory per connection at three counts (the
// slope is what a connection costs, without the process's fixed part), the
// kernel's share per socket (slab and TCP buffer pages from /proc, halved:
// both ends of a loopback connection are on this machine), and fails if a
// connection was dropped, missed its pings, or cannot echo at the end.
func BenchmarkHeartbeat(b *testing.B) {
	s := startServerEnv(b, "gnetty", []string{"WSB_PING=" + hbPing.String(), "WSB_GCPERCENT=" + strconv.Itoa(*hbGC)})
	steps := []int{*hbConns / 4, *hbConns / 2, *hbConns}
	for range b.N {
		time.Sleep(200 * time.Millisecond)
		rss0, slab0, tcp0 := rssKiB(s.pid), meminfoKiB("Slab:"), sockstatTCPPages()
		cmd := peer.Self(1, []string{"WSB_HB=" + strconv.Itoa(*hbConns), "WSB_ADDR=" + s.addr,
			"WSB_HB_STEPS=" + fmt.Sprint(steps[0], ",", steps[1]), "WSB_DURATION=" + hbHold.String()})
		stdin, _ := cmd.StdinPipe()
		stdout, _ := cmd.StdoutPipe()
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		out := bufio.NewReader(stdout)
		var rss []float64
		for _, n := range steps {
			line, err := out.ReadString('\n')
			if err != nil || strings.TrimSpace(line) != "at "+strconv.Itoa(n) {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
				b.Fatalf("heartbeat load: %q %v", line, err)
			}
			time.Sleep(500 * time.Millisecond) // let the last upgrades settle
			rss = append(rss, rssKiB(s.pid))
			if n == steps[len(steps)-1] {
				slab, tcp := meminfoKiB("Slab:"), sockstatTCPPages()
				b.ReportMetric((slab-slab0)*1024/float64(2*n), "kernel-slab-B/socket")
				b.ReportMetric((tcp-tcp0)*4096/float64(2*n), "kernel-tcp-buf-B/socket")
			}
			_, _ = io.WriteString(stdin, "\n")
		}
		line, err := out.ReadString('\n')
		_ = cmd.Wait()
		var res hbResult
		if err != nil || json.Unmarshal([]byte(line), &res) != nil {
			b.Fatalf("heartbeat load result: %q %v", line, err)
		}
		// Every connection is pinged about hold/ping times (a ping waits a
		// round trip after the last pong, longer on a busy machine):
		// fewer than half means pings stopped.
		want := int64(*hbHold / *hbPing / 2)
		if res.Closed != 0 || res.EchoedEnd != int64(*hbConns) || res.MinPings < want {
			b.Fatalf("connections were not kept: %+v (each should have had %d pings or more)", res, want)
		}
		b.ReportMetric(float64(res.Pings), "pings-answered")
		b.ReportMetric(float64(res.MinPings), "min-pings/conn")
		b.ReportMetric((rss[2]-rss0)*1024/float64(steps[2]), "rss-B/conn")
		b.ReportMetric((rss[2]-rss[0])*1024/float64(steps[2]-steps[0]), "rss-slope-B/conn")
		b.ReportMetric(rss[2]/1024, "server-rss-MiB")
	}
}

// meminfoKiB reads one /proc/meminfo line.
func meminfoKiB(key string) float64 {
	b, _ := os.ReadFile("/proc/meminfo")
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, key) {
			v, _ := strconv.ParseFloat(strings.Fields(line)[1], 64)
			return v
		}
	}
	return 0
}

// sockstatTCPPages is the pages the kernel holds for TCP buffers.
func sockstatTCPPages() float64 {
	b, _ := os.ReadFile("/proc/net/sockstat")
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && f[0] == "TCP:" {
			for i := 1; i+1 < len(f); i += 2 {
				if f[i] == "mem" {
					v, _ := strconv.ParseFloat(f[i+1], 64)
					return v
				}
			}
		}
	}
	return 0
}

// runHeartbeat is the load process of BenchmarkHeartbeat: it opens n
// upgraded connections, stopping at each of steps (and at n) to print
// "at K" and wait for a line on stdin, answers every ping with a pong for
// hold, then echoes one message on each connection and prints an hbResult.
func runHeartbeat(addr string, n int, steps []int, hold time.Duration) error {
	type hconn struct {
		c     net.Conn
		br    *bufio.Reader
		pings atomic.Int64
		wmu   sync.Mutex
		echo  chan []byte
	}
	var closed, pings atomic.Int64
	conns := make([]*hconn, 0, n)
	in := bufio.NewReader(os.Stdin)
	steps = append(steps, n)
	for _, step := range steps {
		for len(conns) < step {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				return err
			}
			hc := &hconn{c: c, br: bufio.NewReaderSize(c, 512), echo: make(chan []byte, 1)}
			if err := handshake(c, hc.br, addr); err != nil {
				return err
			}
			conns = append(conns, hc)
			go func() {
				for {
					op, payload, err := readServerFrame(hc.br)
					if err != nil {
						closed.Add(1)
						return
					}
					switch op {
					case 0x9: // ping: answer with the same payload
						hc.pings.Add(1)
						pings.Add(1)
						hc.wmu.Lock()
						_, err = hc.c.Write(maskedFrame(0xA, payload))
						hc.wmu.Unlock()
						if err != nil {
							closed.Add(1)
							return
						}
					case 0x8:
						closed.Add(1)
						return
					default:
						hc.echo <- payload
					}
				}
			}()
		}
		fmt.Println("at", step)
		if _, err := in.ReadString('\n'); err != nil {
			return err
		}
	}
	time.Sleep(hold)
	res := hbResult{Conns: n, Pings: pings.Load(), MinPings: -1, Closed: closed.Load()}
	msg := []byte("still here")
	for _, hc := range conns {
		if p := hc.pings.Load(); res.MinPings < 0 || p < res.MinPings {
			res.MinPings = p
		}
		hc.wmu.Lock()
		_, err := hc.c.Write(maskedFrame(0x1, msg))
		hc.wmu.Unlock()
		if err != nil {
			continue
		}
		select {
		case got := <-hc.echo:
			if string(got) == string(msg) {
				res.EchoedEnd++
			}
		case <-time.After(10 * time.Second):
		}
	}
	for _, hc := range conns {
		hc.c.Close()
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}

// readServerFrame reads one unmasked, unfragmented server frame.
func readServerFrame(br *bufio.Reader) (op byte, payload []byte, err error) {
	var h [2]byte
	if _, err = io.ReadFull(br, h[:]); err != nil {
		return 0, nil, err
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var e [2]byte
		if _, err = io.ReadFull(br, e[:]); err != nil {
			return 0, nil, err
		}
		n = uint64(binary.BigEndian.Uint16(e[:]))
	case 127:
		var e [8]byte
		if _, err = io.ReadFull(br, e[:]); err != nil {
			return 0, nil, err
		}
		n = binary.BigEndian.Uint64(e[:])
	}
	if n > 1<<20 {
		return 0, nil, errors.New("frame too large")
	}
	payload = make([]byte, n)
	_, err = io.ReadFull(br, payload)
	return h[0] & 0x0f, payload, err
}

// maskedFrame is a final client frame with a zero mask (payload < 126).
func maskedFrame(op byte, payload []byte) []byte {
	return append([]byte{0x80 | op, 0x80 | byte(len(payload)), 0, 0, 0, 0}, payload...)
}
