package websocket

import (
	"testing"
	"unsafe"

	"github.com/gnetty/gnetty/internal/sizetest"
)

// An idle upgraded connection's state is one fusedConn: its size is a
// memory budget (the allocator's 448-byte class; it was eight objects
// and 848 bytes before the fusion).
func TestFusedConnSize(t *testing.T) {
	sizetest.Budget(t, "fusedConn", unsafe.Sizeof(fusedConn{}), 448)
}
