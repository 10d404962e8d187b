package http1_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gnetty/gnetty/codec/http1"
)

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want http1.URL
		err  string
	}{
		{raw: "ws://example.com", want: http1.URL{Scheme: "ws", Host: "example.com", Addr: "example.com:80", Authority: "example.com", Target: "/"}},
		{raw: "wss://example.com/chat?room=a%20b", want: http1.URL{Scheme: "wss", Secure: true, Host: "example.com", Addr: "example.com:443", Authority: "example.com", Target: "/chat?room=a%20b"}},
		{raw: "ws://[::1]:8080/x", want: http1.URL{Scheme: "ws", Host: "::1", Addr: "[::1]:8080", Authority: "[::1]:8080", Target: "/x"}},
		{raw: "http://example.com/x", err: `scheme "http" (want ws or wss)`},
		{raw: "ws:///x", err: "no host in ws:///x"},
		{raw: "ws://a b", err: "invalid"},
	} {
		got, err := http1.ParseURL(tc.raw, "ws", "wss")
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want %q", tc.raw, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: %+v %v, want %+v", tc.raw, got, err, tc.want)
		}
	}
	h := http1.HeaderFrom(http.Header{"X-A": {"1", "2"}})
	if len(h) != 2 || h.Get("X-A") != "1" {
		t.Fatalf("HeaderFrom: %+v", h)
	}
}
