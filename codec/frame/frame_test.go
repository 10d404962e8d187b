package frame_test

import (
	"encoding/binary"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/gnetty/gnetty/codec/frame"
	"github.com/gnetty/gnetty/pipeline"
	"github.com/gnetty/gnetty/pipeline/pipelinetest"
)

// result is what a decoder produced: frames and errors, in order.
type result struct {
	frames []string
	errs   []error
}

func collect(ch *pipelinetest.Channel) result {
	var r result
	for m := ch.ReadInbound(); m != nil; m = ch.ReadInbound() {
		r.frames = append(r.frames, string(m.([]byte)))
	}
	for e := ch.ReadError(); e != nil; e = ch.ReadError() {
		r.errs = append(r.errs, e)
	}
	return r
}

func feed(t testing.TB, h any, chunks ...[]byte) result {
	ch := pipelinetest.New(h)
	for _, c := range chunks {
		ch.WriteInbound(c)
	}
	r := collect(ch)
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
	return r
}

func TestLineDecoder(t *testing.T) {
	tooLong := func(err error) bool {
		var tl *frame.TooLongError
		return errors.As(err, &tl)
	}
	cases := []struct {
		name   string
		cfg    frame.LineConfig
		chunks []string
		frames []string
		errs   int
	}{
		{name: "lf and crlf", chunks: []string{"a\nbb\r\nccc\n"}, frames: []string{"a", "bb", "ccc"}},
		{name: "partial waits", chunks: []string{"hel", "lo", "\r", "\nx"}, frames: []string{"hello"}},
		{name: "empty lines", chunks: []string{"\n\r\n"}, frames: []string{"", ""}},
		{name: "keep delimiter", cfg: frame.LineConfig{KeepDelimiter: true}, chunks: []string{"a\nb\r\n"}, frames: []string{"a\n", "b\r\n"}},
		{name: "exactly max", cfg: frame.LineConfig{MaxLength: 3}, chunks: []string{"abc\r\n"}, frames: []string{"abc"}},
		{name: "too long in one chunk", cfg: frame.LineConfig{MaxLength: 3}, chunks: []string{"abcd\nok\n"}, frames: []string{"ok"}, errs: 1},
		{name: "too long fails fast", cfg: frame.LineConfig{MaxLength: 3}, chunks: []string{"abcdef", "ghi", "\nok\n"}, frames: []string{"ok"}, errs: 1},
		{name: "too long fails late", cfg: frame.LineConfig{MaxLength: 3, FailLate: true}, chunks: []string{"abcdef", "ghi", "\nok\n"}, frames: []string{"ok"}, errs: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var chunks [][]byte
			for _, c := range tc.chunks {
				chunks = append(chunks, []byte(c))
			}
			r := feed(t, frame.NewLineDecoder(tc.cfg), chunks...)
			if !slices.Equal(r.frames, tc.frames) {
				t.Fatalf("frames %q, want %q", r.frames, tc.frames)
			}
			if len(r.errs) != tc.errs {
				t.Fatalf("errors %v, want %d", r.errs, tc.errs)
			}
			for _, e := range r.errs {
				if !tooLong(e) {
					t.Fatalf("error %v is not a TooLongError", e)
				}
			}
		})
	}
}

func TestLineDecoderFailFastReportsBeforeTheEnd(t *testing.T) {
	ch := pipelinetest.New(frame.NewLineDecoder(frame.LineConfig{MaxLength: 4}))
	ch.WriteInbound([]byte("0123456789"))
	var tl *frame.TooLongError
	if err := ch.ReadError(); !errors.As(err, &tl) || tl.Max != 4 {
		t.Fatalf("want an immediate TooLongError, got %v", err)
	}
	ch.WriteInbound([]byte("still the same line\nnext\n"))
	if got := ch.ReadInbound(); string(got.([]byte)) != "next" {
		t.Fatalf("got %q", got)
	}
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
}

func be(n int, v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b[8-n:]
}

func cat(parts ...[]byte) []byte { return slices.Concat(parts...) }

func TestLengthFieldDecoder(t *testing.T) {
	// The cases follow the examples in Netty's LengthFieldBasedFrameDecoder
	// documentation.
	cases := []struct {
		name   string
		cfg    frame.LengthFieldConfig
		input  []byte
		frames []string
		errs   int
	}{
		{name: "2-byte length, nothing stripped", cfg: frame.LengthFieldConfig{Size: 2},
			input: cat(be(2, 12), []byte("HELLO, WORLD")), frames: []string{"\x00\x0cHELLO, WORLD"}},
		{name: "2-byte length, header stripped", cfg: frame.LengthFieldConfig{Size: 2, Strip: 2},
			input: cat(be(2, 12), []byte("HELLO, WORLD")), frames: []string{"HELLO, WORLD"}},
		{name: "length counts the header", cfg: frame.LengthFieldConfig{Size: 2, Adjustment: -2},
			input: cat(be(2, 14), []byte("HELLO, WORLD")), frames: []string{"\x00\x0eHELLO, WORLD"}},
		{name: "3-byte length after a 2-byte header", cfg: frame.LengthFieldConfig{Offset: 2, Size: 3},
			input: cat([]byte{0xCA, 0xFE}, be(3, 12), []byte("HELLO, WORLD")), frames: []string{"\xca\xfe\x00\x00\x0cHELLO, WORLD"}},
		{name: "3-byte length then a 2-byte header", cfg: frame.LengthFieldConfig{Size: 3, Adjustment: 2},
			input: cat(be(3, 12), []byte{0xCA, 0xFE}, []byte("HELLO, WORLD")), frames: []string{"\x00\x00\x0c\xca\xfeHELLO, WORLD"}},
		{name: "offset 1, strip 3", cfg: frame.LengthFieldConfig{Offset: 1, Size: 2, Adjustment: 1, Strip: 3},
			input: cat([]byte{0xCA}, be(2, 12), []byte{0xFE}, []byte("HELLO, WORLD")), frames: []string{"\xfeHELLO, WORLD"}},
		{name: "little endian 4-byte", cfg: frame.LengthFieldConfig{Order: binary.LittleEndian, Strip: 4},
			input: []byte("\x02\x00\x00\x00hi\x01\x00\x00\x00!"), frames: []string{"hi", "!"}},
		{name: "1-byte and 8-byte", cfg: frame.LengthFieldConfig{Size: 8, Strip: 8},
			input: cat(be(8, 3), []byte("abc")), frames: []string{"abc"}},
		{name: "too long is skipped", cfg: frame.LengthFieldConfig{Size: 1, Strip: 1, MaxFrameLength: 4},
			input: cat(be(1, 5), []byte("12345"), be(1, 2), []byte("ok")), frames: []string{"ok"}, errs: 1},
		{name: "too long fails late", cfg: frame.LengthFieldConfig{Size: 1, Strip: 1, MaxFrameLength: 4, FailLate: true},
			input: cat(be(1, 5), []byte("12345"), be(1, 2), []byte("ok")), frames: []string{"ok"}, errs: 1},
		{name: "huge 8-byte length", cfg: frame.LengthFieldConfig{Size: 8, MaxFrameLength: 100},
			input: cat([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, []byte("xx")), errs: 1},
		{name: "corrupt: shorter than header", cfg: frame.LengthFieldConfig{Size: 1, Adjustment: -5},
			input: cat(be(1, 1), be(1, 6), []byte("z")), frames: []string{"\x06z"}, errs: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, err := frame.NewLengthFieldDecoder(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			r := feed(t, d, tc.input)
			if !slices.Equal(r.frames, tc.frames) {
				t.Fatalf("frames %q, want %q", r.frames, tc.frames)
			}
			if len(r.errs) != tc.errs {
				t.Fatalf("errors %v, want %d", r.errs, tc.errs)
			}
			// Byte by byte must give the same.
			d2, _ := frame.NewLengthFieldDecoder(tc.cfg)
			var chunks [][]byte
			for i := range tc.input {
				chunks = append(chunks, tc.input[i:i+1])
			}
			r2 := feed(t, d2, chunks...)
			if !slices.Equal(r2.frames, tc.frames) || len(r2.errs) != tc.errs {
				t.Fatalf("byte by byte: frames %q errs %v", r2.frames, r2.errs)
			}
		})
	}
}

func TestLengthFieldConfigErrors(t *testing.T) {
	for _, cfg := range []frame.LengthFieldConfig{{Size: 5}, {Offset: -1}, {Strip: -2}} {
		if _, err := frame.NewLengthFieldDecoder(cfg); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
	if _, err := frame.NewPrepender(frame.PrependerConfig{Size: 7}); err == nil {
		t.Error("prepender size 7 accepted")
	}
}

func TestPrependerRoundTrip(t *testing.T) {
	orders := []binary.ByteOrder{binary.BigEndian, binary.LittleEndian}
	for _, size := range []int{1, 2, 3, 4, 8} {
		for _, order := range orders {
			p, err := frame.NewPrepender(frame.PrependerConfig{Size: size, Order: order})
			if err != nil {
				t.Fatal(err)
			}
			enc := pipelinetest.New(p)
			bodies := []any{[]byte("alpha"), "beta", pipeline.NewBytes([]byte("gamma")), ""}
			enc.WriteOutbound(bodies...)
			wire := enc.ReadOutboundBytes()
			if err := enc.Finish(); err != nil {
				t.Fatal(err)
			}

			d, err := frame.NewLengthFieldDecoder(frame.LengthFieldConfig{Size: size, Order: order, Strip: size})
			if err != nil {
				t.Fatal(err)
			}
			r := feed(t, d, wire)
			if want := []string{"alpha", "beta", "gamma", ""}; !slices.Equal(r.frames, want) || len(r.errs) > 0 {
				t.Fatalf("size %d %v: frames %q errs %v", size, order, r.frames, r.errs)
			}
		}
	}
}

func TestPrependerIncludeHeaderAndTooLarge(t *testing.T) {
	p, _ := frame.NewPrepender(frame.PrependerConfig{Size: 1, IncludeHeader: true})
	ch := pipelinetest.New(p)
	ch.WriteOutbound("abc", strings.Repeat("x", 300))
	if got := ch.ReadOutboundBytes(); string(got) != "\x04abc" {
		t.Fatalf("wire %q", got)
	}
	if err := ch.ReadError(); !errors.Is(err, frame.ErrFrameTooLarge) {
		t.Fatalf("err %v", err)
	}
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
}

func TestStringCodec(t *testing.T) {
	ch := pipelinetest.New(frame.NewLineDecoder(frame.LineConfig{}), frame.NewStringCodec(frame.StringConfig{Delimiter: "\r\n", ValidateUTF8: true}))
	ch.WriteInbound([]byte("héllo\nbad\xff\n"))
	if got := ch.ReadInbound(); got != "héllo" {
		t.Fatalf("got %#v", got)
	}
	if err := ch.ReadError(); !errors.Is(err, frame.ErrInvalidUTF8) {
		t.Fatalf("err %v", err)
	}
	ch.WriteOutbound("one", "two")
	if got := string(ch.ReadOutboundBytes()); got != "one\r\ntwo\r\n" {
		t.Fatalf("wire %q", got)
	}
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
}

func TestDecoderReplacedMidReadHandsOverTheRest(t *testing.T) {
	// After the first line, the handler swaps the line decoder out for a
	// raw sink; the bytes behind that line must reach the sink, whether
	// they were in the same read or still in the decoder's cumulation.
	for _, chunks := range [][]string{{"first\nrest"}, {"fir", "st\nrest"}, {"first\nre", "st"}} {
		var raw []byte
		sink := pipeline.ReadFunc(func(ctx *pipeline.Context, msg any) {
			b := msg.(*pipeline.Bytes)
			raw = append(raw, b.Bytes()...)
			b.Skip(b.Len())
		})
		var lines []string
		swap := pipeline.ReadFunc(func(ctx *pipeline.Context, msg any) {
			b, ok := msg.(*pipeline.Bytes)
			if !ok || ctx.Pipeline().Get("lines") == nil {
				ctx.FireRead(msg)
				return
			}
			lines = append(lines, b.String())
			if _, err := ctx.Pipeline().Replace("lines", "raw", sink); err != nil {
				t.Fatal(err)
			}
		})
		ch := pipelinetest.New()
		p := ch.Pipeline()
		_ = p.AddLast("lines", frame.NewLineDecoder(frame.LineConfig{}))
		_ = p.AddLast("swap", swap)
		for _, c := range chunks {
			ch.WriteInbound([]byte(c))
		}
		if !slices.Equal(lines, []string{"first"}) || string(raw) != "rest" {
			t.Fatalf("chunks %q: lines %q raw %q", chunks, lines, raw)
		}
		if err := ch.Finish(); err != nil {
			t.Error(err)
		}
	}
}
