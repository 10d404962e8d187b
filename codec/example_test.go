package codec_test

import (
	"bytes"
	"fmt"

	"github.com/gnetty/gnetty/codec"
	"github.com/gnetty/gnetty/pipeline"
	"github.com/gnetty/gnetty/pipeline/pipelinetest"
)

// A Step decodes what it can from the front of its input: here, records
// ended by a comma. Bytes of a record still arriving wait in the
// Decoder's buffer for the next read.
func ExampleNewDecoder() {
	commas := codec.StepFunc(func(ctx *pipeline.Context, in []byte) (int, error) {
		i := bytes.IndexByte(in, ',')
		if i < 0 {
			return 0, nil // no whole record yet: consume nothing, wait
		}
		ctx.FireRead(string(in[:i]))
		return i + 1, nil
	})
	dec := codec.NewDecoder(commas)
	ch := pipelinetest.New(dec)
	ch.WriteInbound([]byte("red,gr"), []byte("een,blue"))
	for m := ch.ReadInbound(); m != nil; m = ch.ReadInbound() {
		fmt.Println(m)
	}
	fmt.Println("bytes waiting for the next read:", dec.Buffered())
	// Output:
	// red
	// green
	// bytes waiting for the next read: 4
}
