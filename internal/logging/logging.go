// Package logging builds Baton's zap logger and the adapter through which
// the Temporal SDK logs, so that worker, SDK, workflow and activity lines
// share one format.
package logging

import (
	"fmt"

	"go.temporal.io/sdk/log"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// New builds a zap logger: format "json" (production) or "console"
// (development), at the given level.
func New(level, format string) (*zap.Logger, error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, fmt.Errorf("log level: %w", err)
	}
	var cfg zap.Config
	switch format {
	case "json":
		cfg = zap.NewProductionConfig()
	case "console":
		cfg = zap.NewDevelopmentConfig()
		cfg.EncoderConfig.EncodeLevel = zapcore.CapitalColorLevelEncoder
	default:
		return nil, fmt.Errorf("log format %q is not one of console, json", format)
	}
	cfg.Level = zap.NewAtomicLevelAt(lvl)
	cfg.Sampling = nil
	// Activity failures are logged at error level by the SDK and are often
	// expected (a declined card); a Go stack trace adds nothing for them.
	cfg.DisableStacktrace = true
	return cfg.Build()
}

// SDKLogger adapts zap to the Temporal SDK's log.Logger.
type SDKLogger struct{ z *zap.Logger }

var (
	_ log.Logger          = (*SDKLogger)(nil)
	_ log.WithLogger      = (*SDKLogger)(nil)
	_ log.WithSkipCallers = (*SDKLogger)(nil)
)

// NewSDKLogger wraps z; the SDK's own frames are skipped so the caller shown
// is the code that logged.
func NewSDKLogger(z *zap.Logger) *SDKLogger {
	return &SDKLogger{z: z.WithOptions(zap.AddCallerSkip(1))}
}

func (l *SDKLogger) fields(keyvals []any) []zap.Field {
	if len(keyvals) == 0 {
		return nil
	}
	fields := make([]zap.Field, 0, len(keyvals)/2+1)
	for i := 0; i < len(keyvals); i += 2 {
		if i+1 == len(keyvals) {
			fields = append(fields, zap.Any("_extra", keyvals[i]))
			break
		}
		key, ok := keyvals[i].(string)
		if !ok {
			key = fmt.Sprint(keyvals[i])
		}
		if err, isErr := keyvals[i+1].(error); isErr {
			fields = append(fields, zap.NamedError(key, err))
			continue
		}
		fields = append(fields, zap.Any(key, keyvals[i+1]))
	}
	return fields
}

// Debug logs at debug level.
func (l *SDKLogger) Debug(msg string, keyvals ...any) { l.z.Debug(msg, l.fields(keyvals)...) }

// Info logs at info level.
func (l *SDKLogger) Info(msg string, keyvals ...any) { l.z.Info(msg, l.fields(keyvals)...) }

// Warn logs at warn level.
func (l *SDKLogger) Warn(msg string, keyvals ...any) { l.z.Warn(msg, l.fields(keyvals)...) }

// Error logs at error level.
func (l *SDKLogger) Error(msg string, keyvals ...any) { l.z.Error(msg, l.fields(keyvals)...) }

// With returns a logger that adds keyvals to every line.
func (l *SDKLogger) With(keyvals ...any) log.Logger {
	return &SDKLogger{z: l.z.With(l.fields(keyvals)...)}
}

// WithCallerSkip returns a logger that skips depth more frames.
func (l *SDKLogger) WithCallerSkip(depth int) log.Logger {
	return &SDKLogger{z: l.z.WithOptions(zap.AddCallerSkip(depth))}
}
