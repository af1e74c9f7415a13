package forge

import "context"

// CheckRunWriter is what WriteCheckRun needs of a client.
type CheckRunWriter interface {
	ListCheckRuns(ctx context.Context, repo Repo, sha, name string) ([]CheckRun, error)
	CreateCheckRun(ctx context.Context, repo Repo, run CheckRun) (CheckRun, error)
	UpdateCheckRun(ctx context.Context, repo Repo, id int64, run CheckRun) error
}

// WriteCheckRun makes app's check run of want's name on want's commit say
// what want says: found and left as it is, updated, or created. A run of
// the same name by another App is never taken for app's (GitHub lets only
// the App that created a run change it), so a redelivery changes nothing.
func WriteCheckRun(ctx context.Context, gh CheckRunWriter, repo Repo, app string, want CheckRun) error {
	runs, err := gh.ListCheckRuns(ctx, repo, want.HeadSHA, want.Name)
	if err != nil {
		return err
	}
	for _, r := range runs { // newest first
		if r.App != app || r.Name != want.Name || r.HeadSHA != want.HeadSHA {
			continue
		}
		if r.Conclusion == want.Conclusion && r.Output == want.Output && r.DetailsURL == want.DetailsURL {
			return nil
		}
		return gh.UpdateCheckRun(ctx, repo, r.ID, want)
	}
	_, err = gh.CreateCheckRun(ctx, repo, want)
	return err
}
