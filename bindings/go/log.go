package brokerclient

// #include "shim.h"
import "C"

import (
	"context"
	"log/slog"
	"runtime/cgo"
	"strings"
	"sync"
)

// logSink forwards the library's events to a slog.Logger.
type logSink struct{ logger *slog.Logger }

// LevelTrace is the slog level of the library's trace events (below slog.LevelDebug).
const LevelTrace = slog.LevelDebug - 4

var logMu sync.Mutex // serialises SetLogger: the C call replaces the previous sink

// SetLogger routes the library's log events at level or more severe to logger (nil removes
// it; without one nothing is logged). Each event's attributes are the library's structured
// fields plus "target" (the emitting module). The logger's handler runs on library threads
// and must be fast and must not block. The library is process-global: the last call wins.
func SetLogger(logger *slog.Logger, level slog.Level) error {
	logMu.Lock()
	defer logMu.Unlock()
	var cerr *C.bc_error
	if logger == nil {
		if st := C.bcgo_set_log_callback(0, 0, &cerr); st != C.BC_OK {
			return takeError(st, cerr)
		}
		return nil
	}
	h := cgo.NewHandle(&logSink{logger: logger})
	if st := C.bcgo_set_log_callback(cLogLevel(level), C.uintptr_t(h), &cerr); st != C.BC_OK {
		h.Delete() // not taken: free_user_data will not run
		return takeError(st, cerr)
	}
	return nil
}

// cLogLevel maps a slog level onto the C API's 1 error … 5 trace.
func cLogLevel(l slog.Level) C.int32_t {
	switch {
	case l >= slog.LevelError:
		return 1
	case l >= slog.LevelWarn:
		return 2
	case l >= slog.LevelInfo:
		return 3
	case l >= slog.LevelDebug:
		return 4
	default:
		return 5
	}
}

var slogLevels = [...]slog.Level{slog.LevelError, slog.LevelError, slog.LevelWarn, slog.LevelInfo, slog.LevelDebug, LevelTrace}

func (s *logSink) log(level int32, target, message, fields string) {
	lvl := LevelTrace
	if level >= 0 && int(level) < len(slogLevels) {
		lvl = slogLevels[level]
	}
	ctx := context.Background()
	if !s.logger.Enabled(ctx, lvl) {
		return
	}
	attrs := append(parseFields(fields), slog.String("target", target))
	s.logger.LogAttrs(ctx, lvl, message, attrs...)
}

// parseFields splits the library's `key=value key2="quoted \"value\""` text into attributes.
func parseFields(s string) []slog.Attr {
	var attrs []slog.Attr
	for s != "" {
		s = strings.TrimLeft(s, " ")
		eq := strings.IndexByte(s, '=')
		if eq <= 0 {
			break
		}
		key := s[:eq]
		s = s[eq+1:]
		var val string
		if strings.HasPrefix(s, `"`) {
			val, s = unquoteField(s[1:])
		} else {
			end := strings.IndexByte(s, ' ')
			if end < 0 {
				end = len(s)
			}
			val, s = s[:end], s[end:]
		}
		attrs = append(attrs, slog.String(key, val))
	}
	return attrs
}

// unquoteField reads a quoted value after its opening quote; returns it and the rest.
func unquoteField(s string) (string, string) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			return b.String(), s[i+1:]
		case '\\':
			if i+1 < len(s) {
				i++
				switch s[i] {
				case 'n':
					b.WriteByte('\n')
				case 'r':
					b.WriteByte('\r')
				case 't':
					b.WriteByte('\t')
				default:
					b.WriteByte(s[i])
				}
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), ""
}
