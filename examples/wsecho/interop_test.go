package main

import (
	"os/exec"
	"testing"

	"github.com/gnetty/gnetty/codec/wsframe"
	"github.com/gnetty/gnetty/internal/nodetest"
)

// Node ws over the default policy (context takeover both ways, 8 KiB),
// with a client that offers a small server window, and against a server
// that compresses every message alone: every message comes back intact
// through zlib, which refuses a reference beyond the window it agreed to.
func TestNodeWsClient(t *testing.T) {
	_, addr := start(t)
	_, alone := startDeflate(t, nil, deflate{})
	for _, c := range []struct {
		name, addr, opts, want string
	}{
		{"takeover", addr, `{"threshold":0}`, "permessage-deflate; client_max_window_bits=12"},
		{"small server window", addr, `{"threshold":0,"serverMaxWindowBits":9,"clientMaxWindowBits":10}`, "permessage-deflate; server_max_window_bits=9; client_max_window_bits=10"},
		{"client asks for no takeover", addr, `{"threshold":0,"serverNoContextTakeover":true}`, "permessage-deflate; server_no_context_takeover; client_max_window_bits=13"},
		{"server without takeover", alone, `{"threshold":0}`, wsframe.DeflateResponse},
	} {
		res := nodetest.Run(t, "ws_client.mjs", "ws://"+c.addr+"/", c.opts)
		if res["code"] != float64(4001) || res["seen"] != float64(203) {
			t.Fatalf("%s: node ws: %v", c.name, res)
		}
		if res["extensions"] != c.want {
			t.Errorf("%s: answered %q, want %q", c.name, res["extensions"], c.want)
		}
	}
}

func TestChromium(t *testing.T) {
	if _, err := exec.LookPath("/usr/bin/chromium"); err != nil {
		t.Fatal("Debian's chromium is required (.ci/run installs it)")
	}
	_, addr := start(t)
	res := nodetest.Run(t, "browser.mjs", "http://"+addr+"/page")
	if res["ok"] != true {
		t.Fatalf("chromium: %v", res)
	}
	// Chromium offers client_max_window_bits: context takeover both ways.
	if ext, _ := res["extensions"].(string); ext != "permessage-deflate; client_max_window_bits=12" {
		t.Fatalf("compression with context takeover not negotiated with chromium: %v", res)
	}
}
