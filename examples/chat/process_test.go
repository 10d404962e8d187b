package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// chatProcess is the built chat binary running as a separate process.
type chatProcess struct {
	cmd    *exec.Cmd
	exited chan struct{}
	logs   *lockedLog
}

// lockedLog collects the process's stderr; safe to read while it writes.
type lockedLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// runChat starts bin on addr with args, waits until /healthz answers ok,
// and kills the process at the end of the test.
func runChat(t *testing.T, bin, addr string, args ...string) *chatProcess {
	t.Helper()
	return runChatWith(t, http.DefaultClient, "http://", bin, addr, args...)
}

// runChatWith is runChat for a chat served at scheme (https:// with a
// client that trusts its certificate).
func runChatWith(t *testing.T, client *http.Client, scheme, bin, addr string, args ...string) *chatProcess {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"-addr", addr}, args...)...)
	p := &chatProcess{cmd: cmd, exited: make(chan struct{}), logs: &lockedLog{}}
	cmd.Stderr = p.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = cmd.Wait(); close(p.exited) }()
	t.Cleanup(p.kill)
	for deadline := time.Now().Add(15 * time.Second); ; {
		if resp, err := client.Get(scheme + addr + "/healthz"); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(b) == "ok\n" {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("chat did not come up:\n%s", p.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill ends the process as a crash would (SIGKILL) and waits for it.
func (p *chatProcess) kill() {
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// browserResult is the JSON line a tests/interop script prints last.
type browserResult struct {
	OK      bool     `json:"ok"`
	Msg     string   `json:"msg"`
	Steps   []string `json:"steps"`
	Account string   `json:"account"` // chat_accounts.mjs: the identity it claimed
}

func parseResult(line string) (browserResult, error) {
	var r browserResult
	err := json.Unmarshal([]byte(line), &r)
	return r, err
}

// runScript runs a Node script of tests/interop with args (env added to
// the process's) and fails the test unless its last line reports ok;
// logs are the server's, shown on failure. It returns the script's result.
func runScript(t *testing.T, logs fmt.Stringer, env []string, script string, args ...string) browserResult {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is required")
	}
	interop, _ := filepath.Abs("../../tests/interop")
	cmd := exec.Command(node, append([]string{filepath.Join(interop, script)}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	res, perr := parseResult(lines[len(lines)-1])
	if err != nil || perr != nil || !res.OK {
		t.Fatalf("%s: %v\n%s\nserver log:\n%s", script, err, out, logs)
	}
	return res
}
