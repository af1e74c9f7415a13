package testutil

import (
	"context"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// Eventually polls cond, the condition named what, until it holds, and
// fails the test when 30 seconds pass first.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	holds := func(context.Context) (bool, error) { return cond(), nil }
	if err := wait.PollUntilContextTimeout(context.Background(), 10*time.Millisecond, 30*time.Second, true, holds); err != nil {
		t.Fatalf("timed out waiting for: %s", what)
	}
}
