package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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
	addr   string // where it listens, as it said
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

// runChat starts bin with args, listening on addr ("127.0.0.1:0" for a
// port of its own choosing; see chatProcess.addr), waits until it says
// where it listens and /healthz answers ok there, and kills the process
// at the end of the test.
func runChat(t *testing.T, bin, addr string, args ...string) *chatProcess {
	t.Helper()
	return runChatWith(t, http.DefaultClient, "http://", bin, addr, args...)
}

// listening is the line the chat logs once it listens.
var listening = regexp.MustCompile(`chat: open https?://([^/ ]+)/ in a browser`)

// runChatWith is runChat for a chat served at scheme (https:// with a
// client that trusts its certificate). A process that cannot bind addr
// (another test's server took the port it had before a restart) is tried
// again for up to 10 s; the address is the one this process says it
// listens on, so a test never talks to another test's server.
func runChatWith(t *testing.T, client *http.Client, scheme, bin, addr string, args ...string) *chatProcess {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; {
		p, err := startChat(client, scheme, bin, addr, args...)
		if err == nil {
			t.Cleanup(p.kill)
			return p
		}
		if !strings.Contains(err.Error(), "address already in use") || time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond) // the other process's pace
	}
}

func startChat(client *http.Client, scheme, bin, addr string, args ...string) (*chatProcess, error) {
	cmd := exec.Command(bin, append([]string{"-addr", addr}, args...)...)
	p := &chatProcess{cmd: cmd, exited: make(chan struct{}), logs: &lockedLog{}}
	cmd.Stderr = p.logs
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() { _ = cmd.Wait(); close(p.exited) }()
	for deadline := time.Now().Add(15 * time.Second); ; {
		select {
		case <-p.exited:
			return nil, fmt.Errorf("chat exited before it listened:\n%s", p.logs)
		default:
		}
		if p.addr == "" {
			if m := listening.FindStringSubmatch(p.logs.String()); m != nil {
				p.addr = m[1]
			}
		}
		if p.addr != "" {
			if resp, err := client.Get(scheme + p.addr + "/healthz"); err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if string(b) == "ok\n" {
					return p, nil
				}
			}
		}
		if time.Now().After(deadline) {
			p.kill()
			return nil, fmt.Errorf("chat did not come up:\n%s", p.logs)
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
	Edited  uint64   `json:"edited"`  // chat_edits.mjs: the ids it changed
	Deleted uint64   `json:"deleted"`
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
