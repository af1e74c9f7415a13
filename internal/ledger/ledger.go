// Package ledger is where Purrvision records what it must find again on
// GitHub: the IDs of its own comments on each issue (the status comment,
// the validation comment, the credentials comment) and the commands it has
// answered. The ledger is a branch of the tenants repo that only the bot
// writes, one small JSON file per issue, updated compare-and-swap.
//
// With it, the bot finds its status comment by the ID it recorded, never by
// searching a thread for a marker, and handling a comment costs the same
// few API calls however long the thread is.
package ledger

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/storestatus"
	"github.com/purrvision/purrvision/tenants"
)

// Kinds of the bot's own comments, one of each per issue.
const (
	KindStatus      = "status"
	KindValidation  = "validation"
	KindCredentials = "credentials"
	// KindRollout is the table of waves on a rollout's tracking issue.
	KindRollout = "rollout"
)

// Markers is the marker each kind's comment opens with.
var Markers = map[string]string{
	KindStatus:      v1alpha1.MarkerStatus,
	KindValidation:  v1alpha1.MarkerValidation,
	KindCredentials: v1alpha1.MarkerCredentials,
	KindRollout:     v1alpha1.MarkerRollout,
}

// KeepAnswered bounds the command IDs a Record lists; older ones are
// covered by AnsweredThrough.
const KeepAnswered = 100

// Record is what the ledger holds of one issue or pull request.
type Record struct {
	// Comments are the IDs of the bot's own comments, by kind.
	Comments map[string]int64 `json:"comments,omitempty"`
	// Answered are the newest command comments answered; every command
	// with an ID at most AnsweredThrough is answered too.
	Answered        []int64 `json:"answered,omitempty"`
	AnsweredThrough int64   `json:"answeredThrough,omitempty"`
	// Denied are the people told once that they may not run commands here.
	Denied []string `json:"denied,omitempty"`
	// Pending are the posts begun and not known to be done, by key (a
	// kind, or the reply to a command), each with the nonce its comment
	// carries: a post that failed may still have reached GitHub.
	Pending map[string]string `json:"pending,omitempty"`
	// Credentials are the generations of credentials sealed to the owner.
	Credentials *Credentials `json:"credentials,omitempty"`
	// Status is what the bot records of the issue's store: the truth the
	// status comment only shows. People with write access can edit any
	// comment, so nothing is read back from one.
	Status *storestatus.State `json:"status,omitempty"`
	// Rollout is the state of the rollout the issue tracks, as
	// internal/fleet writes it (a rollout.State).
	Rollout json.RawMessage `json:"rollout,omitempty"`
}

// Credentials are what the bot sealed to a store's owner: the ciphertexts
// (age, to the owner's SSH keys; never plaintext) of the generation in use
// and of the one a pull request will bring, so the credentials comment can
// show both until the merge.
type Credentials struct {
	// Delivered is the generation last sealed to the owner.
	Delivered string `json:"delivered,omitempty"`
	// Live is the generation the base branch holds: merged.
	Live string `json:"live,omitempty"`
	// Sealed holds the ciphertext of Live and of Delivered, by generation.
	Sealed map[string]string `json:"sealed,omitempty"`
}

// Seal records a new generation sealed to the owner ("" armored: none
// could be, the owner has no key), keeping only it and the live one.
func (r *Record) Seal(id, armored string) {
	c := r.creds()
	c.Delivered = id
	c.Sealed[id] = armored
	c.prune()
}

// Forget drops the delivered generation before it was merged, so the next
// render seals a new one.
func (r *Record) Forget() {
	c := r.creds()
	c.Delivered = ""
	c.prune()
}

// Merged records that the delivered generation is on the base branch now.
func (r *Record) Merged() {
	c := r.creds()
	if c.Delivered != "" {
		c.Live = c.Delivered
	}
	c.prune()
}

func (r *Record) creds() *Credentials {
	if r.Credentials == nil {
		r.Credentials = &Credentials{}
	}
	if r.Credentials.Sealed == nil {
		r.Credentials.Sealed = map[string]string{}
	}
	return r.Credentials
}

func (c *Credentials) prune() {
	for id := range c.Sealed {
		if id != c.Live && id != c.Delivered {
			delete(c.Sealed, id)
		}
	}
}

// State is the recorded state of the issue's store; a fresh one when none.
func (r *Record) State() storestatus.State {
	if r.Status == nil {
		return storestatus.State{}
	}
	return *r.Status
}

// IsAnswered reports whether command comment id was answered.
func (r *Record) IsAnswered(id int64) bool {
	// Answer moves the watermark only below the IDs it keeps listing; a
	// record edited to push it further answers nothing more.
	through := r.AnsweredThrough
	if len(r.Answered) < KeepAnswered {
		through = 0
	} else if through >= r.Answered[0] {
		through = r.Answered[0] - 1
	}
	return id <= through || slices.Contains(r.Answered, id)
}

// Answer records command comment id as answered, keeping the list bounded.
func (r *Record) Answer(id int64) {
	if r.IsAnswered(id) {
		return
	}
	r.Answered = append(r.Answered, id)
	slices.Sort(r.Answered)
	if n := len(r.Answered) - KeepAnswered; n > 0 {
		r.AnsweredThrough = max(r.AnsweredThrough, r.Answered[n-1])
		r.Answered = slices.Clone(r.Answered[n:])
	}
}

// IsDenied reports whether login was already told it may not run commands.
func (r *Record) IsDenied(login string) bool { return slices.Contains(r.Denied, login) }

// Deny records that login was told.
func (r *Record) Deny(login string) {
	if !r.IsDenied(login) {
		r.Denied = append(r.Denied, login)
	}
}

// Ledger reads and writes records on the ledger branch of a tenants repo.
type Ledger struct {
	repo *tenants.Repo
}

// New returns the ledger kept in repo, on branch v1alpha1.LedgerBranch.
func New(repo *tenants.Repo) *Ledger { return &Ledger{repo: repo} }

var nameRE = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// File is where the record of an issue lives on the ledger branch.
func File(ref forge.IssueRef) (string, error) {
	if !nameRE.MatchString(ref.Repo.Owner) || !nameRE.MatchString(ref.Repo.Name) || ref.Number <= 0 ||
		ref.Repo.Owner == "." || ref.Repo.Owner == ".." || ref.Repo.Name == "." || ref.Repo.Name == ".." {
		return "", fmt.Errorf("ledger: %q is not an issue of a GitHub repository", ref.String())
	}
	return path.Join("issues", ref.Repo.Owner, ref.Repo.Name, strconv.Itoa(ref.Number)+".json"), nil
}

// Read returns the record of ref and whether there is one, from the
// ledger as last fetched; fetch asks the remote first.
func (l *Ledger) Read(ctx context.Context, ref forge.IssueRef, fetch bool) (Record, bool, error) {
	file, err := File(ref)
	if err != nil {
		return Record{}, false, err
	}
	if fetch {
		if err := l.repo.Fetch(ctx); err != nil {
			return Record{}, false, fmt.Errorf("reading the ledger of %s: %w", ref, err)
		}
	}
	head, ok, err := l.repo.Head(v1alpha1.LedgerBranch)
	if err != nil || !ok {
		return Record{}, false, err
	}
	snap, err := l.repo.Snapshot(head)
	if err != nil {
		return Record{}, false, fmt.Errorf("reading the ledger of %s: %w", ref, err)
	}
	return read(snap, file)
}

// Each calls f with every issue record on the ledger branch, as last
// fetched, whose file holds want (a cheap filter before decoding: "" for
// all).
func (l *Ledger) Each(want string, f func(ref string, rec Record) error) error {
	head, ok, err := l.repo.Head(v1alpha1.LedgerBranch)
	if err != nil || !ok {
		return err
	}
	snap, err := l.repo.Snapshot(head)
	if err != nil {
		return fmt.Errorf("reading the ledger: %w", err)
	}
	owners, err := snap.ReadDir("issues")
	if err != nil {
		return err
	}
	for _, owner := range owners {
		repos, err := snap.ReadDir(path.Join("issues", owner))
		if err != nil {
			return err
		}
		for _, repo := range repos {
			files, err := snap.ReadDir(path.Join("issues", owner, repo))
			if err != nil {
				return err
			}
			for _, file := range files {
				n, isRecord := strings.CutSuffix(file, ".json")
				if !isRecord {
					continue
				}
				p := path.Join("issues", owner, repo, file)
				data, ok, err := snap.ReadFile(p)
				if err != nil || !ok || !bytes.Contains(data, []byte(want)) {
					if err != nil {
						return err
					}
					continue
				}
				var rec Record
				if err := json.Unmarshal(data, &rec); err != nil {
					return fmt.Errorf("reading ledger file %s: %w", p, err)
				}
				if err := f(owner+"/"+repo+"#"+n, rec); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func read(snap *tenants.Snapshot, file string) (Record, bool, error) {
	data, ok, err := snap.ReadFile(file)
	if err != nil || !ok {
		return Record{}, false, err
	}
	var rec Record
	if err := json.Unmarshal(data, &rec); err != nil {
		return Record{}, false, fmt.Errorf("reading ledger file %s: %w", file, err)
	}
	return rec, true, nil
}

// ErrNoLedger is returned when the ledger branch is missing: restore it
// from a clone, or start it again (docs/operations.md).
var ErrNoLedger = errors.New("the ledger branch " + v1alpha1.LedgerBranch + " is missing")

// ErrUnchanged, returned by an edit, leaves the record as it is.
var ErrUnchanged = errors.New("ledger: unchanged")

// Update applies edit to the freshest record of ref (a zero Record when
// there is none) and commits it, compare-and-swap: when the ledger moved
// meanwhile, edit runs again on the new record. edit returns why, for the
// commit message. Update returns the record as committed.
func (l *Ledger) Update(ctx context.Context, ref forge.IssueRef, edit func(*Record) (string, error)) (Record, error) {
	var why string
	file, err := File(ref)
	if err != nil {
		return Record{}, err
	}
	var out Record
	_, err = l.repo.Update(ctx, v1alpha1.LedgerBranch, func(s tenants.State, _, cur *tenants.Snapshot) (*tenants.Plan, error) {
		if !s.BranchExists {
			// Only Migrate starts the ledger: a branch deleted under a
			// running service must not come back empty, as if nothing had
			// ever been recorded.
			return nil, ErrNoLedger
		}
		rec, _, err := read(cur, file)
		if err != nil {
			return nil, err
		}
		w, err := edit(&rec)
		if errors.Is(err, ErrUnchanged) {
			out = rec
			return nil, nil
		} else if err != nil {
			return nil, err
		}
		why = w
		out = rec
		data, err := json.MarshalIndent(rec, "", "  ")
		if err != nil {
			return nil, err
		}
		return &tenants.Plan{Parent: s.BranchHead, Changes: []tenants.Change{{Path: file, Data: append(data, '\n')}},
			Message: tenants.Message(fmt.Sprintf("Ledger: %s: %s", ref, why), "")}, nil
	})
	if err != nil {
		return Record{}, fmt.Errorf("recording in the ledger of %s: %w", ref, err)
	}
	return out, nil
}

// Reader is what reading the bot's own comments asks of GitHub.
type Reader interface {
	GetComment(ctx context.Context, repo forge.Repo, id int64) (forge.Comment, error)
}

// GitHub is what writing them, and starting the ledger, asks of GitHub.
type GitHub interface {
	Reader
	ListComments(ctx context.Context, ref forge.IssueRef) ([]forge.Comment, error)
	CreateComment(ctx context.Context, ref forge.IssueRef, body string) (forge.Comment, error)
	EditComment(ctx context.Context, repo forge.Repo, id int64, body string) error
	DeleteComment(ctx context.Context, repo forge.Repo, id int64) error
}

// Thread is what the bot knows of an issue's comments: the record, and
// the comments of its own that the record names.
type Thread struct {
	Ref    forge.IssueRef
	Record Record
	// Own are the bot's comments, by kind.
	Own map[string]forge.Comment
	// Bot is the bot's login.
	Bot string
}

// adopt makes the recorded comment id the thread's own of kind, when
// GitHub says the bot wrote it, on this issue, with the kind's marker
// first; otherwise (deleted, or not the bot's) the thread has none.
func (t *Thread) adopt(ctx context.Context, gh Reader, kind string, id int64) error {
	delete(t.Own, kind)
	c, err := gh.GetComment(ctx, t.Ref.Repo, id)
	if errors.Is(err, forge.ErrNotFound) {
		return nil // deleted: the next write posts a new one
	}
	if err != nil {
		return err
	}
	if c.Author == t.Bot && c.Issue == t.Ref.Number && v1alpha1.Marked(c.Body, Markers[kind]) {
		t.Own[kind] = c
	}
	return nil
}

// Thread reads the issue's record and the comments it names: a few API
// calls, however long the thread. A recorded comment counts only while
// GitHub says bot wrote it, on this issue, with its marker on the first
// line; fetch reads the ledger from the remote first. An issue the ledger
// has no record of has no comment of the bot's: every comment the bot
// posts is recorded, and Migrate recorded those from before the ledger.
func (l *Ledger) Thread(ctx context.Context, gh Reader, bot string, ref forge.IssueRef, fetch bool) (*Thread, error) {
	rec, ok, err := l.Read(ctx, ref, fetch)
	if err != nil {
		return nil, err
	}
	if !ok && !fetch {
		// Recorded since the last fetch, perhaps.
		if rec, ok, err = l.Read(ctx, ref, true); err != nil {
			return nil, err
		}
	}
	t := &Thread{Ref: ref, Record: rec, Own: map[string]forge.Comment{}, Bot: bot}
	for _, kind := range []string{KindStatus, KindValidation, KindCredentials, KindRollout} {
		if id, ok := rec.Comments[kind]; ok {
			if err := t.adopt(ctx, gh, kind, id); err != nil {
				return nil, err
			}
		}
	}
	return t, nil
}

var credentialsRE = regexp.MustCompile(`^` + regexp.QuoteMeta(v1alpha1.MarkerCredentials) + ` id=([0-9a-f]+) -->$`)

var replyRE = regexp.MustCompile(`^` + regexp.QuoteMeta(v1alpha1.MarkerReply) + ` comment=([0-9]+)(?: denied=([A-Za-z0-9-]+))? -->$`)

// Scan is the Thread of an issue from before the ledger, read from its
// comments: the bot's own, by author, which GitHub authenticates, and by
// the marker on their first line only, where nothing the bot quotes can
// stand. Migrate records it; nothing else reads a thread this way.
func Scan(ref forge.IssueRef, bot string, cs []forge.Comment) *Thread {
	t := &Thread{Ref: ref, Own: map[string]forge.Comment{}, Bot: bot}
	for _, c := range cs {
		if c.Author != bot {
			continue
		}
		for kind, m := range Markers {
			if _, seen := t.Own[kind]; !seen && v1alpha1.Marked(c.Body, m) {
				t.Own[kind] = c
				t.Record.setComment(kind, c.ID)
				if kind == KindStatus {
					st := storestatus.Parse(c.Body)
					t.Record.Status = &st
				}
				if m := credentialsRE.FindStringSubmatch(v1alpha1.FirstLine(c.Body)); kind == KindCredentials && m != nil {
					t.Record.creds().Delivered = m[1]
				}
			}
		}
		if m := replyRE.FindStringSubmatch(v1alpha1.FirstLine(c.Body)); m != nil {
			if id, err := strconv.ParseInt(m[1], 10, 64); err == nil {
				t.Record.Answer(id)
			}
			if m[2] != "" {
				t.Record.Deny(m[2])
			}
		}
	}
	return t
}

func (r *Record) setComment(kind string, id int64) {
	if r.Comments == nil {
		r.Comments = map[string]int64{}
	}
	r.Comments[kind] = id
}

// Note records a change of the thread's record; edit returns why.
func (l *Ledger) Note(ctx context.Context, t *Thread, edit func(*Record) string) error {
	rec, err := l.Update(ctx, t.Ref, func(r *Record) (string, error) {
		return edit(r), nil
	})
	if err != nil {
		return err
	}
	t.Record = rec
	return nil
}

// Put makes the bot's comment of kind read body: it edits the one the
// record names, or posts it and records its ID. When another worker
// recorded one meanwhile, that one is kept and edited, and the new one
// deleted, so an issue never shows two.
func (l *Ledger) Put(ctx context.Context, gh GitHub, t *Thread, kind, body string) (forge.Comment, error) {
	if id, ok := t.Record.Comments[kind]; ok && t.Own[kind].ID != id {
		// The record, read again since the thread was (EditStatus does),
		// names a comment another writer posted meanwhile: that one is
		// edited, not a second one posted.
		if err := t.adopt(ctx, gh, kind, id); err != nil {
			return forge.Comment{}, err
		}
	}
	if c, ok := t.Own[kind]; ok {
		if c.Body == body {
			return c, nil
		}
		if err := gh.EditComment(ctx, t.Ref.Repo, c.ID, body); err != nil {
			return forge.Comment{}, err
		}
		c.Body = body
		t.Own[kind] = c
		return c, nil
	}
	seen := t.Record.Comments[kind]
	var winner int64
	c, err := l.Post(ctx, gh, t, kind, body, func(r *Record, c forge.Comment) string {
		if id, ok := r.Comments[kind]; ok && id != seen && id != c.ID {
			winner = id
			return "another worker recorded its " + kind + " comment first"
		}
		r.setComment(kind, c.ID)
		return fmt.Sprintf("its %s comment is %d", kind, c.ID)
	})
	if err != nil {
		return forge.Comment{}, err
	}
	switch {
	case winner != 0:
		if err := gh.DeleteComment(ctx, t.Ref.Repo, c.ID); err != nil && !errors.Is(err, forge.ErrNotFound) {
			return forge.Comment{}, err
		}
		if err := gh.EditComment(ctx, t.Ref.Repo, winner, body); err != nil {
			return forge.Comment{}, err
		}
		c.ID, c.Body = winner, body
	case !strings.HasPrefix(c.Body, body+"\n"):
		// Found from an earlier attempt, which posted what it had then.
		if err := gh.EditComment(ctx, t.Ref.Repo, c.ID, body); err != nil {
			return forge.Comment{}, err
		}
		c.Body = body
	}
	t.Own[kind] = c
	return c, nil
}

// Post posts body as a new comment of the bot's, once, and records it
// with done, which returns why. The post is noted as pending first, with
// a nonce the comment carries; when a post failed (GitHub may have taken
// it before failing), the next Post with that key finds the comment by its
// nonce, which only the bot knows, and records it instead of posting it
// twice.
func (l *Ledger) Post(ctx context.Context, gh GitHub, t *Thread, key, body string, done func(*Record, forge.Comment) string) (forge.Comment, error) {
	record := func(c forge.Comment) (forge.Comment, error) {
		err := l.Note(ctx, t, func(r *Record) string {
			delete(r.Pending, key)
			return done(r, c)
		})
		return c, err
	}
	if nonce, ok := t.Record.Pending[key]; ok {
		// Reading the thread is for this recovery only.
		cs, err := gh.ListComments(ctx, t.Ref)
		if err != nil {
			return forge.Comment{}, err
		}
		for _, c := range cs {
			if c.Author == t.Bot && strings.HasSuffix(strings.TrimRight(c.Body, "\n"), nonceLine(nonce)) && sameKind(key, c.Body, body) {
				// The nonce, and the marker of this post's kind: a nonce
				// copied into a record cannot adopt another comment.
				return record(c)
			}
		}
	}
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return forge.Comment{}, err
	}
	nonce := hex.EncodeToString(b[:])
	if err := l.Note(ctx, t, func(r *Record) string {
		if r.Pending == nil {
			r.Pending = map[string]string{}
		}
		r.Pending[key] = nonce
		return "posting its " + key + " comment"
	}); err != nil {
		return forge.Comment{}, err
	}
	c, err := gh.CreateComment(ctx, t.Ref, body+"\n"+nonceLine(nonce))
	if err != nil {
		return forge.Comment{}, err
	}
	return record(c)
}

// sameKind reports whether found opens as a post of key would.
func sameKind(key, found, body string) bool {
	if m, ok := Markers[key]; ok {
		return v1alpha1.Marked(found, m)
	}
	return v1alpha1.FirstLine(found) == v1alpha1.FirstLine(body)
}

func nonceLine(nonce string) string { return "<!-- purrvision:post " + nonce + " -->" }

// Migrate starts the ledger, once: when its branch does not exist yet, it
// reads the threads of issues (the open store issues, from before the
// ledger) for the bot's own comments and answered commands, and commits
// their records with the ledger's first commit. When the branch exists it
// does nothing, so every replica may call it at start.
func (l *Ledger) Migrate(ctx context.Context, gh GitHub, bot string, issues []forge.IssueRef) (int, error) {
	if err := l.repo.Fetch(ctx); err != nil {
		return 0, fmt.Errorf("starting the ledger: %w", err)
	}
	if _, ok, err := l.repo.Head(v1alpha1.LedgerBranch); err != nil || ok {
		return 0, err
	}
	changes := []tenants.Change{{Path: "README.md", Data: []byte(readme)}}
	for _, ref := range issues {
		file, err := File(ref)
		if err != nil {
			return 0, err
		}
		cs, err := gh.ListComments(ctx, ref)
		if err != nil {
			return 0, fmt.Errorf("starting the ledger: %w", err)
		}
		rec := Scan(ref, bot, cs).Record
		data, err := json.MarshalIndent(rec, "", "  ")
		if err != nil {
			return 0, err
		}
		changes = append(changes, tenants.Change{Path: file, Data: append(data, '\n')})
	}
	_, err := l.repo.Update(ctx, v1alpha1.LedgerBranch, func(s tenants.State, _, _ *tenants.Snapshot) (*tenants.Plan, error) {
		if s.BranchExists {
			return nil, nil // another replica started it
		}
		return &tenants.Plan{Changes: changes, Message: tenants.Message(fmt.Sprintf("Ledger: start, with the records of %d issues", len(issues)), "")}, nil
	})
	if err != nil {
		return 0, fmt.Errorf("starting the ledger: %w", err)
	}
	return len(issues), nil
}

const readme = `# Purrvision's ledger

This branch is written by Purrvision only: one file per issue, with the IDs
of the bot's own comments there and the commands it has answered. Protect
it with a ruleset that lets only the Purrvision App update it
(docs/security.md).
`

// Holds: a decommissioned store's name stays taken by its issue until the
// watcher reports its Namespace gone, whatever happens meanwhile to the
// issue (closed, its form edited) or the store's branch (deleted at the
// merge).

type hold struct {
	Issue string `json:"issue"`
}

func holdFile(name string) (string, error) {
	if !nameRE.MatchString(name) || strings.HasPrefix(name, ".") {
		return "", fmt.Errorf("ledger: %q is not a store name", name)
	}
	return path.Join("names", name+".json"), nil
}

// Hold records that name stays taken by issue.
func (l *Ledger) Hold(ctx context.Context, name, issue string) error {
	data, err := json.Marshal(hold{Issue: issue})
	if err != nil {
		return err
	}
	return l.editFile(ctx, name, func(cur []byte, exists bool) (*tenants.Change, string) {
		if exists && string(cur) == string(data)+"\n" {
			return nil, ""
		}
		return &tenants.Change{Data: append(data, '\n')}, fmt.Sprintf("name %s held by %s until its Namespace is gone", name, issue)
	})
}

// Held returns the issue that holds name, "" when none; fetch asks the
// remote first.
func (l *Ledger) Held(ctx context.Context, name string, fetch bool) (string, error) {
	file, err := holdFile(name)
	if err != nil {
		return "", err
	}
	if fetch {
		if err := l.repo.Fetch(ctx); err != nil {
			return "", err
		}
	}
	head, ok, err := l.repo.Head(v1alpha1.LedgerBranch)
	if err != nil || !ok {
		return "", err
	}
	snap, err := l.repo.Snapshot(head)
	if err != nil {
		return "", err
	}
	data, ok, err := snap.ReadFile(file)
	if err != nil || !ok {
		return "", err
	}
	var h hold
	if err := json.Unmarshal(data, &h); err != nil {
		return "", fmt.Errorf("reading ledger file %s: %w", file, err)
	}
	return h.Issue, nil
}

// Release frees name, if issue holds it.
func (l *Ledger) Release(ctx context.Context, name, issue string) error {
	return l.editFile(ctx, name, func(cur []byte, exists bool) (*tenants.Change, string) {
		var h hold
		if !exists || json.Unmarshal(cur, &h) != nil || h.Issue != issue {
			return nil, ""
		}
		return &tenants.Change{Delete: true}, fmt.Sprintf("name %s free: the Namespace of %s's store is gone", name, issue)
	})
}

func (l *Ledger) editFile(ctx context.Context, name string, edit func(cur []byte, exists bool) (*tenants.Change, string)) error {
	file, err := holdFile(name)
	if err != nil {
		return err
	}
	_, err = l.repo.Update(ctx, v1alpha1.LedgerBranch, func(s tenants.State, _, cur *tenants.Snapshot) (*tenants.Plan, error) {
		if !s.BranchExists {
			return nil, ErrNoLedger
		}
		data, ok, err := cur.ReadFile(file)
		if err != nil {
			return nil, err
		}
		ch, why := edit(data, ok)
		if ch == nil {
			return nil, nil
		}
		ch.Path = file
		return &tenants.Plan{Parent: s.BranchHead, Changes: []tenants.Change{*ch}, Message: tenants.Message("Ledger: "+why, "")}, nil
	})
	if err != nil {
		return fmt.Errorf("recording in the ledger of name %s: %w", name, err)
	}
	return nil
}

// SetStatus records st as the store's state; it returns what changed, for
// the commit message.
func (r *Record) SetStatus(st storestatus.State) string {
	old := r.State()
	r.Status = &st
	var what []string
	if old.Phase != st.Phase {
		what = append(what, fmt.Sprintf("phase %s", st.Phase))
	}
	if n := len(st.Timeline) - len(old.Timeline); n > 0 {
		what = append(what, fmt.Sprintf("%d timeline event(s)", n))
	}
	if old.Branch != st.Branch {
		what = append(what, "the commit last pushed to its branch")
	}
	if old.MergeCommit != st.MergeCommit {
		what = append(what, "its last merge")
	}
	if len(what) == 0 {
		what = append(what, "its state")
	}
	return fmt.Sprintf("store %s: %s", st.Store, strings.Join(what, ", "))
}

// statusLocks serialize, in this process, the writers of one issue's
// status (the request flow, the watcher), so the comment shows the last
// state recorded; across processes the ledger's compare-and-swap keeps the
// state itself whole.
var statusLocks sync.Map // file -> *sync.Mutex

// EditStatus applies edit to the freshest recorded state of the thread's
// store, inside the ledger's compare-and-swap (edit may run again on a
// newer record, so it must only change the state it is given), and shows
// the result in the status comment with body. edit reports whether it
// changed anything; the comment is brought up to date either way.
func (l *Ledger) EditStatus(ctx context.Context, gh GitHub, t *Thread, edit func(*storestatus.State) bool, body func(storestatus.State) string) error {
	file, err := File(t.Ref)
	if err != nil {
		return err
	}
	mu, _ := statusLocks.LoadOrStore(file, &sync.Mutex{})
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()
	rec, err := l.Update(ctx, t.Ref, func(r *Record) (string, error) {
		st := r.State()
		if !edit(&st) {
			return "", ErrUnchanged
		}
		return r.SetStatus(st.Bounded()), nil
	})
	if err != nil {
		return err
	}
	t.Record = rec
	if rec.Status == nil {
		return nil // nothing recorded, nothing to show
	}
	_, err = l.Put(ctx, gh, t, KindStatus, body(*rec.Status))
	return err
}
