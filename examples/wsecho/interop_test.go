package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/gnetty/gnetty/internal/nodetest"
)

func TestNodeWsClient(t *testing.T) {
	_, addr := start(t)
	res := nodetest.Run(t, "ws_client.mjs", "ws://"+addr+"/")
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
	res := nodetest.Run(t, "browser.mjs", "http://"+addr+"/page")
	if res["ok"] != true {
		t.Fatalf("chromium: %v", res)
	}
	if ext, _ := res["extensions"].(string); !strings.Contains(ext, "permessage-deflate") {
		t.Fatalf("compression not negotiated with chromium: %v", res)
	}
}
