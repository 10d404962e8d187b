package codec_test

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/gnetty/gnetty/codec"
	"github.com/gnetty/gnetty/pipeline"
	"github.com/gnetty/gnetty/pipeline/pipelinetest"
)

// pairs is a Step that fires two-byte frames; "!!" is unrecoverable and
// "??" is skipped with a recoverable error.
var pairs = codec.StepFunc(func(ctx *pipeline.Context, in []byte) (int, error) {
	if len(in) < 2 {
		return 0, nil
	}
	switch string(in[:2]) {
	case "!!":
		return 0, errors.New("fatal")
	case "??":
		return 2, errors.New("skip")
	}
	ctx.FireRead(string(in[:2]))
	return 2, nil
})

func read(ch *pipelinetest.Channel) (frames []string, errs []string) {
	for m := ch.ReadInbound(); m != nil; m = ch.ReadInbound() {
		frames = append(frames, m.(string))
	}
	for e := ch.ReadError(); e != nil; e = ch.ReadError() {
		errs = append(errs, e.Error())
	}
	return
}

func TestDecoderCumulatesAcrossReads(t *testing.T) {
	d := codec.NewDecoder(pairs)
	ch := pipelinetest.New(d)
	ch.WriteInbound([]byte("a"), []byte("bc"), []byte("d??e"), []byte("f"))
	frames, errs := read(ch)
	if !slices.Equal(frames, []string{"ab", "cd", "ef"}) || !slices.Equal(errs, []string{"skip"}) {
		t.Fatalf("frames %q errs %q", frames, errs)
	}
	if d.Buffered() != 0 {
		t.Fatalf("%d bytes still buffered", d.Buffered())
	}
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
}

func TestDecoderStopsForGoodAfterAFatalError(t *testing.T) {
	ch := pipelinetest.New(codec.NewDecoder(pairs))
	ch.WriteInbound([]byte("ab!!cd"), []byte("ef"), []byte("gh"))
	frames, errs := read(ch)
	if !slices.Equal(frames, []string{"ab"}) {
		t.Fatalf("frames %q", frames)
	}
	if len(errs) != 2 || errs[0] != "fatal" || errs[1] != codec.ErrStreamFailed.Error() {
		t.Fatalf("errs %q", errs)
	}
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
}

func TestDecoderRemovedBetweenReadsHandsOverItsBytes(t *testing.T) {
	var raw []byte
	ch := pipelinetest.New()
	_ = ch.Pipeline().AddLast("dec", codec.NewDecoder(pairs))
	_ = ch.Pipeline().AddLast("raw", pipeline.ReadFunc(func(ctx *pipeline.Context, msg any) {
		if b, ok := msg.(*pipeline.Bytes); ok {
			raw = append(raw, b.Bytes()...)
			b.Skip(b.Len())
			return
		}
		ctx.FireRead(msg)
	}))
	ch.WriteInbound([]byte("abc"))
	if _, err := ch.Pipeline().Remove("dec"); err != nil {
		t.Fatal(err)
	}
	ch.WriteInbound([]byte("de"))
	if frames, _ := read(ch); !slices.Equal(frames, []string{"ab"}) {
		t.Fatalf("frames %q", frames)
	}
	if string(raw) != "cde" {
		t.Fatalf("raw %q, want the held byte then the new ones", raw)
	}
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
}

func TestDecoderPassesOtherMessagesThrough(t *testing.T) {
	ch := pipelinetest.New(codec.NewDecoder(pairs))
	ch.WriteInbound(42)
	if got := ch.ReadInbound(); got != 42 {
		t.Fatalf("got %v", got)
	}
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
}

func TestDecoderLargeCumulationIsReleased(t *testing.T) {
	big := codec.StepFunc(func(ctx *pipeline.Context, in []byte) (int, error) {
		if len(in) < 64<<10 {
			return 0, nil
		}
		ctx.FireRead(len(in))
		return len(in), nil
	})
	d := codec.NewDecoder(big)
	ch := pipelinetest.New(d)
	chunk := bytes.Repeat([]byte("x"), 16<<10)
	for range 4 {
		ch.WriteInbound(chunk)
	}
	if got := ch.ReadInbound(); got != 64<<10 {
		t.Fatalf("got %v", got)
	}
	if d.Buffered() != 0 {
		t.Fatal("cumulation not emptied")
	}
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
}
