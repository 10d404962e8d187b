package bootstrap

import (
	"testing"
	"unsafe"

	"github.com/gnetty/gnetty/internal/sizetest"
)

// A connection is its Channel and the gnet adapter in one object; its
// size is a memory budget (the allocator's 352-byte class).
func TestConnSize(t *testing.T) { sizetest.Budget(t, "conn", unsafe.Sizeof(conn{}), 352) }
