package upgrade

import (
	"testing"
	"unsafe"
)

// Every upgraded connection keeps its Handshake: its size is a memory
// budget (the allocator's 80-byte class; kept headers hang off it).
func TestHandshakeSize(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("sizes are budgeted for 64-bit platforms")
	}
	if n := unsafe.Sizeof(Handshake{}); n > 80 {
		t.Errorf("Handshake is %d bytes, budget 80", n)
	}
}
