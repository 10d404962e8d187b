package frame_test

import (
	"encoding/binary"
	"slices"
	"testing"

	"github.com/gnetty/gnetty/codec/frame"
	"github.com/gnetty/gnetty/pipeline/pipelinetest"
)

// sameResult compares frames exactly and errors by count: how far a
// fail-fast error had got when it fired depends on chunking, whether it
// fired does not.
func sameResult(a, b result) bool {
	return slices.Equal(a.frames, b.frames) && len(a.errs) == len(b.errs)
}

func checkSplits(t *testing.T, data []byte, newDecoder func() any) {
	whole := feed(t, newDecoder(), data)
	for i := 0; i <= len(data); i++ {
		split := feed(t, newDecoder(), data[:i], data[i:])
		if !sameResult(whole, split) {
			t.Fatalf("split at %d of %q: frames %q errs %d; whole: frames %q errs %d",
				i, data, split.frames, len(split.errs), whole.frames, len(whole.errs))
		}
	}
	total := 0
	for _, f := range whole.frames {
		total += len(f)
	}
	if total > len(data) {
		t.Fatalf("frames hold %d bytes from %d of input", total, len(data))
	}
}

func FuzzLineDecoder(f *testing.F) {
	f.Add([]byte("hello\nworld\r\n"), uint8(8), false, false)
	f.Add([]byte("\r\n\n\r\r\n"), uint8(0), true, false)
	f.Add([]byte("0123456789abcdef\nok\n"), uint8(4), false, true)
	f.Fuzz(func(t *testing.T, data []byte, max uint8, keep, late bool) {
		cfg := frame.LineConfig{MaxLength: int(max%16) + 1, KeepDelimiter: keep, FailLate: late}
		checkSplits(t, data, func() any { return frame.NewLineDecoder(cfg) })
	})
}

func FuzzLengthFieldDecoder(f *testing.F) {
	f.Add([]byte("\x00\x05hello\x00\x02hi"), uint8(2), uint8(0), int8(0), uint8(2), false, false)
	f.Add([]byte("\x05\x00\x00\x00abcde"), uint8(4), uint8(0), int8(0), uint8(0), true, true)
	f.Add([]byte("\xca\x00\x00\x0c\xfeHELLO, WORLD"), uint8(3), uint8(1), int8(1), uint8(4), false, false)
	f.Fuzz(func(t *testing.T, data []byte, size, offset uint8, adj int8, strip uint8, little, late bool) {
		sizes := []int{1, 2, 3, 4, 8}
		cfg := frame.LengthFieldConfig{
			Size:           sizes[int(size)%len(sizes)],
			Offset:         int(offset % 4),
			Adjustment:     int(adj % 8),
			Strip:          int(strip % 12),
			MaxFrameLength: 64,
			FailLate:       late,
		}
		if little {
			cfg.Order = binary.LittleEndian
		}
		if _, err := frame.NewLengthFieldDecoder(cfg); err != nil {
			t.Fatal(err)
		}
		checkSplits(t, data, func() any {
			d, _ := frame.NewLengthFieldDecoder(cfg)
			return d
		})
	})
}

func FuzzPrependerRoundTrip(f *testing.F) {
	f.Add([]byte("abc"), []byte(""), uint8(1))
	f.Add([]byte("hello"), []byte("world"), uint8(3))
	f.Fuzz(func(t *testing.T, a, b []byte, size uint8) {
		sizes := []int{1, 2, 3, 4, 8}
		n := sizes[int(size)%len(sizes)]
		if n == 1 && (len(a) > 255 || len(b) > 255) {
			return
		}
		p, _ := frame.NewPrepender(frame.PrependerConfig{Size: n})
		enc := pipelinetest.New(p)
		enc.WriteOutbound(slices.Clone(a), string(b))
		wire := enc.ReadOutboundBytes()
		if err := enc.Finish(); err != nil {
			t.Fatal(err)
		}
		d, _ := frame.NewLengthFieldDecoder(frame.LengthFieldConfig{Size: n, Strip: n, MaxFrameLength: 1 << 20})
		r := feed(t, d, wire)
		if !slices.Equal(r.frames, []string{string(a), string(b)}) || len(r.errs) > 0 {
			t.Fatalf("round trip of %q %q gave %q %v", a, b, r.frames, r.errs)
		}
		checkSplits(t, wire, func() any {
			d, _ := frame.NewLengthFieldDecoder(frame.LengthFieldConfig{Size: n, Strip: n, MaxFrameLength: 1 << 20})
			return d
		})
	})
}
