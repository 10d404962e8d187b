package bootstrap_test

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/gnetty/gnetty/bootstrap"
	"github.com/gnetty/gnetty/pipeline"
)

// shared is a broadcast frame: bytes the transport may send by reference.
type shared []byte

func (s shared) SharedBytes() []byte { return s }

// appended is a message the transport copies (pipeline.Appender).
type appended string

func (a appended) AppendTo(dst []byte) []byte { return append(dst, a...) }

// Shared messages are sent by reference when the connection has no batch,
// copied behind a batch otherwise; either way every byte arrives in the
// order written, mixed with copied, appended and large referenced writes,
// in one flush and across several.
func TestSharedWritesKeepTheirOrder(t *testing.T) {
	big := bytes.Repeat([]byte("B"), 64<<10)
	var want bytes.Buffer
	writes := []any{
		shared("s1,"), []byte("c1,"), shared("s2,"), appended("a1,"), "str,", shared("s3,"),
		big, shared("s4,"), []byte("c2,"),
	}
	for _, w := range writes {
		switch m := w.(type) {
		case shared:
			want.Write(m)
		case []byte:
			want.Write(m)
		case appended:
			want.WriteString(string(m))
		case string:
			want.WriteString(m)
		}
	}
	s := start(t, bootstrap.Config{Initializer: func(ch *pipeline.Channel) {
		_ = ch.Pipeline().AddLast("writer", pipeline.ReadFunc(func(ctx *pipeline.Context, m any) {
			pipeline.Release(m)
			for i, w := range writes {
				if i == 0 {
					ctx.Write(w) // a lone shared message with no batch: referenced
					ctx.Flush()
					continue
				}
				ctx.Write(w)
			}
			ctx.Flush()
			for range 3 { // and three rounds more, each flushed alone
				ctx.WriteAndFlush(shared("again,"))
			}
		}))
	}})
	c := dial(t, s)
	if _, err := io.WriteString(c, "go"); err != nil {
		t.Fatal(err)
	}
	want.WriteString(strings.Repeat("again,", 3))
	got := make([]byte, want.Len())
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("bytes out of order or lost: got %d bytes, first difference at %d", len(got), firstDiff(got, want.Bytes()))
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
