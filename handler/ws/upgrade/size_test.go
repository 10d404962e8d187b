package upgrade

import (
	"testing"
	"unsafe"

	"github.com/gnetty/gnetty/internal/sizetest"
)

// Every upgraded connection keeps its Handshake: its size is a memory
// budget (the allocator's 80-byte class; kept headers hang off it).
func TestHandshakeSize(t *testing.T) {
	sizetest.Budget(t, "Handshake", unsafe.Sizeof(Handshake{}), 80)
}
