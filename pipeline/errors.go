package pipeline

import (
	"errors"
	"fmt"
	"sync/atomic"
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

// PeerFault marks an error the peer caused rather than a fault of the
// server: a malformed request or frame, a line over its limit, plaintext
// on a TLS port, a failed TLS handshake, a peer that sends faster than
// it reads. At the tail such an error is counted (PeerFaults) and logged
// at debug level; any other error is logged as a warning, so WARN and
// ERROR lines stay for the server's own faults.
type PeerFault interface {
	error
	PeerFault()
}

// IsPeerFault reports whether err, or an error it wraps, is a PeerFault.
func IsPeerFault(err error) bool {
	var pf PeerFault
	return errors.As(err, &pf)
}

// PeerError returns err marked as the peer's fault (nil for nil); errors.Is
// and errors.As still see err through it.
func PeerError(err error) error {
	if err == nil || IsPeerFault(err) {
		return err
	}
	return peerError{err}
}

type peerError struct{ error }

func (peerError) PeerFault()      {}
func (e peerError) Unwrap() error { return e.error }

var peerFaults atomic.Uint64

// PeerFaults returns how many peer faults have reached a tail in this
// process (for metrics). Safe from any goroutine.
func PeerFaults() uint64 { return peerFaults.Load() }
