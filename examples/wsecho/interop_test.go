package main

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// interopDir holds the npm packages (.ci/run installs them with npm ci).
var interopDir, _ = filepath.Abs("../../tests/interop")

func runNode(t *testing.T, script, arg string) map[string]any {
	t.Helper()
	return runNodeArgs(t, script, arg)
}

// runNodeArgs runs a Node script of tests/interop with args and returns
// the JSON of its last line.
func runNodeArgs(t *testing.T, script string, args ...string) map[string]any {
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
	case <-time.After(60 * time.Second):
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

func TestNodeWsClient(t *testing.T) {
	_, addr := start(t)
	res := runNode(t, "ws_client.mjs", "ws://"+addr+"/")
	if res["code"] != float64(4001) || len(res["seen"].([]any)) != 3 {
		t.Fatalf("node ws: %v", res)
	}
	if ext, _ := res["extensions"].(string); !strings.Contains(ext, "permessage-deflate") {
		t.Fatalf("compression not negotiated with node ws: %v", res)
	}
}

func TestChromium(t *testing.T) {
	if _, err := exec.LookPath("/usr/bin/chromium"); err != nil {
		t.Fatal("Debian's chromium is required (.ci/run installs it)")
	}
	_, addr := start(t)
	res := runNode(t, "browser.mjs", "http://"+addr+"/page")
	if res["ok"] != true {
		t.Fatalf("chromium: %v", res)
	}
	if ext, _ := res["extensions"].(string); !strings.Contains(ext, "permessage-deflate") {
		t.Fatalf("compression not negotiated with chromium: %v", res)
	}
}
