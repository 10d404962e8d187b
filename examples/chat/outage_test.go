package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// chatProcess is the built binary running on addr with its data in dir.
type chatProcess struct {
	cmd    *exec.Cmd
	exited chan struct{}
}

func runChat(t *testing.T, bin, addr, dir string) *chatProcess {
	t.Helper()
	cmd := exec.Command(bin, "-addr", addr, "-data", dir)
	var logs strings.Builder
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &chatProcess{cmd: cmd, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.exited) }()
	t.Cleanup(p.kill)
	for deadline := time.Now().Add(15 * time.Second); ; {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(b) == "ok\n" {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("chat did not come up:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill ends the process as a crash would (SIGKILL) and waits for it.
func (p *chatProcess) kill() {
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// TestPageSurvivesAnOutage: the server is killed while the page is open,
// a message is typed while it is down, and the server comes back seconds
// later on the same address: the page reconnects by itself (with the same
// session, kept on disk), delivers the message exactly once, and goes on.
func TestPageSurvivesAnOutage(t *testing.T) {
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
	data := filepath.Join(dir, "data")
	server := runChat(t, bin, addr, data)

	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is required")
	}
	interop, _ := filepath.Abs("../../tests/interop")
	script := exec.Command(node, filepath.Join(interop, "chat_outage.mjs"), "http://"+addr)
	stdin, _ := script.StdinPipe()
	stdout, _ := script.StdoutPipe()
	script.Stderr = os.Stderr
	if err := script.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = script.Process.Kill(); _ = script.Wait() })
	out := bufio.NewScanner(stdout)
	expect := func(want string) string {
		t.Helper()
		if !out.Scan() {
			t.Fatalf("the browser script ended before %q", want)
		}
		if got := out.Text(); got != want {
			t.Fatalf("the browser script said %s, want %q", got, want)
		}
		return out.Text()
	}
	expect("ready")
	server.kill()
	_, _ = io.WriteString(stdin, "killed\n")
	expect("typed")
	time.Sleep(4 * time.Second) // the outage itself: the scenario, not a wait for a condition
	runChat(t, bin, addr, data)
	_, _ = io.WriteString(stdin, "restarted\n")
	if !out.Scan() {
		t.Fatal("the browser script printed no result")
	}
	var res struct {
		OK    bool     `json:"ok"`
		Msg   string   `json:"msg"`
		Steps []string `json:"steps"`
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil || !res.OK {
		t.Fatalf("browser: %s (%v)", out.Text(), err)
	}
	t.Logf("browser steps: %v", res.Steps)
}
