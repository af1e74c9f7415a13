// Package logctx carries the structured logger in the context, the way
// controller-runtime's log.FromContext does for logr: callers add their
// key/value pairs with With and pass the context on, so no struct keeps a
// logger field with a nil default of its own.
package logctx

import (
	"context"
	"log/slog"
)

type key struct{}

var discard = slog.New(slog.DiscardHandler)

// Into returns ctx carrying l.
func Into(ctx context.Context, l *slog.Logger) context.Context {
	if l == nil {
		return ctx
	}
	return context.WithValue(ctx, key{}, l)
}

// From is the logger in ctx, or one that discards everything.
func From(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(key{}).(*slog.Logger); ok {
		return l
	}
	return discard
}

// With returns ctx whose logger carries the extra key/value pairs, and
// that logger.
func With(ctx context.Context, args ...any) (context.Context, *slog.Logger) {
	l := From(ctx).With(args...)
	return Into(ctx, l), l
}
