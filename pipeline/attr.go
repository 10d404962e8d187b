package pipeline

// AttrKey names a typed per-channel attribute. Create keys once, at package
// level, with NewAttrKey; two keys never collide even if their names match.
type AttrKey[T any] struct{ name string }

// NewAttrKey returns a new attribute key. The name is for debugging.
func NewAttrKey[T any](name string) *AttrKey[T] { return &AttrKey[T]{name: name} }

// Name returns the key's name.
func (k *AttrKey[T]) Name() string { return k.name }

// Get returns the attribute's value on ch and whether it is set. Safe for
// concurrent use.
func (k *AttrKey[T]) Get(ch *Channel) (T, bool) {
	e := ch.ext.Load()
	if e == nil {
		var zero T
		return zero, false
	}
	ch.mu.Lock()
	defer ch.mu.Unlock()
	for _, a := range e.attrs {
		if a.key == k {
			v, ok := a.val.(T)
			return v, ok
		}
	}
	var zero T
	return zero, false
}

// Set stores v under the key on ch. Safe for concurrent use.
func (k *AttrKey[T]) Set(ch *Channel, v T) {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	e := ch.extLocked()
	for i := range e.attrs {
		if e.attrs[i].key == k {
			e.attrs[i].val = v
			return
		}
	}
	e.attrs = append(e.attrs, attr{key: k, val: v})
}

// Delete removes the attribute from ch. Safe for concurrent use.
func (k *AttrKey[T]) Delete(ch *Channel) {
	e := ch.ext.Load()
	if e == nil {
		return
	}
	ch.mu.Lock()
	defer ch.mu.Unlock()
	for i := range e.attrs {
		if e.attrs[i].key == k {
			e.attrs = append(e.attrs[:i], e.attrs[i+1:]...)
			return
		}
	}
}

type attr struct {
	key any
	val any
}

// Secure marks a channel whose bytes are encrypted beneath its handlers:
// a TLS handler sets it when it is added, so that, for example, the HTTP
// codec marks requests Secure and session cookies get the Secure flag.
var Secure = NewAttrKey[bool]("pipeline.secure")
