package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	gorilla "github.com/gorilla/websocket"

	"github.com/gnetty/gnetty/internal/redistest"
	"github.com/gnetty/gnetty/internal/servertest"
	"github.com/gnetty/gnetty/preset/chat"
)

// TestChatBinaryAndBrowser builds the example, runs it as the README does,
// and drives its page with two users in headless Chromium.
func TestChatBinaryAndBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs a browser")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "chat")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(bin, "-addr", addr, "-data", filepath.Join(dir, "data"))
	var logs strings.Builder
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-exited })
	for deadline := time.Now().Add(10 * time.Second); ; {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(b) == "ok\n" {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("chat did not come up:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is required")
	}
	interop, _ := filepath.Abs("../../tests/interop")
	out, err := exec.Command(node, filepath.Join(interop, "chat_browser.mjs"), "http://"+addr).CombinedOutput()
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var res struct {
		OK    bool     `json:"ok"`
		Msg   string   `json:"msg"`
		Steps []string `json:"steps"`
	}
	_ = json.Unmarshal([]byte(lines[len(lines)-1]), &res)
	if err != nil || !res.OK {
		t.Fatalf("browser test: %v\n%s\nserver log:\n%s", err, out, logs.String())
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(40 * time.Second):
		t.Fatal("chat did not stop on SIGTERM")
	}
	if !strings.Contains(logs.String(), "gnetty: stopped") {
		t.Fatalf("no graceful stop:\n%s", logs.String())
	}
}

// TestNodeClient talks to the chat preset with Node's ws package.
func TestNodeClient(t *testing.T) {
	s, err := chat.New(chat.Config{Addr: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	addr := servertest.Start(t, s)
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is required")
	}
	interop, _ := filepath.Abs("../../tests/interop")
	out, err := exec.Command(node, filepath.Join(interop, "chat_ws.mjs"), "http://"+addr).CombinedOutput()
	if err != nil || !strings.Contains(string(out), `"ok":true`) {
		t.Fatalf("node client: %v\n%s", err, out)
	}
}

// TestCrashedNodeUsersVanish runs three chat nodes as processes sharing a
// real redis-server, kills one with SIGKILL, and checks that its user
// vanishes from the others' presence within the TTL, with a logout.
func TestCrashedNodeUsersVanish(t *testing.T) {
	rs := redistest.Start(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "chat")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	var addrs []string
	var procs []*exec.Cmd
	for i := range 3 {
		l, _ := net.Listen("tcp", "127.0.0.1:0")
		addr := l.Addr().String()
		l.Close()
		cmd := exec.Command(bin, "-addr", addr, "-redis", "redis://"+rs.Addr+"/0", "-node", fmt.Sprint("n", i), "-presence-ttl", "2s")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		addrs, procs = append(addrs, addr), append(procs, cmd)
	}
	for _, a := range addrs {
		for deadline := time.Now().Add(10 * time.Second); ; {
			if resp, err := http.Get("http://" + a + "/healthz"); err == nil {
				resp.Body.Close()
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("node did not start")
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	dial := func(addr, name string) *gorilla.Conn {
		resp, err := http.Post("http://"+addr+"/login", "application/json", strings.NewReader(`{"name":"`+name+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		h := http.Header{"Cookie": {strings.Split(resp.Header.Get("Set-Cookie"), ";")[0]}}
		c, _, err := gorilla.DefaultDialer.Dial("ws://"+addr+"/ws/chat/lobby", h)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	type pres struct {
		Type  string `json:"type"`
		Msg   string `json:"msg"`
		Count int    `json:"count"`
	}
	watch := dial(addrs[0], "watcher")
	dial(addrs[1], "steady")
	dial(addrs[2], "doomed")
	_ = watch.SetReadDeadline(time.Now().Add(20 * time.Second))
	for { // all three online
		var p pres
		if err := watch.ReadJSON(&p); err != nil {
			t.Fatal(err)
		}
		if p.Type == "login" && p.Count == 3 {
			break
		}
	}
	if err := procs[2].Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	for {
		var p pres
		if err := watch.ReadJSON(&p); err != nil {
			t.Fatalf("no logout for the crashed node's user: %v", err)
		}
		if p.Type == "logout" && p.Msg == "doomed" {
			if p.Count != 2 {
				t.Fatalf("count after the crash %d", p.Count)
			}
			if el := time.Since(killed); el > 10*time.Second {
				t.Fatalf("took %v", el)
			}
			break
		}
	}
}
