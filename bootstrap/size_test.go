package bootstrap

import (
	"testing"
	"unsafe"
)

// A connection is its Channel and the gnet adapter in one object; its
// size is a memory budget (the allocator's 352-byte class).
func TestConnSize(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("sizes are budgeted for 64-bit platforms")
	}
	if n := unsafe.Sizeof(conn{}); n > 352 {
		t.Errorf("conn is %d bytes, budget 352", n)
	}
}
