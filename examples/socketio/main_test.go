package main

import (
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gnetty/gnetty/internal/nodetest"
	"github.com/gnetty/gnetty/internal/redistest"
	"github.com/gnetty/gnetty/internal/servertest"
)

var clientJS = filepath.Join(nodetest.Dir(), "node_modules/socket.io-client/dist/socket.io.min.js")

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
	wantChecks(t, nodetest.Run(t, "sio_scenario.mjs", "http://"+addr))
}

// TestScenarioAgainstNodeServer proves the scenario right: the official
// Node socket.io server, with the same events, passes it too.
func TestScenarioAgainstNodeServer(t *testing.T) {
	hello := nodetest.Start(t, "sio_server.mjs")
	port, _ := hello["port"].(float64)
	if port == 0 {
		t.Fatalf("node server said %v", hello)
	}
	wantChecks(t, nodetest.Run(t, "sio_scenario.mjs", "http://127.0.0.1:"+strconv.Itoa(int(port))))
}

// TestRoomsAcrossNodes: two nodes share a real Redis; clients on either
// meet in rooms and in namespace-wide broadcasts.
func TestRoomsAcrossNodes(t *testing.T) {
	r := redistest.Start(t)
	a1 := start(t, options{redisAddr: r.Addr})
	a2 := start(t, options{redisAddr: r.Addr})
	res := nodetest.Run(t, "sio_cluster.mjs", "http://"+a1, "http://"+a2)
	if res["ok"] != true {
		t.Fatalf("cluster: %v", res)
	}
}

// TestRoomsAcrossNodesOnACluster: the same on a real Redis Cluster
// (three primaries with a replica each, -redis-cluster): each room's and
// namespace's broadcasts go through the one shard that owns its channel.
func TestRoomsAcrossNodesOnACluster(t *testing.T) {
	cl := redistest.StartCluster(t, 3, 1)
	a1 := start(t, options{cluster: cl.URL()})
	a2 := start(t, options{cluster: cl.URL()})
	res := nodetest.Run(t, "sio_cluster.mjs", "http://"+a1, "http://"+a2)
	if res["ok"] != true {
		t.Fatalf("cluster: %v", res)
	}
}

// TestChromiumChatPage drives the embedded page in headless Chromium.
func TestChromiumChatPage(t *testing.T) {
	addr := start(t, options{clientJS: clientJS})
	if res := nodetest.Run(t, "sio_browser.mjs", "http://"+addr); res["ok"] != true {
		t.Fatalf("browser: %v", res)
	}
}

// The page as a person meets it: the prompt gone after login, every text
// readable (WCAG AA, computed), no overflow at 1280 and 390 px, and a
// notice instead of a reload when the client script cannot load.
func TestChromiumPageAtTwoWidthsAndOffline(t *testing.T) {
	addr := start(t, options{clientJS: clientJS})
	if res := nodetest.Run(t, "sio_page.mjs", "http://"+addr); res["ok"] != true {
		t.Fatalf("page: %v", res)
	}
}

// Without -client-js the command finds the npm client tests/interop
// holds and serves it: the page works without the internet.
func TestServesTheLocalClient(t *testing.T) {
	found := findClient()
	if found == "" {
		t.Fatal("no " + localClient + " above the working directory (.ci/run installs it)")
	}
	addr := start(t, options{clientJS: found})
	resp, err := http.Get("http://" + addr + "/socket.io/socket.io.js")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(body), "Socket.IO") {
		t.Fatalf("%d, %d bytes", resp.StatusCode, len(body))
	}
}

// TestPipelineWithABadRequestLast: the page and an Engine.IO handshake
// are answered before the 400 for a malformed request in the same write.
func TestPipelineWithABadRequestLast(t *testing.T) {
	addr := start(t, options{})
	servertest.PipelinedThenBad(t, addr, []string{"/", "/socket.io/?EIO=4&transport=polling", "/nope"}, []int{200, 200, 404})
}
