package frame

import (
	"errors"
	"fmt"

	"github.com/gnetty/gnetty/pipeline"
)

// ErrCorruptFrame is raised for a length field that cannot describe a
// frame (shorter than its own header, or shorter than the bytes to strip).
var ErrCorruptFrame = pipeline.PeerError(errors.New("frame: corrupt length field"))

// TooLongError reports a frame over the configured maximum. The decoder
// discards the frame and carries on with the next one.
type TooLongError struct {
	Length int64 // the frame's length, or the bytes seen so far when failing fast
	Max    int
}

// PeerFault marks the frame as the peer's doing (see pipeline.PeerFault).
func (*TooLongError) PeerFault() {}

func (e *TooLongError) Error() string {
	return fmt.Sprintf("frame: frame length %d exceeds the maximum %d; discarded", e.Length, e.Max)
}
