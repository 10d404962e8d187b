package main

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/gnetty/gnetty/internal/servertest"
)

// TestPageSurvivesAnOutage: the server is killed while the page is open,
// a message is typed while it is down, and the server comes back seconds
// later on the same address: the page reconnects by itself (with the same
// session, kept on disk), delivers the message exactly once, and goes on.
func TestPageSurvivesAnOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs a browser")
	}
	bin := servertest.BuildBinary(t, "chat")
	data := filepath.Join(t.TempDir(), "data")
	server := runChat(t, bin, "127.0.0.1:0", "-data", data)
	addr := server.addr // the restart below takes the same port

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
	runChat(t, bin, addr, "-data", data)
	_, _ = io.WriteString(stdin, "restarted\n")
	if !out.Scan() {
		t.Fatal("the browser script printed no result")
	}
	if res, err := parseResult(out.Text()); err != nil || !res.OK {
		t.Fatalf("browser: %s (%v)", out.Text(), err)
	}
}
