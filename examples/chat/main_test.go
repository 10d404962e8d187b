package main

import (
	"fmt"
	"log/slog"
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
	"github.com/gnetty/gnetty/internal/tlstest"
	"github.com/gnetty/gnetty/preset/chat"
)

// TestChatBinaryAndBrowser builds the example, runs it as the README does,
// and drives its page with two users in headless Chromium.
func TestChatBinaryAndBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs a browser")
	}
	bin := servertest.BuildBinary(t, "chat")
	p := runChat(t, bin, "127.0.0.1:0", "-data", filepath.Join(t.TempDir(), "data"))
	addr := p.addr

	runScript(t, p.logs, nil, "chat_browser.mjs", "http://"+addr)

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
	case <-time.After(40 * time.Second):
		t.Fatal("chat did not stop on SIGTERM")
	}
	if !strings.Contains(p.logs.String(), "gnetty: stopped") {
		t.Fatalf("no graceful stop:\n%s", p.logs.String())
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
	bin := servertest.BuildBinary(t, "chat")
	var addrs []string
	var procs []*chatProcess
	for i := range 3 {
		p := runChat(t, bin, "127.0.0.1:0", "-redis", "redis://"+rs.Addr+"/0", "-node", fmt.Sprint("n", i), "-presence-ttl", "2s")
		addrs, procs = append(addrs, p.addr), append(procs, p)
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
	if err := procs[2].cmd.Process.Signal(syscall.SIGKILL); err != nil {
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

// TestPageFeatures drives the page through direct messages, typing,
// unread counts, leaving a room and a 375 px phone layout in headless
// Chromium (tests/interop/chat_features.mjs). Screenshots go to
// $CHAT_SCREENSHOTS when set (to look at), else to a temporary directory.
func TestPageFeatures(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs a browser")
	}
	bin := servertest.BuildBinary(t, "chat")
	p := runChat(t, bin, "127.0.0.1:0", "-data", filepath.Join(t.TempDir(), "data"))
	addr := p.addr
	shots := os.Getenv("CHAT_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	runScript(t, p.logs, nil, "chat_features.mjs", "http://"+addr, shots)
	for _, name := range []string{"desktop.png", "phone-login.png", "phone-chat.png", "phone-menu.png", "login-password.png", "login-refused.png"} {
		if st, err := os.Stat(filepath.Join(shots, name)); err != nil || st.Size() < 1000 {
			t.Errorf("screenshot %s: %v", name, err)
		}
	}
}

// TestChatOverHTTPS runs the binary with -tls-cert/-tls-key from the
// environment (CHAT_TLS_CERT, CHAT_TLS_KEY) and drives the page over
// https:// and wss:// in headless Chromium, which trusts the test CA
// through an NSS database of its own (certutil), not by ignoring errors.
func TestChatOverHTTPS(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs a browser")
	}
	certutil, err := exec.LookPath("certutil")
	if err != nil {
		t.Fatal("certutil is required (Debian package libnss3-tools; .ci/run installs it)")
	}
	certs := tlstest.New(t)
	home := t.TempDir()
	nssdb := filepath.Join(home, ".pki", "nssdb")
	if err := os.MkdirAll(nssdb, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"-d", "sql:" + nssdb, "-N", "--empty-password"},
		{"-d", "sql:" + nssdb, "-A", "-t", "C,,", "-n", "gnetty-test-ca", "-i", certs.CAFile},
	} {
		if out, err := exec.Command(certutil, args...).CombinedOutput(); err != nil {
			t.Fatalf("certutil %v: %v\n%s", args, err, out)
		}
	}
	bin := servertest.BuildBinary(t, "chat")
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: certs.ClientConfig()}}
	t.Setenv("CHAT_TLS_CERT", certs.CertFile)
	t.Setenv("CHAT_TLS_KEY", certs.KeyFile)
	p := runChatWith(t, client, "https://", bin, "127.0.0.1:0", "-data", filepath.Join(t.TempDir(), "data"))
	addr := p.addr
	if !strings.Contains(p.logs.String(), "open https://") {
		t.Fatalf("the chat does not say it serves https:\n%s", p.logs.String())
	}
	runScript(t, p.logs, []string{"HOME=" + home}, "chat_browser.mjs", "https://"+addr)
}

// TestPipelineWithABadRequestLast: the chat answers every request that
// came before a malformed one in the same write, then 400, then closes.
func TestPipelineWithABadRequestLast(t *testing.T) {
	s, err := chat.New(chat.Config{Addr: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	addr := servertest.Start(t, s)
	servertest.PipelinedThenBad(t, addr, []string{"/healthz", "/", "/api/me", "/healthz"}, []int{200, 200, 401, 200})
}

// TestScrollBack: in a room of 1,200 stored messages, scrolling to the
// top loads page after page until message 1, each once and in order.
func TestScrollBack(t *testing.T) {
	const total = 1200
	dir := filepath.Join(t.TempDir(), "data")
	store, err := chat.OpenBoltStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	epoch, err := store.Epoch("archive")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(-time.Hour)
	for i := 1; i <= total; i++ {
		// Two senders taking turns, a second apart.
		from := []string{"ann", "bob"}[i%2]
		if err := store.Append(chat.Msg{ID: uint64(i), Epoch: epoch, Room: "archive", From: from, Avatar: "owl",
			Text: fmt.Sprint("message ", i), Time: start.Add(time.Duration(i) * time.Second)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	bin := servertest.BuildBinary(t, "chat")
	p := runChat(t, bin, "127.0.0.1:0", "-data", dir)
	runScript(t, p.logs, nil, "chat_scrollback.mjs", "http://"+p.addr, "archive", fmt.Sprint(total))
}

// TestEditsAcrossNodes: Node ws clients on two chat processes sharing one
// Redis edit and delete (refused for anyone but the author); after both
// processes restart, a newcomer's history still has the changes.
func TestEditsAcrossNodes(t *testing.T) {
	rs := redistest.Start(t)
	bin := servertest.BuildBinary(t, "chat")
	redisURL := "redis://" + rs.Addr + "/0"
	a := runChat(t, bin, "127.0.0.1:0", "-redis", redisURL, "-node", "a")
	b := runChat(t, bin, "127.0.0.1:0", "-redis", redisURL, "-node", "b")
	res := runScript(t, a.logs, nil, "chat_edits.mjs", "http://"+a.addr, "http://"+b.addr)
	a.kill()
	b.kill()
	c := runChat(t, bin, "127.0.0.1:0", "-redis", redisURL, "-node", "c")
	runScript(t, c.logs, nil, "chat_edits.mjs", "check", "http://"+c.addr, fmt.Sprint(res.Edited), fmt.Sprint(res.Deleted))
}

// TestEditsAcrossNodesOnACluster: the same on a real Redis Cluster (three
// primaries with a replica each) through -redis-cluster, acknowledging
// after a replica (-redis-wait 1): a room's messages, cids and edits live
// in its partition's slot.
func TestEditsAcrossNodesOnACluster(t *testing.T) {
	cl := redistest.StartCluster(t, 3, 1)
	bin := servertest.BuildBinary(t, "chat")
	a := runChat(t, bin, "127.0.0.1:0", "-redis-cluster", cl.URL(), "-redis-wait", "1", "-node", "a")
	b := runChat(t, bin, "127.0.0.1:0", "-redis-cluster", cl.URL(), "-redis-wait", "1", "-node", "b")
	res := runScript(t, a.logs, nil, "chat_edits.mjs", "http://"+a.addr, "http://"+b.addr)
	a.kill()
	b.kill()
	c := runChat(t, bin, "127.0.0.1:0", "-redis-cluster", cl.URL(), "-node", "c")
	runScript(t, c.logs, nil, "chat_edits.mjs", "check", "http://"+c.addr, fmt.Sprint(res.Edited), fmt.Sprint(res.Deleted))
}
