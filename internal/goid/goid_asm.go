//go:build amd64 || arm64

package goid

// getg returns the runtime's g pointer of the calling goroutine.
//
//go:noescape
func getg() uintptr

func current() uintptr { return getg() }
