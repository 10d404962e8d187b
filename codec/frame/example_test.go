package frame_test

import (
	"fmt"

	"github.com/gnetty/gnetty/codec/frame"
	"github.com/gnetty/gnetty/pipeline"
	"github.com/gnetty/gnetty/pipeline/pipelinetest"
)

// A line protocol: frames cut at line ends, turned into strings, answered
// in upper case.
func ExampleNewLineDecoder() {
	shout := pipeline.ReadFunc(func(ctx *pipeline.Context, msg any) {
		ctx.WriteAndFlush(fmt.Sprintf("%s!", msg))
	})
	ch := pipelinetest.New(frame.NewLineDecoder(frame.LineConfig{MaxLength: 64}),
		frame.NewStringCodec(frame.StringConfig{Delimiter: "\n", ValidateUTF8: true}),
		shout,
	)
	ch.WriteInbound([]byte("hello\r\nwor"), []byte("ld\n"))
	fmt.Printf("%q\n", ch.ReadOutboundBytes())
	// Output: "hello!\nworld!\n"
}
