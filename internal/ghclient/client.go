// Package ghclient implements internal/forge on GitHub with go-github,
// authenticated as a GitHub App installation or with a token, retrying rate
// limits and server errors, and making repeated reads conditional (ETag). github.apiURL points it at GitHub, GitHub
// Enterprise or a local stand-in.
package ghclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/google/go-github/v60/github"

	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/forge"
)

// Options configure a client.
type Options struct {
	// APIURL is the REST API root, e.g. https://api.github.com/.
	APIURL string
	// Token authenticates as a user or with a fine-grained token.
	Token string
	// App authenticates as a GitHub App installation.
	App *App
	// Transport is the base transport; http.DefaultTransport when nil.
	Transport http.RoundTripper
	// MaxRetries of one call; 6 when 0.
	MaxRetries int
	// MaxWait is the longest rate-limit wait before a call gives up; 1m when 0.
	MaxWait time.Duration
	// Backoff is the first wait before retrying a server error; it doubles
	// each time. 200ms when 0.
	Backoff time.Duration
	// Metrics, when set, observes every call.
	Metrics *Metrics
	// CacheBytes bounds the answers kept for conditional requests; 16 MiB
	// when 0, none kept when negative.
	CacheBytes int
}

// App is a GitHub App installation.
type App struct {
	ID, InstallationID int64
	PrivateKey         []byte
}

// OptionsFromConfig reads the token or App key files the config names.
func OptionsFromConfig(c config.GitHub) (Options, error) {
	o := Options{APIURL: c.APIURL, Token: c.Token}
	if c.TokenFile != "" {
		data, err := os.ReadFile(c.TokenFile)
		if err != nil {
			return Options{}, fmt.Errorf("reading github.tokenFile: %w", err)
		}
		o.Token = strings.TrimSpace(string(data))
	}
	if c.App.ID != 0 {
		key, err := os.ReadFile(c.App.PrivateKeyFile)
		if err != nil {
			return Options{}, fmt.Errorf("reading github.app.privateKeyFile: %w", err)
		}
		o.App = &App{ID: c.App.ID, InstallationID: c.App.InstallationID, PrivateKey: key}
	}
	return o, nil
}

// Client talks to GitHub. It implements the interfaces the service's
// parts declare where they use them (internal/app.GitHub is their sum).
type Client struct {
	gh *github.Client
	// app speaks as the GitHub App itself (its JWT), for GET /app; nil
	// with a token.
	app *github.Client
}

// New builds a client.
func New(o Options) (*Client, error) {
	base := o.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	if o.MaxRetries == 0 {
		o.MaxRetries = 6
	}
	if o.MaxWait == 0 {
		o.MaxWait = time.Minute
	}
	if o.Backoff == 0 {
		o.Backoff = 200 * time.Millisecond
	}
	api, err := url.Parse(o.APIURL)
	if err != nil || api.Scheme == "" || api.Host == "" {
		return nil, fmt.Errorf("github.apiURL %q is not a URL", o.APIURL)
	}
	if !strings.HasSuffix(api.Path, "/") {
		api.Path += "/"
	}
	if o.Metrics != nil {
		base = &metricsTransport{next: base, m: o.Metrics}
	}
	rt := http.RoundTripper(&retryTransport{next: base, maxRetries: o.MaxRetries, maxWait: o.MaxWait, backoff: o.Backoff, now: time.Now})
	if o.CacheBytes == 0 {
		o.CacheBytes = 16 << 20
	}
	if o.CacheBytes > 0 {
		// Under the authentication, which sets the Authorization header
		// the cache keys its entries by.
		rt = newCacheTransport(rt, o.CacheBytes)
	}
	var appGH *github.Client
	if o.App != nil {
		atr, err := ghinstallation.NewAppsTransport(rt, o.App.ID, o.App.PrivateKey)
		if err != nil {
			return nil, fmt.Errorf("reading GitHub App key: %w", err)
		}
		atr.BaseURL = strings.TrimSuffix(api.String(), "/")
		appGH = github.NewClient(&http.Client{Transport: atr, Timeout: 30 * time.Second})
		appGH.BaseURL, appGH.UploadURL = api, api
		itr, err := ghinstallation.New(rt, o.App.ID, o.App.InstallationID, o.App.PrivateKey)
		if err != nil {
			return nil, fmt.Errorf("reading GitHub App key: %w", err)
		}
		itr.BaseURL = strings.TrimSuffix(api.String(), "/")
		rt = itr
	}
	gh := github.NewClient(&http.Client{Transport: rt, Timeout: 30 * time.Second})
	if o.Token != "" && o.App == nil {
		gh = gh.WithAuthToken(o.Token)
	}
	gh.BaseURL = api
	gh.UploadURL = api
	return &Client{gh: gh, app: appGH}, nil
}

// Identity is the login the client acts as on GitHub: for an App, its
// bot, the App's slug followed by [bot] (GET /app, as the App); for a
// token, its user (GET /user).
func (c *Client) Identity(ctx context.Context) (string, error) {
	if c.app != nil {
		app, resp, err := c.app.Apps.Get(ctx, "")
		if err != nil {
			return "", translate("reading the GitHub App the service acts as", resp, err)
		}
		if app.GetSlug() == "" {
			return "", errors.New("reading the GitHub App the service acts as: GitHub gave no slug")
		}
		return app.GetSlug() + "[bot]", nil
	}
	u, resp, err := c.gh.Users.Get(ctx, "")
	if err != nil {
		return "", translate("reading the user the service's token acts as", resp, err)
	}
	return u.GetLogin(), nil
}

// translate maps GitHub's status codes onto forge's errors.
func translate(action string, resp *github.Response, err error) error {
	if err == nil {
		return nil
	}
	// go-github's own rate limit errors: it refuses a call itself while
	// the last answer said the primary limit is spent.
	var primary *github.RateLimitError
	if errors.As(err, &primary) {
		wait := max(time.Until(primary.Rate.Reset.Time)+time.Second, time.Second)
		return fmt.Errorf("%s: %w", action, &forge.RateLimitError{Wait: wait})
	}
	var secondary *github.AbuseRateLimitError
	if errors.As(err, &secondary) {
		wait := secondaryWait
		if secondary.RetryAfter != nil {
			wait = *secondary.RetryAfter
		}
		return fmt.Errorf("%s: %w", action, &forge.RateLimitError{Wait: wait, Secondary: true})
	}
	if resp != nil && resp.StatusCode == http.StatusNotFound {
		return fmt.Errorf("%s: %w", action, forge.ErrNotFound)
	}
	if resp != nil && resp.StatusCode == http.StatusForbidden {
		return fmt.Errorf("%s: %w: %v", action, forge.ErrForbidden, err)
	}
	var ge *github.ErrorResponse
	if errors.As(err, &ge) && ge.Response != nil && ge.Response.StatusCode == http.StatusUnprocessableEntity {
		msg := ge.Message
		for _, e := range ge.Errors {
			msg += " " + e.Message
		}
		if strings.Contains(strings.ToLower(msg), "already exists") {
			return fmt.Errorf("%s: %w: %s", action, forge.ErrAlreadyExists, msg)
		}
	}
	if errors.As(err, &ge) && ge.Response != nil {
		return fmt.Errorf("%s: %w", action, &forge.APIError{Status: ge.Response.StatusCode, Message: ge.Message, Err: err})
	}
	return fmt.Errorf("%s: %w", action, err)
}

// maxPages bounds a listing, so a server whose Link header never ends
// cannot keep a worker: 1,000 pages of 100.
const maxPages = 1000

// maxSearchPages bounds a search for the bot's own object among others'
// (deployments, deployment statuses), which anyone with write access can
// add: past 2,000 of theirs the search stops with an error that says so,
// rather than spend the rate limit on each lookup.
const maxSearchPages = 20

// eachPage calls list for every page of a listing, 100 items a page,
// from the first until GitHub's Link header names no next page. list
// reads the page from lo.
func eachPage(action string, lo *github.ListOptions, list func() (*github.Response, error)) error {
	return pages(action, lo, maxPages, func() (*github.Response, bool, error) {
		resp, err := list()
		return resp, false, err
	})
}

// pages calls list for each page of a listing, 100 items a page, until
// list reports it found what it looks for, GitHub's Link header names no
// next page, or limit pages were read (an error).
func pages(action string, lo *github.ListOptions, limit int, list func() (*github.Response, bool, error)) error {
	lo.PerPage = 100
	for n := 1; ; n++ {
		resp, found, err := list()
		if err := translate(action, resp, err); err != nil {
			return err
		}
		if found || resp.NextPage == 0 {
			return nil
		}
		if n >= limit || resp.NextPage <= lo.Page {
			return fmt.Errorf("%s: the listing goes on past page %d of %d; stopped there", action, max(n, lo.Page), lo.PerPage)
		}
		lo.Page = resp.NextPage
	}
}

func issueFrom(repo forge.Repo, i *github.Issue) *forge.Issue {
	out := &forge.Issue{
		Ref:    forge.IssueRef{Repo: repo, Number: i.GetNumber()},
		Title:  i.GetTitle(),
		Body:   i.GetBody(),
		Author: i.GetUser().GetLogin(),
		Open:   i.GetState() == "open",
		URL:    i.GetHTMLURL(),
	}
	for _, l := range i.Labels {
		out.Labels = append(out.Labels, l.GetName())
	}
	return out
}

func pullFrom(repo forge.Repo, p *github.PullRequest) *forge.PullRequest {
	return &forge.PullRequest{
		Repo:           repo,
		Number:         p.GetNumber(),
		Title:          p.GetTitle(),
		Body:           p.GetBody(),
		Head:           p.GetHead().GetRef(),
		HeadSHA:        p.GetHead().GetSHA(),
		HeadRepo:       forge.Repo{Owner: p.GetHead().GetRepo().GetOwner().GetLogin(), Name: p.GetHead().GetRepo().GetName()},
		Commits:        p.GetCommits(),
		Base:           p.GetBase().GetRef(),
		Open:           p.GetState() == "open",
		Merged:         p.GetMerged(),
		MergeCommitSHA: p.GetMergeCommitSHA(),
		MergedBy:       p.GetMergedBy().GetLogin(),
		Author:         p.GetUser().GetLogin(),
		URL:            p.GetHTMLURL(),
	}
}

// GetIssue reads an issue.
func (c *Client) GetIssue(ctx context.Context, ref forge.IssueRef) (*forge.Issue, error) {
	i, resp, err := c.gh.Issues.Get(ctx, ref.Repo.Owner, ref.Repo.Name, ref.Number)
	if err := translate("getting issue "+ref.String(), resp, err); err != nil {
		return nil, err
	}
	return issueFrom(ref.Repo, i), nil
}

// ListComments lists every comment of an issue, oldest first.
func (c *Client) ListComments(ctx context.Context, ref forge.IssueRef) ([]forge.Comment, error) {
	return c.ListCommentsSince(ctx, ref, time.Time{})
}

// ListCommentsSince lists the comments of an issue updated at or after
// since (all of them when since is zero), with GitHub's since parameter.
func (c *Client) ListCommentsSince(ctx context.Context, ref forge.IssueRef, since time.Time) ([]forge.Comment, error) {
	var out []forge.Comment
	opts := &github.IssueListCommentsOptions{}
	if !since.IsZero() {
		since = since.UTC().Truncate(time.Second)
		opts.Since = &since
	}
	err := eachPage("listing comments of "+ref.String(), &opts.ListOptions, func() (*github.Response, error) {
		cs, resp, err := c.gh.Issues.ListComments(ctx, ref.Repo.Owner, ref.Repo.Name, ref.Number, opts)
		for _, cm := range cs {
			out = append(out, commentFrom(cm))
		}
		return resp, err
	})
	return out, err
}

// ListRepoComments lists the comments of a whole repository, sorted by
// update time, since a time when it is not zero.
func (c *Client) ListRepoComments(ctx context.Context, repo forge.Repo, since time.Time) ([]forge.Comment, error) {
	var out []forge.Comment
	opts := &github.IssueListCommentsOptions{Sort: github.String("updated"), Direction: github.String("asc")}
	if !since.IsZero() {
		opts.Since = &since
	}
	err := eachPage("listing the comments of "+repo.String(), &opts.ListOptions, func() (*github.Response, error) {
		// Number 0 lists the whole repository's comments.
		cs, resp, err := c.gh.Issues.ListComments(ctx, repo.Owner, repo.Name, 0, opts)
		for _, cm := range cs {
			out = append(out, commentFrom(cm))
		}
		return resp, err
	})
	return out, err
}

func commentFrom(cm *github.IssueComment) forge.Comment {
	return forge.Comment{ID: cm.GetID(), Issue: issueNumber(cm.GetIssueURL()), Body: cm.GetBody(), Author: cm.GetUser().GetLogin(),
		URL: cm.GetHTMLURL(), CreatedAt: cm.GetCreatedAt().Time, UpdatedAt: cm.GetUpdatedAt().Time}
}

// issueNumber is the number at the end of a comment's issue_url
// (https://api.github.com/repos/OWNER/REPO/issues/NUMBER); 0 when absent.
func issueNumber(u string) int {
	i := strings.LastIndexByte(u, '/')
	if i < 0 || !strings.HasSuffix(u[:i], "/issues") {
		return 0
	}
	n, err := strconv.Atoi(u[i+1:])
	if err != nil || n <= 0 {
		return 0
	}
	return n
}

// ListOpenIssues lists the open issues with a label; pull requests are skipped.
func (c *Client) ListOpenIssues(ctx context.Context, repo forge.Repo, label string) ([]forge.Issue, error) {
	var out []forge.Issue
	opts := &github.IssueListByRepoOptions{State: "open", Labels: []string{label}}
	err := eachPage("listing issues of "+repo.String(), &opts.ListOptions, func() (*github.Response, error) {
		is, resp, err := c.gh.Issues.ListByRepo(ctx, repo.Owner, repo.Name, opts)
		for _, i := range is {
			if !i.IsPullRequest() {
				out = append(out, *issueFrom(repo, i))
			}
		}
		return resp, err
	})
	return out, err
}

// CreateComment comments on an issue.
func (c *Client) CreateComment(ctx context.Context, ref forge.IssueRef, body string) (forge.Comment, error) {
	cm, resp, err := c.gh.Issues.CreateComment(ctx, ref.Repo.Owner, ref.Repo.Name, ref.Number, &github.IssueComment{Body: &body})
	if err := translate("commenting on "+ref.String(), resp, err); err != nil {
		return forge.Comment{}, err
	}
	return commentFrom(cm), nil
}

// GetComment reads one comment.
func (c *Client) GetComment(ctx context.Context, repo forge.Repo, id int64) (forge.Comment, error) {
	cm, resp, err := c.gh.Issues.GetComment(ctx, repo.Owner, repo.Name, id)
	if err := translate(fmt.Sprintf("reading comment %d in %s", id, repo), resp, err); err != nil {
		return forge.Comment{}, err
	}
	return commentFrom(cm), nil
}

// DeleteComment deletes one comment.
func (c *Client) DeleteComment(ctx context.Context, repo forge.Repo, id int64) error {
	resp, err := c.gh.Issues.DeleteComment(ctx, repo.Owner, repo.Name, id)
	return translate(fmt.Sprintf("deleting comment %d in %s", id, repo), resp, err)
}

// EditComment replaces a comment's body.
func (c *Client) EditComment(ctx context.Context, repo forge.Repo, id int64, body string) error {
	_, resp, err := c.gh.Issues.EditComment(ctx, repo.Owner, repo.Name, id, &github.IssueComment{Body: &body})
	return translate(fmt.Sprintf("editing comment %d in %s", id, repo), resp, err)
}

// CloseIssue closes an issue; closing a closed one is fine.
func (c *Client) CloseIssue(ctx context.Context, ref forge.IssueRef) error {
	_, resp, err := c.gh.Issues.Edit(ctx, ref.Repo.Owner, ref.Repo.Name, ref.Number, &github.IssueRequest{State: github.String("closed")})
	return translate("closing "+ref.String(), resp, err)
}

// React adds a reaction (such as "-1" or "eyes") to an issue comment; GitHub
// keeps one of each per person, so it is safe to repeat.
func (c *Client) React(ctx context.Context, repo forge.Repo, commentID int64, content string) error {
	_, resp, err := c.gh.Reactions.CreateIssueCommentReaction(ctx, repo.Owner, repo.Name, commentID, content)
	return translate(fmt.Sprintf("reacting to comment %d in %s", commentID, repo), resp, err)
}

// AddLabels adds labels to an issue or pull request.
func (c *Client) AddLabels(ctx context.Context, ref forge.IssueRef, labels ...string) error {
	_, resp, err := c.gh.Issues.AddLabelsToIssue(ctx, ref.Repo.Owner, ref.Repo.Name, ref.Number, labels)
	return translate("labelling "+ref.String(), resp, err)
}

// RemoveLabel removes a label; a label that is not there is fine.
func (c *Client) RemoveLabel(ctx context.Context, ref forge.IssueRef, label string) error {
	// go-github v60 puts the label into the path unescaped; our labels
	// contain '/', which must reach GitHub as %2F.
	resp, err := c.gh.Issues.RemoveLabelForIssue(ctx, ref.Repo.Owner, ref.Repo.Name, ref.Number, url.PathEscape(label))
	if err := translate("removing label "+label+" from "+ref.String(), resp, err); err != nil && !errors.Is(err, forge.ErrNotFound) {
		return err
	}
	return nil
}

// FindOpenPull is the open pull request of a head branch; nil when there is none.
func (c *Client) FindOpenPull(ctx context.Context, repo forge.Repo, head string) (*forge.PullRequest, error) {
	var found *forge.PullRequest
	opts := &github.PullRequestListOptions{State: "open", Head: repo.Owner + ":" + head}
	err := eachPage("listing pull requests of "+repo.String(), &opts.ListOptions, func() (*github.Response, error) {
		prs, resp, err := c.gh.PullRequests.List(ctx, repo.Owner, repo.Name, opts)
		for _, p := range prs {
			if found == nil && p.GetHead().GetRef() == head {
				found = pullFrom(repo, p)
			}
		}
		return resp, err
	})
	if err != nil {
		return nil, err
	}
	return found, nil
}

// CreatePull opens a pull request.
func (c *Client) CreatePull(ctx context.Context, repo forge.Repo, pr forge.NewPullRequest) (*forge.PullRequest, error) {
	p, resp, err := c.gh.PullRequests.Create(ctx, repo.Owner, repo.Name, &github.NewPullRequest{Title: &pr.Title, Body: &pr.Body, Head: &pr.Head, Base: &pr.Base})
	if err := translate("opening pull request for "+pr.Head, resp, err); err != nil {
		return nil, err
	}
	return pullFrom(repo, p), nil
}

// EditPull replaces a pull request's title and body.
func (c *Client) EditPull(ctx context.Context, repo forge.Repo, number int, title, body string) error {
	_, resp, err := c.gh.PullRequests.Edit(ctx, repo.Owner, repo.Name, number, &github.PullRequest{Title: &title, Body: &body})
	return translate(fmt.Sprintf("editing pull request %s#%d", repo, number), resp, err)
}

// ClosePull closes a pull request without merging it.
func (c *Client) ClosePull(ctx context.Context, repo forge.Repo, number int) error {
	_, resp, err := c.gh.PullRequests.Edit(ctx, repo.Owner, repo.Name, number, &github.PullRequest{State: github.String("closed")})
	return translate(fmt.Sprintf("closing pull request %s#%d", repo, number), resp, err)
}

// GetPull reads a pull request.
func (c *Client) GetPull(ctx context.Context, repo forge.Repo, number int) (*forge.PullRequest, error) {
	p, resp, err := c.gh.PullRequests.Get(ctx, repo.Owner, repo.Name, number)
	if err := translate(fmt.Sprintf("getting pull request %s#%d", repo, number), resp, err); err != nil {
		return nil, err
	}
	return pullFrom(repo, p), nil
}

// ListPullFiles lists the paths a pull request changes.
func (c *Client) ListPullFiles(ctx context.Context, repo forge.Repo, number int) ([]string, error) {
	var out []string
	opts := &github.ListOptions{}
	err := eachPage(fmt.Sprintf("listing files of %s#%d", repo, number), opts, func() (*github.Response, error) {
		fs, resp, err := c.gh.PullRequests.ListFiles(ctx, repo.Owner, repo.Name, number, opts)
		for _, f := range fs {
			out = append(out, f.GetFilename())
		}
		return resp, err
	})
	return out, err
}

// Approvers are the reviewers whose last review approves.
func (c *Client) Approvers(ctx context.Context, repo forge.Repo, number int) ([]string, error) {
	latest := map[string]string{}
	var order []string
	opts := &github.ListOptions{}
	err := eachPage(fmt.Sprintf("listing reviews of %s#%d", repo, number), opts, func() (*github.Response, error) {
		rs, resp, err := c.gh.PullRequests.ListReviews(ctx, repo.Owner, repo.Name, number, opts)
		for _, r := range rs {
			login := r.GetUser().GetLogin()
			if _, seen := latest[login]; !seen {
				order = append(order, login)
			}
			if s := r.GetState(); s == "APPROVED" || s == "CHANGES_REQUESTED" || s == "DISMISSED" {
				latest[login] = s
			}
		}
		return resp, err
	})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, l := range order {
		if latest[l] == "APPROVED" {
			out = append(out, l)
		}
	}
	return out, nil
}

// Permission is a user's permission on a repository: none for a non-collaborator.
func (c *Client) Permission(ctx context.Context, repo forge.Repo, login string) (string, error) {
	p, resp, err := c.gh.Repositories.GetPermissionLevel(ctx, repo.Owner, repo.Name, login)
	if err := translate("reading permission of "+login+" on "+repo.String(), resp, err); err != nil {
		if errors.Is(err, forge.ErrNotFound) {
			return forge.PermissionNone, nil
		}
		return "", err
	}
	// GitHub reports maintain as write and triage as read here.
	return p.GetPermission(), nil
}

// IsTeamMember reports whether a user is an active member of a team.
func (c *Client) IsTeamMember(ctx context.Context, org, team, login string) (bool, error) {
	m, resp, err := c.gh.Teams.GetTeamMembershipBySlug(ctx, org, team, login)
	if err := translate("reading membership of "+login+" in "+org+"/"+team, resp, err); err != nil {
		if errors.Is(err, forge.ErrNotFound) {
			return false, nil
		}
		return false, err
	}
	return m.GetState() == "active", nil
}

// SSHKeys lists a user's public SSH keys.
func (c *Client) SSHKeys(ctx context.Context, login string) ([]string, error) {
	var out []string
	opts := &github.ListOptions{}
	err := eachPage("listing SSH keys of "+login, opts, func() (*github.Response, error) {
		keys, resp, err := c.gh.Users.ListKeys(ctx, login, opts)
		for _, k := range keys {
			out = append(out, k.GetKey())
		}
		return resp, err
	})
	return out, err
}

// SetStatus sets a commit status.
func (c *Client) SetStatus(ctx context.Context, repo forge.Repo, st forge.Status) error {
	_, resp, err := c.gh.Repositories.CreateStatus(ctx, repo.Owner, repo.Name, st.SHA, &github.RepoStatus{
		State: &st.State, Context: &st.Context, Description: &st.Description, TargetURL: nilIfEmpty(st.TargetURL),
	})
	return translate("setting status "+st.Context+" on "+st.SHA, resp, err)
}

// PullCommitAuthors returns the login of each commit's author, as GitHub
// links it; "" when it links none.
func (c *Client) PullCommitAuthors(ctx context.Context, repo forge.Repo, number int) ([]string, error) {
	var out []string
	opts := &github.ListOptions{}
	err := eachPage(fmt.Sprintf("listing commits of %s#%d", repo, number), opts, func() (*github.Response, error) {
		cs, resp, err := c.gh.PullRequests.ListCommits(ctx, repo.Owner, repo.Name, number, opts)
		for _, rc := range cs {
			out = append(out, rc.GetAuthor().GetLogin())
		}
		return resp, err
	})
	return out, err
}

// ListStatuses returns every status of a commit, newest first, as GitHub
// lists them.
func (c *Client) ListStatuses(ctx context.Context, repo forge.Repo, sha string) ([]forge.Status, error) {
	var out []forge.Status
	opts := &github.ListOptions{}
	err := eachPage(fmt.Sprintf("listing statuses of %s in %s", sha, repo), opts, func() (*github.Response, error) {
		sts, resp, err := c.gh.Repositories.ListStatuses(ctx, repo.Owner, repo.Name, sha, opts)
		for _, s := range sts {
			out = append(out, forge.Status{SHA: sha, Context: s.GetContext(), State: s.GetState(), Description: s.GetDescription(),
				TargetURL: s.GetTargetURL(), Creator: s.GetCreator().GetLogin()})
		}
		return resp, err
	})
	return out, err
}

// ListCheckRuns lists every check run of sha named
// name, whichever App created it, newest first.
func (c *Client) ListCheckRuns(ctx context.Context, repo forge.Repo, sha, name string) ([]forge.CheckRun, error) {
	var out []forge.CheckRun
	opts := &github.ListCheckRunsOptions{CheckName: &name, Filter: github.String("all")}
	err := eachPage(fmt.Sprintf("listing check runs %s of %s in %s", name, sha, repo), &opts.ListOptions, func() (*github.Response, error) {
		res, resp, err := c.gh.Checks.ListCheckRunsForRef(ctx, repo.Owner, repo.Name, sha, opts)
		if res != nil {
			for _, r := range res.CheckRuns {
				out = append(out, checkRunFrom(r))
			}
		}
		return resp, err
	})
	sort.SliceStable(out, func(i, j int) bool { return out[i].ID > out[j].ID })
	return out, err
}

func checkRunFrom(r *github.CheckRun) forge.CheckRun {
	app := ""
	if slug := r.GetApp().GetSlug(); slug != "" {
		app = slug + "[bot]"
	}
	return forge.CheckRun{
		ID: r.GetID(), Name: r.GetName(), HeadSHA: r.GetHeadSHA(), Conclusion: r.GetConclusion(), DetailsURL: r.GetDetailsURL(),
		Output: forge.CheckOutput{Title: r.GetOutput().GetTitle(), Summary: r.GetOutput().GetSummary(), Text: r.GetOutput().GetText()},
		App:    app,
	}
}

func checkOutput(o forge.CheckOutput) *github.CheckRunOutput {
	return &github.CheckRunOutput{Title: &o.Title, Summary: &o.Summary, Text: nilIfEmpty(o.Text)}
}

// CreateCheckRun creates a check run, completed,
// with its conclusion and output.
func (c *Client) CreateCheckRun(ctx context.Context, repo forge.Repo, run forge.CheckRun) (forge.CheckRun, error) {
	r, resp, err := c.gh.Checks.CreateCheckRun(ctx, repo.Owner, repo.Name, github.CreateCheckRunOptions{
		Name: run.Name, HeadSHA: run.HeadSHA, DetailsURL: nilIfEmpty(run.DetailsURL), Status: github.String("completed"),
		Conclusion: &run.Conclusion, Output: checkOutput(run.Output),
	})
	if err := translate(fmt.Sprintf("creating check run %s on %s", run.Name, run.HeadSHA), resp, err); err != nil {
		return forge.CheckRun{}, err
	}
	return checkRunFrom(r), nil
}

// UpdateCheckRun replaces a check run's conclusion and output.
func (c *Client) UpdateCheckRun(ctx context.Context, repo forge.Repo, id int64, run forge.CheckRun) error {
	_, resp, err := c.gh.Checks.UpdateCheckRun(ctx, repo.Owner, repo.Name, id, github.UpdateCheckRunOptions{
		Name: run.Name, DetailsURL: nilIfEmpty(run.DetailsURL), Status: github.String("completed"),
		Conclusion: &run.Conclusion, Output: checkOutput(run.Output),
	})
	return translate(fmt.Sprintf("updating check run %d (%s on %s)", id, run.Name, run.HeadSHA), resp, err)
}

func nilIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// EnsureDeployment is the newest deployment of sha to environment that
// by created, created when there is none. Every page is read: others'
// deployments of the same commit cannot hide by's and make a second one.
func (c *Client) EnsureDeployment(ctx context.Context, repo forge.Repo, environment, sha, description, by string) (forge.Deployment, error) {
	d, err := c.findDeployment(ctx, repo, &github.DeploymentsListOptions{SHA: sha, Environment: environment}, by)
	if err != nil || d != nil {
		return deref(d), err
	}
	autoMerge := false
	created, resp, err := c.gh.Repositories.CreateDeployment(ctx, repo.Owner, repo.Name, &github.DeploymentRequest{
		Ref: &sha, Environment: &environment, Description: &description, AutoMerge: &autoMerge,
		RequiredContexts: &[]string{}, TransientEnvironment: github.Bool(false),
	})
	if err := translate("creating deployment of "+sha+" to "+environment, resp, err); err != nil {
		return forge.Deployment{}, err
	}
	return deploymentOf(created), nil
}

func deref(d *forge.Deployment) forge.Deployment {
	if d == nil {
		return forge.Deployment{}
	}
	return *d
}

// LatestDeployment is the newest deployment of environment that by
// created; nil when there is none. Anyone with write access can create
// deployments; only by's count, and however many of theirs are newer,
// the listing is read page by page until by's (maxSearchPages).
func (c *Client) LatestDeployment(ctx context.Context, repo forge.Repo, environment, by string) (*forge.Deployment, error) {
	return c.findDeployment(ctx, repo, &github.DeploymentsListOptions{Environment: environment}, by)
}

// findDeployment is the newest deployment opts lists that by created.
func (c *Client) findDeployment(ctx context.Context, repo forge.Repo, opts *github.DeploymentsListOptions, by string) (*forge.Deployment, error) {
	var found *forge.Deployment
	err := pages("listing deployments of "+opts.Environment, &opts.ListOptions, maxSearchPages, func() (*github.Response, bool, error) {
		ds, resp, err := c.gh.Repositories.ListDeployments(ctx, repo.Owner, repo.Name, opts)
		for _, d := range ds {
			if d.GetCreator().GetLogin() == by {
				fd := deploymentOf(d)
				found = &fd
				break
			}
		}
		return resp, found != nil, err
	})
	if err != nil {
		return nil, err
	}
	return found, nil
}

func deploymentOf(d *github.Deployment) forge.Deployment {
	return forge.Deployment{ID: d.GetID(), SHA: d.GetSHA(), Environment: d.GetEnvironment(), Creator: d.GetCreator().GetLogin()}
}

// LatestDeploymentStatus is the newest status of a deployment that by
// posted (the bot: the deployments it reads are its own, found by
// LatestDeployment or EnsureDeployment); nil when there is none. Anyone
// with write access can post statuses on any deployment: theirs are passed
// over, however many, page by page until by's (maxSearchPages).
func (c *Client) LatestDeploymentStatus(ctx context.Context, repo forge.Repo, id int64, by string) (*forge.DeploymentStatus, error) {
	var found *forge.DeploymentStatus
	opts := &github.ListOptions{}
	err := pages(fmt.Sprintf("listing statuses of deployment %d", id), opts, maxSearchPages, func() (*github.Response, bool, error) {
		sts, resp, err := c.gh.Repositories.ListDeploymentStatuses(ctx, repo.Owner, repo.Name, id, opts)
		for _, st := range sts {
			if st.GetCreator().GetLogin() == by {
				found = &forge.DeploymentStatus{State: st.GetState(), Description: st.GetDescription(), EnvironmentURL: st.GetEnvironmentURL(),
					LogURL: st.GetLogURL(), Creator: st.GetCreator().GetLogin()}
				break
			}
		}
		return resp, found != nil, err
	})
	if err != nil {
		return nil, err
	}
	return found, nil
}

// CreateDeploymentStatus adds a status to a deployment.
func (c *Client) CreateDeploymentStatus(ctx context.Context, repo forge.Repo, id int64, st forge.DeploymentStatus) error {
	_, resp, err := c.gh.Repositories.CreateDeploymentStatus(ctx, repo.Owner, repo.Name, id, &github.DeploymentStatusRequest{
		State: &st.State, Description: &st.Description, EnvironmentURL: nilIfEmpty(st.EnvironmentURL), LogURL: nilIfEmpty(st.LogURL),
		AutoInactive: github.Bool(false),
	})
	return translate(fmt.Sprintf("setting status %s of deployment %d", st.State, id), resp, err)
}
