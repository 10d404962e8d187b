package pipeline

import (
	"errors"
	"fmt"
)

var (
	// ErrDuplicateName is returned when a handler name is already taken.
	ErrDuplicateName = errors.New("pipeline: duplicate handler name")
	// ErrNoSuchHandler is returned when a named handler is not in the pipeline.
	ErrNoSuchHandler = errors.New("pipeline: no such handler")
	// ErrNotHandler is returned for a value that implements no event interface.
	ErrNotHandler = errors.New("pipeline: value implements no handler interface")
	// ErrNotInLoop is returned when a loop-only operation is called from
	// another goroutine.
	ErrNotInLoop = errors.New("pipeline: called outside the channel's event loop")
	// ErrClosed reports an operation on a closed channel.
	ErrClosed = errors.New("pipeline: channel closed")
	// ErrUnsupportedMessage is raised when a message reaches the transport
	// in a form it cannot write (no encoder turned it into bytes).
	ErrUnsupportedMessage = errors.New("pipeline: unsupported outbound message type")
)

// PanicError reports a panic recovered from a handler. The channel that
// panicked is closed after the error has been fired.
type PanicError struct {
	Value any    // what was passed to panic
	Stack []byte // the stack of the panicking goroutine
}

func (e *PanicError) Error() string { return fmt.Sprintf("pipeline: handler panic: %v", e.Value) }

// Unwrap returns the panic value when it is an error.
func (e *PanicError) Unwrap() error {
	if err, ok := e.Value.(error); ok {
		return err
	}
	return nil
}
