package frame_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/gnetty/gnetty/codec/frame"
	"github.com/gnetty/gnetty/pipeline"
	"github.com/gnetty/gnetty/pipeline/pipelinetest"
)

type countFrames struct{ n int }

func (c *countFrames) HandleRead(_ *pipeline.Context, msg any) { c.n++ }

func benchDecoder(b *testing.B, dec any, input []byte) {
	sink := &countFrames{}
	ch := pipelinetest.New(dec, sink)
	b.ReportAllocs()
	b.SetBytes(int64(len(input)))
	for b.Loop() {
		if n := ch.Receive(input); n != len(input) {
			b.Fatalf("consumed %d of %d", n, len(input))
		}
	}
	if sink.n == 0 {
		b.Fatal("no frames")
	}
}

// BenchmarkLineDecoder decodes a 16 KiB read of lines of the given size.
func BenchmarkLineDecoder(b *testing.B) {
	for _, size := range []int{16, 128, 1024} {
		b.Run(fmt.Sprintf("line=%d", size), func(b *testing.B) {
			line := append(bytes.Repeat([]byte("x"), size-1), '\n')
			input := bytes.Repeat(line, 16<<10/size)
			benchDecoder(b, frame.NewLineDecoder(frame.LineConfig{}), input)
		})
	}
}

// BenchmarkLengthFieldDecoder decodes a 16 KiB read of frames of the given
// body size behind a 4-byte length.
func BenchmarkLengthFieldDecoder(b *testing.B) {
	for _, size := range []int{16, 128, 1024} {
		b.Run(fmt.Sprintf("body=%d", size), func(b *testing.B) {
			f := append([]byte{0, 0, byte(size >> 8), byte(size)}, bytes.Repeat([]byte("x"), size)...)
			input := bytes.Repeat(f, 16<<10/len(f))
			d, _ := frame.NewLengthFieldDecoder(frame.LengthFieldConfig{Strip: 4})
			benchDecoder(b, d, input)
		})
	}
}
