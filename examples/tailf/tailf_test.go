package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gorilla "github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"github.com/gnetty/gnetty/internal/servertest"
)

func TestTailFollowsTruncationAndRotation(t *testing.T) {
	// Cleanups run last-in first-out: the server shuts down, then the
	// followers stop, then goleak checks that nothing was left running.
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() {
		goleak.VerifyNone(t,
			goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).purgeStaleWorkers"),
			goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).ticktock"),
			ignore)
	})
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	if err := os.WriteFile(path, []byte("old line, not sent\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	srv, stop, err := newServer("127.0.0.1:0", files{"1": path}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	addr := servertest.Start(t, srv)

	if _, resp, err := gorilla.DefaultDialer.Dial("ws://"+addr+"/ws/tailf/1", nil); err == nil || resp.StatusCode != 401 {
		t.Fatalf("without a session: %v %v", err, resp)
	}
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 5 * time.Second}
	resp, err := hc.Post("http://"+addr+"/login", "text/plain", strings.NewReader("ops"))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("login: %v %v", resp, err)
	}
	resp.Body.Close()
	u, _ := url.Parse("http://" + addr)
	h := http.Header{}
	for _, c := range jar.Cookies(u) {
		h.Add("Cookie", c.String())
	}
	if _, resp, err := gorilla.DefaultDialer.Dial("ws://"+addr+"/ws/tailf/9", h); err == nil || resp.StatusCode != 404 {
		t.Fatalf("unknown id: %v %v", err, resp)
	}
	c, _, err := gorilla.DefaultDialer.Dial("ws://"+addr+"/ws/tailf/1", h)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	appendTo := func(s string) {
		f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = f.WriteString(s)
		f.Close()
	}
	lines := make(chan string, 100)
	go func() {
		for {
			_, m, err := c.ReadMessage()
			if err != nil {
				close(lines)
				return
			}
			lines <- string(m)
		}
	}()
	expect := func(want string) {
		t.Helper()
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("connection ended waiting for %q", want)
				}
				if strings.HasPrefix(l, "sync") {
					continue
				}
				if l != want {
					t.Fatalf("got %q, want %q", l, want)
				}
				return
			case <-time.After(5 * time.Second):
				t.Fatalf("no %q", want)
			}
		}
	}
	// Wait until the follower watches: write sync lines until one arrives.
	for i := 0; ; i++ {
		appendTo(fmt.Sprintf("sync %d\n", i))
		select {
		case l := <-lines:
			if l == "old line, not sent" {
				t.Fatal("sent a line written before the connection")
			}
		case <-time.After(50 * time.Millisecond):
			continue
		}
		break
	}
	appendTo("first\nsecond\n")
	expect("first")
	expect("second")
	appendTo("par")
	appendTo("tial\n")
	expect("partial")

	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	appendTo("after truncate\n")
	expect("after truncate")

	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	appendTo("rotated in\n") // creates the new file
	expect("rotated in")
	appendTo("and more\n")
	expect("and more")
}

// TestPipelineWithABadRequestLast: two unknown paths are
// answered before the 400 that follows them.
func TestPipelineWithABadRequestLast(t *testing.T) {
	srv, stop, err := newServer("127.0.0.1:0", files{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	addr := servertest.Start(t, srv)
	servertest.PipelinedThenBad(t, addr, []string{"/nope", "/ws/nope"}, []int{404, 404})
}
