package provision

import (
	"context"
	"regexp"
	"strconv"
	"strings"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/storestatus"
)

// thread is an issue's comments, with Purrvision's own picked out.
type thread struct {
	ref      forge.IssueRef
	all      []forge.Comment
	ownByKey map[string]forge.Comment
	replies  map[int64]bool // command comment IDs already answered
}

var (
	credentialsRE = regexp.MustCompile(regexp.QuoteMeta(v1alpha1.MarkerCredentials) + ` id=([0-9a-f]+) -->`)
	replyRE       = regexp.MustCompile(regexp.QuoteMeta(v1alpha1.MarkerReply) + ` comment=([0-9]+) -->`)
)

func (p *Provisioner) readThread(ctx context.Context, ref forge.IssueRef) (*thread, error) {
	cs, err := p.gh.ListComments(ctx, ref)
	if err != nil {
		return nil, err
	}
	t := &thread{ref: ref, all: cs, ownByKey: map[string]forge.Comment{}, replies: map[int64]bool{}}
	for _, c := range cs {
		if c.Author != p.bot {
			continue
		}
		for _, m := range []string{v1alpha1.MarkerValidation, v1alpha1.MarkerStatus, v1alpha1.MarkerCredentials} {
			if strings.Contains(c.Body, m) {
				if _, seen := t.ownByKey[m]; !seen {
					t.ownByKey[m] = c
				}
			}
		}
		if m := replyRE.FindStringSubmatch(c.Body); m != nil {
			if id, err := strconv.ParseInt(m[1], 10, 64); err == nil {
				t.replies[id] = true
			}
		}
	}
	return t, nil
}

// upsert makes Purrvision's comment with marker read body: it edits the
// existing one, or posts it.
func (p *Provisioner) upsert(ctx context.Context, t *thread, marker, body string) error {
	if c, ok := t.ownByKey[marker]; ok {
		if c.Body == body {
			return nil
		}
		if err := p.gh.EditComment(ctx, t.ref.Repo, c.ID, body); err != nil {
			return err
		}
		c.Body = body
		t.ownByKey[marker] = c
		return nil
	}
	c, err := p.gh.CreateComment(ctx, t.ref, body)
	if err != nil {
		return err
	}
	t.ownByKey[marker] = c
	return nil
}

// credentialsID is the id of the credentials last delivered on the thread.
func (t *thread) credentialsID() string {
	if c, ok := t.ownByKey[v1alpha1.MarkerCredentials]; ok {
		if m := credentialsRE.FindStringSubmatch(c.Body); m != nil {
			return m[1]
		}
	}
	return ""
}

// state reads the State recorded in the status comment.
func (t *thread) state() storestatus.State {
	if c, ok := t.ownByKey[v1alpha1.MarkerStatus]; ok {
		return storestatus.Parse(c.Body)
	}
	return storestatus.State{}
}

func (p *Provisioner) hasLabel(labels []string, l string) bool {
	for _, x := range labels {
		if x == l {
			return true
		}
	}
	return false
}

// setLabels adds and removes labels, touching only what differs.
func (p *Provisioner) setLabels(ctx context.Context, ref forge.IssueRef, have []string, ch LabelChange) error {
	var missing []string
	for _, l := range ch.Add {
		if !p.hasLabel(have, l) {
			missing = append(missing, l)
		}
	}
	if len(missing) > 0 {
		if err := p.gh.AddLabels(ctx, ref, missing...); err != nil {
			return err
		}
	}
	for _, l := range ch.Remove {
		if p.hasLabel(have, l) {
			if err := p.gh.RemoveLabel(ctx, ref, l); err != nil {
				return err
			}
		}
	}
	return nil
}
