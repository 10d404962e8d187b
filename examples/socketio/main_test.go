package main

import (
	"bufio"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gnetty/gnetty/internal/redistest"
	"github.com/gnetty/gnetty/internal/servertest"
)

// interopDir holds the npm packages (.ci/run installs them with npm ci).
var interopDir, _ = filepath.Abs("../../tests/interop")

var clientJS = filepath.Join(interopDir, "node_modules/socket.io-client/dist/socket.io.min.js")

func start(t *testing.T, o options) string {
	t.Helper()
	if o.addr == "" {
		o.addr = "127.0.0.1:0"
	}
	if o.token == "" {
		o.token = "secret"
	}
	srv, closeLayer, err := newServer(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeLayer)
	return servertest.Start(t, srv)
}

// runNode runs a Node script of tests/interop and returns the JSON of its
// last line; the script fails the test by exiting non-zero.
func runNode(t *testing.T, script string, args ...string) map[string]any {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is required (the machine image ships it)")
	}
	cmd := exec.Command(node, append([]string{filepath.Join(interopDir, script)}, args...)...)
	cmd.Dir = interopDir
	done := make(chan struct{})
	var out []byte
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(90 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("%s timed out:\n%s", script, out)
	}
	if err != nil {
		t.Fatalf("%s: %v\n%s", script, err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var res map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Fatalf("%s output %q: %v", script, out, err)
	}
	return res
}

// wantChecks fails unless the scenario passed every step it names.
func wantChecks(t *testing.T, res map[string]any) {
	t.Helper()
	checks, _ := res["checks"].([]any)
	if res["ok"] != true || len(checks) != 8 {
		t.Fatalf("scenario: %v", res)
	}
}

// TestStockClientScenario runs the stock socket.io-client 4.8 against
// the example: polling, WebSocket, the upgrade, acks both ways, binary,
// 200 KB, rooms, namespaces with auth, recovery and bad input.
func TestStockClientScenario(t *testing.T) {
	addr := start(t, options{})
	wantChecks(t, runNode(t, "sio_scenario.mjs", "http://"+addr))
}

// TestScenarioAgainstNodeServer proves the scenario right: the official
// Node socket.io server, with the same events, passes it too.
func TestScenarioAgainstNodeServer(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is required")
	}
	cmd := exec.Command(node, filepath.Join(interopDir, "sio_server.mjs"))
	cmd.Dir = interopDir
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("node server: %v", err)
	}
	var hello struct{ Port int }
	if err := json.Unmarshal([]byte(line), &hello); err != nil || hello.Port == 0 {
		t.Fatalf("node server said %q", line)
	}
	wantChecks(t, runNode(t, "sio_scenario.mjs", "http://127.0.0.1:"+itoa(hello.Port)))
}

// TestRoomsAcrossNodes: two nodes share a real Redis; clients on either
// meet in rooms and in namespace-wide broadcasts.
func TestRoomsAcrossNodes(t *testing.T) {
	r := redistest.Start(t)
	a1 := start(t, options{redisAddr: r.Addr})
	a2 := start(t, options{redisAddr: r.Addr})
	res := runNode(t, "sio_cluster.mjs", "http://"+a1, "http://"+a2)
	if res["ok"] != true {
		t.Fatalf("cluster: %v", res)
	}
}

// TestChromiumChatPage drives the embedded page in headless Chromium.
func TestChromiumChatPage(t *testing.T) {
	addr := start(t, options{clientJS: clientJS})
	if res := runNode(t, "sio_browser.mjs", "http://"+addr); res["ok"] != true {
		t.Fatalf("browser: %v", res)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
