package pipeline

import (
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// What a stream of panics may write to one logger. A handler that panics
// on input anyone can send must not turn the log into an amplifier: 2,000
// bad requests once wrote 6 MB of stacks in 1.6 s.
const (
	// PanicStacksPerMinute is how many panics a minute are logged with
	// their stack.
	PanicStacksPerMinute = 5
	// PanicLinesPerSecond is how many panics a second are logged at all
	// (one line each, without the stack once the minute's stacks are
	// spent). The rest are counted, and the count is logged with the next
	// line that is written.
	PanicLinesPerSecond = 10
	// maxPanicValue bounds the panic value's text in a log line.
	maxPanicValue = 512
)

// panicLimiter rations one logger's panic lines. Safe for concurrent use.
type panicLimiter struct {
	mu          sync.Mutex
	stackWindow time.Time
	stacks      int
	lineWindow  time.Time
	lines       int
	suppressed  uint64
}

// admit reports whether a panic at now is logged, with its stack or not,
// and how many were dropped since the last one logged.
func (l *panicLimiter) admit(now time.Time) (log, stack bool, suppressed uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lineWindow) >= time.Second {
		l.lineWindow, l.lines = now, 0
	}
	if now.Sub(l.stackWindow) >= time.Minute {
		l.stackWindow, l.stacks = now, 0
	}
	if l.lines >= PanicLinesPerSecond {
		l.suppressed++
		return false, false, 0
	}
	l.lines++
	stack = l.stacks < PanicStacksPerMinute
	if stack {
		l.stacks++
	}
	suppressed, l.suppressed = l.suppressed, 0
	return true, stack, suppressed
}

var panicLimiters sync.Map // *slog.Logger -> *panicLimiter

// LogPanic logs a recovered panic on logger at error level, rationed per
// logger: at most PanicLinesPerSecond lines a second, the first
// PanicStacksPerMinute of each minute with the stack, a "suppressed" count
// on the line after a silence, and the panic value cut to 512 bytes. The
// pipeline logs every handler panic through it; transports and executors
// that recover panics of their own should too. Safe for concurrent use.
func LogPanic(logger *slog.Logger, msg string, value any, stack []byte, args ...any) {
	v, _ := panicLimiters.Load(logger)
	if v == nil {
		v, _ = panicLimiters.LoadOrStore(logger, &panicLimiter{})
	}
	ok, withStack, suppressed := v.(*panicLimiter).admit(time.Now())
	if !ok {
		return
	}
	text := fmt.Sprint(value)
	if len(text) > maxPanicValue {
		text = text[:maxPanicValue] + "..."
	}
	args = append(args, "panic", text)
	if suppressed > 0 {
		args = append(args, "suppressed", suppressed)
	}
	if withStack {
		args = append(args, "stack", string(stack))
	}
	logger.Error(msg, args...)
}
