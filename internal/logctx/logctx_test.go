package logctx

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

func TestFrom_DiscardsWithoutLogger(t *testing.T) {
	From(context.Background()).Info("nothing to see") // must not panic
	if From(context.Background()).Enabled(context.Background(), slog.LevelError) {
		t.Fatal("the default logger should discard everything")
	}
}

func TestWith_AddsPairs(t *testing.T) {
	var buf bytes.Buffer
	ctx := Into(context.Background(), slog.New(slog.NewTextHandler(&buf, nil)))
	ctx, _ = With(ctx, "store", "cat-cafe")
	From(ctx).Info("pushed", "commit", "abc")
	if got := buf.String(); !strings.Contains(got, "store=cat-cafe") || !strings.Contains(got, "commit=abc") {
		t.Fatalf("log line %q lacks the pairs", got)
	}
}
