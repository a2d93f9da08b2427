package logging

import (
	"errors"
	"strings"
	"testing"

	"go.temporal.io/sdk/log"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func observed() (*SDKLogger, *observer.ObservedLogs) {
	core, logs := observer.New(zapcore.DebugLevel)
	return NewSDKLogger(zap.New(core, zap.AddCaller())), logs
}

func TestAdapterLevelsAndFields(t *testing.T) {
	l, logs := observed()
	l.Debug("d", "k", 1)
	l.Info("i", "WorkflowID", "loan-A1")
	l.Warn("w")
	l.Error("e", "error", errors.New("boom"))
	all := logs.All()
	if len(all) != 4 {
		t.Fatalf("got %d lines", len(all))
	}
	wantLevels := []zapcore.Level{zapcore.DebugLevel, zapcore.InfoLevel, zapcore.WarnLevel, zapcore.ErrorLevel}
	for i, e := range all {
		if e.Level != wantLevels[i] {
			t.Errorf("line %d level %v, want %v", i, e.Level, wantLevels[i])
		}
	}
	if got := all[1].ContextMap()["WorkflowID"]; got != "loan-A1" {
		t.Errorf("WorkflowID field = %v", got)
	}
	if got := all[3].ContextMap()["error"]; got != "boom" {
		t.Errorf("error field = %v", got)
	}
}

func TestAdapterOddKeyvalsAndNonStringKeys(t *testing.T) {
	l, logs := observed()
	l.Info("odd", 42, "x", "dangling")
	m := logs.All()[0].ContextMap()
	if m["42"] != "x" || m["_extra"] != "dangling" {
		t.Errorf("fields = %v", m)
	}
}

func TestAdapterWith(t *testing.T) {
	l, logs := observed()
	child := l.With("BusinessKey", "order-7")
	child.Info("reserved", "sku", "SKU-1")
	l.Info("parent")
	all := logs.All()
	if all[0].ContextMap()["BusinessKey"] != "order-7" || all[0].ContextMap()["sku"] != "SKU-1" {
		t.Errorf("child fields = %v", all[0].ContextMap())
	}
	if _, leaked := all[1].ContextMap()["BusinessKey"]; leaked {
		t.Error("With must not change the parent logger")
	}
}

// helper logs through the adapter one frame below its caller.
func helper(l log.Logger) { l.Info("from helper") }

func TestAdapterCallerIsTheLoggingCode(t *testing.T) {
	l, logs := observed()
	l.Info("direct")
	helper(l.WithCallerSkip(1))
	all := logs.All()
	if f := all[0].Caller.File; !strings.HasSuffix(f, "logging_test.go") {
		t.Errorf("direct caller = %s, want this test file", f)
	}
	// With one more frame skipped, the caller is the test that called helper,
	// not helper itself.
	if all[1].Caller.Line == 0 || all[1].Caller.Function == "" || strings.HasSuffix(all[1].Caller.Function, ".helper") {
		t.Errorf("skipped caller = %+v, want the test function", all[1].Caller)
	}
}

func TestNewRejectsBadInput(t *testing.T) {
	if _, err := New("loud", "json"); err == nil {
		t.Error("bad level accepted")
	}
	if _, err := New("info", "xml"); err == nil {
		t.Error("bad format accepted")
	}
	if z, err := New("warn", "json"); err != nil || z.Core().Enabled(zapcore.InfoLevel) {
		t.Errorf("warn logger: err=%v, info enabled=%v", err, z != nil && z.Core().Enabled(zapcore.InfoLevel))
	}
}
