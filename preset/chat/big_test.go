package chat_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gnetty/gnetty/preset/chat"
)

// TestThousandUsersInOneRoom connects 1,000 logged-in users to one room
// over raw sockets; a message from one reaches all of them with the same
// sequence number, and the presence count is right.
func TestThousandUsersInOneRoom(t *testing.T) {
	const n = 1000
	// The 1,000 readers here share two cores with the server (under -race,
	// beside other work): one that falls behind the joins' presence
	// messages must not be cut as a slow consumer, which is not what this
	// test is about (slowconsumer's own tests are).
	srv := startWith(t, chat.Config{Workers: 2, HistoryOnJoin: 1, MaxQueueBytes: 64 << 20})

	type user struct {
		conn net.Conn
		got  chan string
	}
	users := make([]*user, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 50)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			c, err := net.Dial("tcp", srv.addr)
			if err != nil {
				errs <- err
				return
			}
			br := bufio.NewReader(c)
			body := fmt.Sprintf(`{"name":"u%04d"}`, i)
			fmt.Fprintf(c, "POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				errs <- err
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			cookie := strings.Split(resp.Header.Get("Set-Cookie"), ";")[0]
			fmt.Fprintf(c, "GET /ws/chat/big HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nCookie: %s\r\n\r\n", cookie)
			if resp, err = http.ReadResponse(br, nil); err != nil || resp.StatusCode != 101 {
				errs <- fmt.Errorf("upgrade %d: %v", i, err)
				return
			}
			u := &user{conn: c, got: make(chan string, 1)}
			users[i] = u
			go func() { // read frames; report the first chat message
				for {
					var h [2]byte
					if _, err := io.ReadFull(br, h[:]); err != nil {
						return
					}
					size := int(h[1] & 0x7F)
					switch size {
					case 126:
						var b [2]byte
						_, _ = io.ReadFull(br, b[:])
						size = int(b[0])<<8 | int(b[1])
					case 127:
						var b [8]byte
						_, _ = io.ReadFull(br, b[:])
						size = 0
						for _, x := range b {
							size = size<<8 | int(x)
						}
					}
					p := make([]byte, size)
					if _, err := io.ReadFull(br, p); err != nil {
						return
					}
					var m struct {
						Type string `json:"type"`
						Msg  string `json:"msg"`
						ID   uint64 `json:"id"`
					}
					if !bytes.Contains(p, []byte(`"type":"user"`)) {
						continue // presence and history: skipped without parsing
					}
					if json.Unmarshal(p, &m) == nil && m.Type == "user" {
						u.got <- fmt.Sprintf("%d:%s", m.ID, m.Msg)
						return
					}
				}
			}()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	defer func() {
		for _, u := range users {
			u.conn.Close()
		}
	}()
	if got := countOnline(t, srv, "big"); got != n {
		t.Fatalf("metrics show %d connections, want %d", got, n)
	}
	// user 0 speaks (a masked text frame).
	payload := []byte(`{"type":"user","room":"big","msg":"hello everyone"}`)
	frame := append([]byte{0x81, 0x80 | byte(len(payload)), 0, 0, 0, 0}, payload...)
	if _, err := users[0].conn.Write(frame); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(2 * time.Minute) // a bound for a busy 2-core machine under -race, not a speed target
	for i, u := range users {
		select {
		case m := <-u.got:
			if m != "1:hello everyone" {
				t.Fatalf("user %d got %q", i, m)
			}
		case <-deadline:
			t.Fatalf("user %d never got the message (slow-consumer disconnects: %s)", i, metric(t, srv, "chat_slow_consumer_disconnects_total"))
		}
	}
}

func countOnline(t *testing.T, s *srv, room string) int {
	t.Helper()
	body := string(mustBody(t, "http://"+s.addr+"/metrics"))
	for _, line := range strings.Split(body, "\n") {
		var n int
		if _, err := fmt.Sscanf(line, "chat_connections %d", &n); err == nil {
			return n
		}
	}
	return -1
}

// metric returns the value of a metric line, or "?".
func metric(t *testing.T, s *srv, name string) string {
	t.Helper()
	for _, line := range strings.Split(string(mustBody(t, "http://"+s.addr+"/metrics")), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return v
		}
	}
	return "?"
}
