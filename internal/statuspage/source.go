package statuspage

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/storestatus"
	"github.com/purrvision/purrvision/renderer"
	"github.com/purrvision/purrvision/tenants"
)

// RepoSource lists the stores on the tenants repo's branch, with what
// Purrvision recorded on each store's issue: the same data as `purrvision
// audit`. It makes two GitHub calls per store; the Handler caches it.
type RepoSource struct {
	Config *config.Config
	Repo   *tenants.Repo
	GitHub forge.IssueReader
	Bot    string
}

// Stores implements Source.
func (s *RepoSource) Stores(ctx context.Context) ([]Store, error) {
	if err := s.Repo.Fetch(ctx); err != nil {
		return nil, err
	}
	head, ok, err := s.Repo.Head(s.Config.TenantsRepo.Branch)
	if err != nil || !ok {
		return nil, err
	}
	snap, err := s.Repo.Snapshot(head)
	if err != nil {
		return nil, err
	}
	var out []Store
	for _, cl := range s.Config.ClusterNames() {
		dir := path.Join(s.Config.TenantsRepo.Path, cl)
		names, err := snap.ReadDir(dir)
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			data, ok, err := snap.ReadFile(path.Join(dir, n, renderer.FileRequest))
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
			req, err := v1alpha1.Parse(data)
			if err != nil {
				return nil, fmt.Errorf("reading the request copy of %s: %w", n, err)
			}
			st := Store{Name: req.Metadata.Name, Cluster: cl, Plan: req.Spec.Plan, Requester: req.Spec.Owner,
				URL: "https://" + renderer.Host(s.Config, req.Metadata.Name) + "/", Phase: "unknown"}
			if err := s.fromIssue(ctx, &st, req.Metadata.Annotations[v1alpha1.AnnotationIssue]); err != nil {
				return nil, err
			}
			out = append(out, st)
		}
	}
	return out, nil
}

func (s *RepoSource) fromIssue(ctx context.Context, st *Store, issue string) error {
	if issue == "" || s.GitHub == nil {
		return nil
	}
	ref, err := forge.ParseIssueRef(issue)
	if err != nil {
		return nil
	}
	st.Issue = ref.String()
	is, err := s.GitHub.GetIssue(ctx, ref)
	if err != nil {
		return err
	}
	st.IssueURL = is.URL
	comments, err := s.GitHub.ListComments(ctx, ref)
	if err != nil {
		return err
	}
	for _, c := range comments {
		if c.Author == s.Bot && strings.Contains(c.Body, storestatus.Marker) {
			state := storestatus.Parse(c.Body)
			if state.Phase != "" {
				st.Phase = state.Phase
			}
			st.PullURL = state.PullURL
			st.Timeline = state.Timeline
			break
		}
	}
	return nil
}
