package bootstrap

import (
	"context"
	"fmt"
	"log/slog"
)

// gnetLogger routes gnet's logs to slog (gnet's own informational lines at
// debug level, so a server's log holds ours).
type gnetLogger struct{ l *slog.Logger }

func (g gnetLogger) log(level slog.Level, format string, args ...any) {
	if g.l.Enabled(context.Background(), level) {
		g.l.Log(context.Background(), level, fmt.Sprintf(format, args...), "component", "gnet")
	}
}

func (g gnetLogger) Debugf(format string, args ...any) { g.log(slog.LevelDebug, format, args...) }
func (g gnetLogger) Infof(format string, args ...any)  { g.log(slog.LevelDebug, format, args...) }
func (g gnetLogger) Warnf(format string, args ...any)  { g.log(slog.LevelWarn, format, args...) }
func (g gnetLogger) Errorf(format string, args ...any) { g.log(slog.LevelError, format, args...) }
func (g gnetLogger) Fatalf(format string, args ...any) { g.log(slog.LevelError, format, args...) }
