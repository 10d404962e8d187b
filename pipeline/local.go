package pipeline

// LoopLocals is implemented by event loops that keep values for the
// handlers of their channels: state that many channels of one loop share
// without locks (a cache, scratch space), as Netty's FastThreadLocal
// does. The loops of package bootstrap and pipelinetest implement it.
//
// # Concurrency
//
// Locals must be called on the loop, and the map used only there.
type LoopLocals interface {
	// Locals returns the loop's map of values, keyed by whatever key
	// type its user owns (an unexported type, so keys never collide).
	Locals() map[any]any
}

// LoopLocal returns loop's value for key, made by make on first use. On
// a loop that keeps no locals (not a LoopLocals), it returns a new value
// every call, so state kept in it is not shared. Call it on the loop.
func LoopLocal[T any](loop EventLoop, key any, make func() T) T {
	ll, ok := loop.(LoopLocals)
	if !ok {
		return make()
	}
	m := ll.Locals()
	if v, ok := m[key].(T); ok {
		return v
	}
	v := make()
	m[key] = v
	return v
}
