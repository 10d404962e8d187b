// Package sizetest checks memory budgets of structs that every connection
// holds: tests pass unsafe.Sizeof of their package's unexported types.
package sizetest

import (
	"testing"
	"unsafe"
)

// Budget fails t when size, the unsafe.Sizeof of the type name, is over
// budget bytes. Budgets are for 64-bit platforms; elsewhere it skips.
func Budget(t *testing.T, name string, size, budget uintptr) {
	t.Helper()
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("sizes are budgeted for 64-bit platforms")
	}
	if size > budget {
		t.Errorf("%s is %d bytes, budget %d", name, size, budget)
	}
}
