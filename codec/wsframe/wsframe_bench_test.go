package wsframe_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gobwas/ws"

	"github.com/gnetty/gnetty/codec/wsframe"
	"github.com/gnetty/gnetty/pipeline"
	"github.com/gnetty/gnetty/pipeline/pipelinetest"
)

// dropWrites sits next to the head and releases what reaches it, so the
// benchmark measures the codec and not the test transport.
type dropWrites struct{}

func (dropWrites) HandleWrite(_ *pipeline.Context, msg any) { pipeline.Release(msg) }

// BenchmarkEcho decodes a masked text frame, hands it to an echo handler
// and encodes the answer.
func BenchmarkEcho(b *testing.B) {
	for _, size := range []int{64, 1024, 16 << 10} {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			ch := pipelinetest.New(dropWrites{}, wsframe.New(wsframe.Config{}), echo)
			frame := clientFrame(true, 0, ws.OpText, []byte(strings.Repeat("x", size)))
			buf := make([]byte, len(frame))
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				copy(buf, frame)
				ch.Receive(buf)
			}
		})
	}
}
