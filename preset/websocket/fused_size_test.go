package websocket

import (
	"testing"
	"unsafe"
)

// An idle upgraded connection's state is one fusedConn: its size is a
// memory budget (the allocator's 448-byte class; it was eight objects
// and 848 bytes before the fusion).
func TestFusedConnSize(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("sizes are budgeted for 64-bit platforms")
	}
	if n := unsafe.Sizeof(fusedConn{}); n > 448 {
		t.Errorf("fusedConn is %d bytes, budget 448", n)
	}
}
