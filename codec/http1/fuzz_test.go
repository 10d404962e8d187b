package http1_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/gnetty/gnetty/pipeline"
)

func outcome(t *testing.T, chunks ...string) string {
	s, ch := decode(t, chunks...)
	var b strings.Builder
	for i, r := range s.reqs {
		b.WriteString(r + "\n" + s.bodies[i] + "\n")
	}
	b.WriteString(strings.Join(s.trailers, ","))
	out := string(ch.ReadOutboundBytes())
	if i := strings.Index(out, "Date: "); i >= 0 {
		out = out[:i] + out[i+len("Date: Mon, 02 Jan 2006 15:04:05 GMT"):]
	}
	b.WriteString("|out=" + out)
	for err := ch.ReadError(); err != nil; err = ch.ReadError() {
		var pe *pipeline.PanicError
		if errors.As(err, &pe) {
			t.Fatalf("decoder panicked on %q: %v\n%s", chunks, pe.Value, pe.Stack)
		}
	}
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
	return b.String()
}

func FuzzDecodeRequest(f *testing.F) {
	f.Add("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	f.Add("POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.0\r\n\r\n")
	f.Add("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3;a=b\r\nabc\r\n0\r\nT: 1\r\n\r\n")
	f.Add("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n")
	f.Add("\r\nGET http://h/p?q HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
	f.Add("\nGET / HTTP/1.1\nHost: x\n\nGET /2 HTTP/1.1\r\nHost: x\n\r\n")
	f.Add("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n")
	f.Fuzz(func(t *testing.T, in string) {
		whole := outcome(t, in)
		for i := 0; i <= len(in); i++ {
			if got := outcome(t, in[:i], in[i:]); got != whole {
				t.Fatalf("split at %d of %q:\n%s\nwhole:\n%s", i, in, got, whole)
			}
		}
	})
}
