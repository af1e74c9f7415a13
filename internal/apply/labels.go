package apply

import (
	"context"
	"fmt"
	"slices"

	"github.com/purrvision/purrvision/internal/forge"
)

// Labeler is what SetLabels needs.
type Labeler interface {
	AddLabels(ctx context.Context, ref forge.IssueRef, labels ...string) error
	RemoveLabel(ctx context.Context, ref forge.IssueRef, label string) error
}

// LabelDiff is what to add to and remove from have so it has every label
// of add and none of remove; a label in both is added.
func LabelDiff(have, add, remove []string) (adding, removing []string) {
	for _, l := range add {
		if !slices.Contains(have, l) && !slices.Contains(adding, l) {
			adding = append(adding, l)
		}
	}
	for _, l := range remove {
		if slices.Contains(have, l) && !slices.Contains(add, l) && !slices.Contains(removing, l) {
			removing = append(removing, l)
		}
	}
	return adding, removing
}

// SetLabels adds and removes labels of ref, which has have, writing only
// what differs (LabelDiff).
func SetLabels(ctx context.Context, gh Labeler, ref forge.IssueRef, have, add, remove []string) error {
	adding, removing := LabelDiff(have, add, remove)
	if len(adding) > 0 {
		if err := gh.AddLabels(ctx, ref, adding...); err != nil {
			return fmt.Errorf("labelling %s: %w", ref, err)
		}
	}
	for _, l := range removing {
		if err := gh.RemoveLabel(ctx, ref, l); err != nil {
			return fmt.Errorf("removing the label %s of %s: %w", l, ref, err)
		}
	}
	return nil
}
