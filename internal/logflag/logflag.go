// Package logflag gives every example program the same two logging
// flags, -log-format text|json and -log-level debug|info|warn|error, and
// the log/slog logger they describe, so gnetty's own logs and the
// program's come out in one format.
package logflag

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
)

// Flags holds the values of the two flags.
type Flags struct {
	Format string
	Level  string
}

// Add registers -log-format and -log-level on fs.
func Add(fs *flag.FlagSet) *Flags {
	f := &Flags{}
	fs.StringVar(&f.Format, "log-format", "text", "log format: text or json")
	fs.StringVar(&f.Level, "log-level", "info", "least level logged: debug, info, warn or error")
	return f
}

// Logger returns the logger writing to w, or an error naming the flag
// whose value is wrong.
func (f *Flags) Logger(w io.Writer) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(f.Level)); err != nil {
		return nil, fmt.Errorf("-log-level must be debug, info, warn or error, not %q", f.Level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch f.Format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("-log-format must be text or json, not %q", f.Format)
}

// MustLogger is Logger on standard error for a command: a bad value is
// reported as "name: error" and the program exits with status 2. The
// logger also becomes slog's default.
func (f *Flags) MustLogger(name string) *slog.Logger {
	l, err := f.Logger(os.Stderr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(2)
	}
	slog.SetDefault(l)
	return l
}

// Fatal logs msg with args at error level and exits with status 1.
func Fatal(l *slog.Logger, msg string, args ...any) {
	l.Error(msg, args...)
	os.Exit(1)
}
