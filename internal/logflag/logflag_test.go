package logflag

import (
	"bytes"
	"encoding/json"
	"flag"
	"strings"
	"testing"
)

func TestFlags(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	f := Add(fs)
	if err := fs.Parse([]string{"-log-format", "json", "-log-level", "warn"}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	l, err := f.Logger(&buf)
	if err != nil {
		t.Fatal(err)
	}
	l.Info("dropped")
	l.Warn("kept", "k", 1)
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil || rec["msg"] != "kept" || strings.Count(buf.String(), "\n") != 1 {
		t.Fatalf("%q: %v", buf.String(), err)
	}
	for _, bad := range []Flags{{Format: "xml", Level: "info"}, {Format: "text", Level: "loud"}} {
		if _, err := bad.Logger(&buf); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}
