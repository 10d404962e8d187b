// Package nodetest runs the Node scripts of tests/interop (real clients
// and peers: ws, socket.io-client, the Node socket.io server, Chromium
// through playwright-core) from Go tests. .ci/run installs their npm
// packages with npm ci.
//
// # Concurrency
//
// Call Run and Start on the test's goroutine.
package nodetest

import (
	"bufio"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Timeout bounds one script run.
const Timeout = 90 * time.Second

// Dir returns the absolute path of tests/interop.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "tests", "interop")
}

func node(t testing.TB) string {
	t.Helper()
	n, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is required (the machine image ships it)")
	}
	return n
}

// Run runs script with args in tests/interop and returns the JSON object
// of its last output line; a script that exits non-zero, prints no JSON
// or outlives Timeout fails the test with its output.
func Run(t testing.TB, script string, args ...string) map[string]any {
	t.Helper()
	cmd := exec.Command(node(t), append([]string{filepath.Join(Dir(), script)}, args...)...)
	cmd.Dir = Dir()
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(Timeout):
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

// Start runs a long-lived script (a server) and returns the JSON object of
// its first output line; the process is killed when the test ends.
func Start(t testing.TB, script string, env ...string) map[string]any {
	t.Helper()
	cmd := exec.Command(node(t), filepath.Join(Dir(), script))
	cmd.Dir = Dir()
	cmd.Env = append(cmd.Environ(), env...)
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
		t.Fatalf("%s: %v", script, err)
	}
	var res map[string]any
	if err := json.Unmarshal([]byte(line), &res); err != nil {
		t.Fatalf("%s said %q: %v", script, line, err)
	}
	return res
}
