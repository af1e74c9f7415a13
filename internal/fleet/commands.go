package fleet

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/apply"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/ledger"
	"github.com/purrvision/purrvision/internal/rollout"
	"github.com/purrvision/purrvision/tenants"
)

// Commands on a tracking issue: /purrvision rollout <command>.
const (
	CmdResume = "resume"
	CmdAbort  = "abort"
	CmdRevert = "revert"
	// CmdStart starts a rollout from any issue of the requests repo, as
	// `purrvision rollout start` does, so nobody needs the App's key.
	CmdStart = "start"
)

const usage = "Rollout commands: `/purrvision rollout resume`, `/purrvision rollout abort`, `/purrvision rollout revert <wave>`; " +
	"on any issue, `/purrvision rollout start [--waves 1,10%,100%] [--max-failures 0] [--title words...]`."

// ParseCommand reads "/purrvision rollout <command> [args]" on a comment's
// first line (apply.CommandWords, which store commands are read with too).
func ParseCommand(body string) (cmd string, args []string, ok bool) {
	words, ok := apply.CommandWords(body)
	if !ok || len(words) == 0 || words[0] != "rollout" {
		return "", nil, false
	}
	if len(words) == 1 {
		return "", nil, true
	}
	return words[1], words[2:], true
}

// RunCommand carries out a rollout command comment on a tracking issue,
// once, for people with write access to the requests repo or in a
// command team (what GitHub says, never what the comment says). handled
// is false when the issue is no tracking issue, for the request flow.
func (r *Roller) RunCommand(ctx context.Context, ref forge.IssueRef, c forge.Comment) (handled bool, err error) {
	cmd, args, ok := ParseCommand(c.Body)
	if !ok || c.Author == r.bot() || ref.Repo != r.requests {
		return false, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if cmd == CmdStart {
		return true, r.startCommand(ctx, ref, c, args)
	}
	tr, err := r.load(ctx, ref, true) // the CLI may have moved it
	if err != nil || tr == nil {
		return false, err
	}
	if tr.thread.Record.IsAnswered(c.ID) {
		return true, nil
	}
	allowed, err := r.authorized(ctx, c.Author)
	if err != nil {
		return true, err
	}
	if !allowed {
		// A reaction, not a reply: nobody can make the bot talk at will.
		return true, r.gh.React(ctx, ref.Repo, c.ID, "-1")
	}
	var msg string
	switch cmd {
	case CmdResume:
		msg, err = r.resume(ctx, tr, "@"+c.Author)
	case CmdAbort:
		msg, err = r.abort(ctx, tr, "@"+c.Author)
	case CmdRevert:
		n := 0
		if len(args) == 1 {
			n, _ = strconv.Atoi(args[0])
		}
		if n < 1 {
			msg = "Usage: `/purrvision rollout revert <wave>`, with the number of a merged wave."
			break
		}
		msg, err = r.revert(ctx, tr, n, c.Author)
	default:
		msg = usage
	}
	if err != nil {
		return true, err
	}
	return true, r.reply(ctx, tr, c, msg)
}

// startCommand starts a rollout for "/purrvision rollout start" on the
// issue ref, r.mu held: authorized as the other rollout commands are
// (GitHub's permission on the requests repo, or a command team), answered
// once on that issue with the tracking issue or why not. A redelivery of
// the comment after the rollout started (its answer lost) finds the
// rollout by the comment it records, and does not start another.
func (r *Roller) startCommand(ctx context.Context, ref forge.IssueRef, c forge.Comment, args []string) error {
	t, err := r.ledger.Thread(ctx, r.gh, r.bot(), ref, true)
	if err != nil {
		return err
	}
	if t.Record.IsAnswered(c.ID) {
		return nil
	}
	allowed, err := r.authorized(ctx, c.Author)
	if err != nil {
		return err
	}
	if !allowed {
		return r.gh.React(ctx, ref.Repo, c.ID, "-1")
	}
	from := fmt.Sprintf("%s comment %d", ref, c.ID)
	msg, err := r.startFrom(ctx, args, "@"+c.Author, from)
	if err != nil {
		return err
	}
	body := fmt.Sprintf("%s comment=%d -->\n%s", v1alpha1.MarkerReply, c.ID, msg)
	_, err = r.ledger.Post(ctx, r.gh, t, "reply-"+strconv.FormatInt(c.ID, 10), body, func(rec *ledger.Record, _ forge.Comment) string {
		rec.Answer(c.ID)
		return fmt.Sprintf("answered comment %d", c.ID)
	})
	return err
}

// startFrom starts a rollout with the command's flags and says what
// became of it; an error only for a failure worth retrying.
func (r *Roller) startFrom(ctx context.Context, args []string, by, from string) (string, error) {
	o, problem := parseStartArgs(args)
	if problem != "" {
		return problem + "\n\n" + usage, nil
	}
	o.By, o.From = by, from
	checked, err := o.check()
	if err != nil {
		return "Not started: " + codeSpan(err.Error()) + ".", nil
	}
	title := checked.title
	started, err := r.start(ctx, o, checked)
	var open *OpenError
	switch {
	case errors.As(err, &open):
		if tr, lerr := r.load(ctx, open.Issue.Ref, true); lerr == nil && tr != nil && tr.st.StartedFrom == from {
			return fmt.Sprintf("Started rollout %s: follow it on %s.", tr.st.ID, open.Issue.URL), nil
		}
		return fmt.Sprintf("Not started: rollout %s is open (%s); finish or abort it first.", open.ID, open.Issue.URL), nil
	case errors.Is(err, ErrNothing):
		return "Not started: every store already renders as today's config and chart say; there is nothing to roll out.", nil
	case errors.Is(err, ErrNoLedger):
		return "Not started: " + err.Error() + ".", nil
	case err != nil && started == nil:
		return "", err
	}
	msg := fmt.Sprintf("Started rollout %s (%s) in waves %s, at most %s failures: follow it on %s.", started.State.ID, title, started.State.Waves, started.State.MaxFailures, started.Issue.URL)
	if err != nil {
		// Started, but a later step failed: the tracking issue and its
		// state exist, and the service's ticks carry on from there.
		msg += " (Its first step is retried: " + err.Error() + ".)"
	}
	return msg, nil
}

// parseStartArgs reads --waves, --max-failures and --title (the rest of
// the words) of a start command; problem says what is wrong.
func parseStartArgs(args []string) (o StartOptions, problem string) {
	for i := 0; i < len(args); i++ {
		flag, value, hasValue := strings.Cut(args[i], "=")
		if !hasValue && flag != "--title" {
			if i+1 >= len(args) {
				return o, fmt.Sprintf("Not started: %s needs a value.", codeSpan(flag))
			}
			i++
			value = args[i]
		}
		switch flag {
		case "--waves":
			o.Waves = value
		case "--max-failures":
			o.MaxFailures = value
		case "--title":
			rest := args[i+1:]
			if hasValue {
				rest = append([]string{value}, rest...)
			}
			o.Title = strings.Join(rest, " ")
			return o, ""
		default:
			return o, fmt.Sprintf("Not started: %s is no flag of rollout start.", codeSpan(flag))
		}
	}
	return o, ""
}

// codeSpan quotes a person's words back as code, short and on one line:
// no mention pings, no link or markup renders.
func codeSpan(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '`' || r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s)
	return "`" + forge.KeepStart(s, 60) + "`"
}

func (r *Roller) authorized(ctx context.Context, login string) (bool, error) {
	return forge.MayAct(ctx, r.gh, r.requests, login, r.cfg.GitHub.CommandTeams)
}

// reply answers a command comment once, and records it answered.
func (r *Roller) reply(ctx context.Context, tr *tracking, c forge.Comment, text string) error {
	body := fmt.Sprintf("%s comment=%d -->\n%s", v1alpha1.MarkerReply, c.ID, text)
	_, err := r.ledger.Post(ctx, r.gh, tr.thread, "reply-"+strconv.FormatInt(c.ID, 10), body, func(rec *ledger.Record, _ forge.Comment) string {
		rec.Answer(c.ID)
		return fmt.Sprintf("answered comment %d", c.ID)
	})
	return err
}

// Resume resumes the open rollout from the CLI; by says who, as the
// tracking issue will show it.
func (r *Roller) Resume(ctx context.Context, by string) (string, error) {
	return r.onOpen(ctx, func(tr *tracking) (string, error) { return r.resume(ctx, tr, by) })
}

// Abort aborts the open rollout from the CLI.
func (r *Roller) Abort(ctx context.Context, by string) (string, error) {
	return r.onOpen(ctx, func(tr *tracking) (string, error) { return r.abort(ctx, tr, by) })
}

// ErrNoneOpen is returned by the CLI's commands when no rollout is open.
var ErrNoneOpen = errors.New("no rollout is open")

func (r *Roller) onOpen(ctx context.Context, f func(*tracking) (string, error)) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	tr, err := r.openOne(ctx)
	if err != nil {
		return "", err
	}
	return f(tr)
}

func (r *Roller) openOne(ctx context.Context) (*tracking, error) {
	open, err := r.Open(ctx)
	if err != nil {
		return nil, err
	}
	for _, is := range open {
		tr, err := r.load(ctx, is.Ref, true)
		if err != nil {
			return nil, err
		}
		if tr != nil {
			return tr, nil
		}
	}
	return nil, ErrNoneOpen
}

// resume goes on with a paused rollout: past a wave's failures, or with a
// closed wave opened again. A wave branch pushed to by hand is refused
// until its pull request is closed.
func (r *Roller) resume(ctx context.Context, tr *tracking, by string) (string, error) {
	switch tr.st.Phase {
	case rollout.Active:
		return "The rollout is not paused; it goes on by itself.", nil
	case rollout.Done, rollout.Aborted:
		return fmt.Sprintf("Rollout %s is %s; start a new one with `purrvision rollout start`.", tr.st.ID, tr.st.Phase), nil
	}
	w := tr.st.Last()
	if w != nil && w.MergeCommit == "" && !w.Closed && w.Pull != 0 {
		pr, err := r.gh.GetPull(ctx, r.tenants, w.Pull)
		if err != nil {
			return "", err
		}
		switch {
		case pr.Merged:
		case !pr.Open:
			if err := r.save(ctx, tr, func(st *rollout.State) (string, error) {
				st.Wave(w.Number).Closed = true
				return fmt.Sprintf("wave %d's pull request was closed", w.Number), nil
			}); err != nil {
				return "", err
			}
		case pr.HeadSHA != w.Pushed:
			return fmt.Sprintf("Not resumed: %s. Close %s first; resuming then opens the wave again from today's plan.", handEdited(w.Number, pr, w.Pushed), pr.URL), nil
		}
	}
	if err := r.save(ctx, tr, func(st *rollout.State) (string, error) {
		if st.Phase != rollout.Paused {
			return "", ledger.ErrUnchanged
		}
		if w := st.Last(); w != nil && w.MergeCommit != "" && w.Settled.IsZero() && len(w.Failed) > 0 {
			w.Accepted = true // go on past its failures
		}
		st.Phase, st.Reason = rollout.Active, ""
		return "resumed by " + by, nil
	}); err != nil {
		return "", err
	}
	if err := apply.SetLabels(ctx, r.gh, tr.ref(), tr.issue.Labels, nil, []string{v1alpha1.LabelRolloutPaused}); err != nil {
		return "", err
	}
	if err := r.step(ctx, tr); err != nil {
		return "", err
	}
	return fmt.Sprintf("Resumed by %s. %s", by, phaseNow(tr.st)), nil
}

func phaseNow(st *rollout.State) string {
	w := st.Last()
	switch {
	case st.Phase == rollout.Done:
		return "The rollout is done."
	case st.Phase == rollout.Paused:
		return "It paused again: " + st.Reason + "."
	case w != nil && w.MergeCommit == "" && w.URL != "":
		return fmt.Sprintf("Wave %d is %s.", w.Number, w.URL)
	case w != nil:
		return fmt.Sprintf("Wave %d is followed until its stores are Ready.", w.Number)
	}
	return ""
}

// abort stops the rollout: its open wave's pull request is closed, the
// tracking issue too.
func (r *Roller) abort(ctx context.Context, tr *tracking, by string) (string, error) {
	if !tr.st.Phase.Open() {
		return fmt.Sprintf("Rollout %s is %s already.", tr.st.ID, tr.st.Phase), nil
	}
	if err := r.save(ctx, tr, func(st *rollout.State) (string, error) {
		if !st.Phase.Open() {
			return "", ledger.ErrUnchanged
		}
		st.Phase, st.Reason = rollout.Aborted, "aborted by "+by
		return "aborted by " + by, nil
	}); err != nil {
		return "", err
	}
	msg := fmt.Sprintf("Rollout %s aborted by %s.", tr.st.ID, by)
	if w := tr.st.Last(); w != nil && w.Pull != 0 && w.MergeCommit == "" && !w.Closed {
		pr, err := r.app().ClosePull(ctx, r.gh, w.Branch, func(pr *forge.PullRequest) bool { return pr.Number != w.Pull })
		if err != nil {
			return "", err
		}
		if pr != nil {
			msg += fmt.Sprintf(" Closed wave %d's pull request %s.", w.Number, pr.URL)
		}
	}
	if err := apply.SetLabels(ctx, r.gh, tr.ref(), tr.issue.Labels, nil, []string{v1alpha1.LabelRolloutPaused}); err != nil {
		return "", err
	}
	if err := r.table(ctx, tr); err != nil {
		return "", err
	}
	if err := r.gh.CloseIssue(ctx, tr.ref()); err != nil {
		return "", err
	}
	return msg + " Merged waves stay; `/purrvision rollout revert <wave>` still puts one back.", nil
}

// revert opens a pull request that puts wave n's stores back as they were
// before its merge, with their Secrets as they are now, as by (a login)
// asked. A branch at the commit the bot pushed is left as it is, unless
// the base moved past it: it is then planned again on the base head.
func (r *Roller) revert(ctx context.Context, tr *tracking, n int, by string) (string, error) {
	w := tr.st.Wave(n)
	if w == nil || w.MergeCommit == "" {
		return fmt.Sprintf("Wave %d is not merged, so there is nothing to revert; `/purrvision rollout abort` closes an open wave.", n), nil
	}
	key := strconv.Itoa(n)
	ps := tr.st.Reverts[key]
	ps.Branch = rollout.RevertBranch(tr.st.ID, n)
	if err := r.repo.Fetch(ctx); err != nil {
		return "", err
	}
	parents, err := r.repo.FirstParents(tenants.Hash(w.MergeCommit), "", 2)
	if err != nil {
		return "", err
	}
	if len(parents) < 2 {
		return "", fmt.Errorf("reverting wave %d: merge commit %s has no parent", n, apply.Short(w.MergeCommit))
	}
	before, err := r.repo.Snapshot(parents[1])
	if err != nil {
		return "", err
	}
	var rev *rollout.Revert
	pushed := ps.Pushed
	res, err := r.repo.Update(ctx, ps.Branch, func(s tenants.State, base, cur *tenants.Snapshot) (*tenants.Plan, error) {
		movedTo := ""
		if s.BranchExists && pushed != "" && s.BranchHead.String() == pushed {
			if upToDate, err := base.IsAncestorOf(cur); err != nil || upToDate {
				return nil, err
			}
			movedTo = s.BaseHead.String()
		}
		// Only the stores the wave changed: a name another store has now
		// (decommissioned, then requested again) is left as it is.
		var stores []string
		var replaced []rollout.Skipped
		for _, store := range w.Stores {
			same, err := r.same(base, w, store)
			if err != nil {
				return nil, err
			}
			if _, there, err := r.identity(base, store); err != nil {
				return nil, err
			} else if there && !same {
				replaced = append(replaced, rollout.Skipped{Store: store, Reason: "the name is another store's now"})
				continue
			}
			stores = append(stores, store)
		}
		var err error
		rev, err = rollout.PlanRevert(rollout.RevertInput{Config: r.cfg, Before: before, Now: base, Base: s.BaseHead.String(), Stores: stores, ID: tr.st.ID, Wave: n,
			By: by, MovedTo: movedTo})
		if err != nil {
			return nil, err
		}
		rev.Skipped = append(rev.Skipped, replaced...)
		if rev.Commit == nil {
			return nil, nil
		}
		return rev.Commit, nil
	})
	if err != nil {
		return "", fmt.Errorf("pushing the revert of wave %d: %w", n, err)
	}
	if rev != nil && rev.Commit == nil {
		return fmt.Sprintf("Wave %d's stores are as they were before it already; nothing to revert.", n), nil
	}
	ps.Pushed = res.Commit.String()
	// The branch is at the bot's push: its trailers are the bot's.
	head, err := r.repo.Snapshot(res.Commit)
	if err != nil {
		return "", err
	}
	note := ""
	if to := tenants.Trailers(head.Message())[v1alpha1.TrailerBaseMoved]; to != "" {
		note = apply.BaseMovedNote(to)
	}
	pr, err := r.ensurePull(ctx, ps, forge.KeepStart(fmt.Sprintf("Rollout %s: revert wave %d", tr.st.ID, n), forge.MaxTitle),
		fmt.Sprintf("Puts the %s of wave %d of rollout %s back as they were before its merge `%s`, tracked in %s; their Secrets stay as they are now.%s\n%s",
			plural(len(w.Stores), "store"), n, tr.st.ID, apply.Short(w.MergeCommit), tr.issue.URL, requestedBy(by), note))
	if err != nil {
		return "", err
	}
	ps.Pull, ps.URL = pr.Number, pr.URL
	if err := r.save(ctx, tr, func(st *rollout.State) (string, error) {
		if st.Reverts == nil {
			st.Reverts = map[string]rollout.PullState{}
		}
		if st.Reverts[key] == ps {
			return "", ledger.ErrUnchanged
		}
		st.Reverts[key] = ps
		return fmt.Sprintf("revert of wave %d is pull request %d", n, pr.Number), nil
	}); err != nil {
		return "", err
	}
	// Recorded pushed: its head is ready.
	if err := r.ready(ctx, ps.Pushed, ps.Pushed, revertRender(tr.st.ID, n)); err != nil {
		return "", err
	}
	msg := fmt.Sprintf("Pull request %s puts wave %d's stores back as they were before it, Secrets as they are now. It waits for a reviewer.", pr.URL, n)
	if rev != nil && len(rev.Skipped) > 0 {
		msg += fmt.Sprintf(" Left as they are: %d stores (gone or new since).", len(rev.Skipped))
	}
	return msg, nil
}

// requestedBy says who asked, when known.
func requestedBy(login string) string {
	if login == "" {
		return ""
	}
	return " Requested by @" + login + "."
}

// catchUpReverts brings each open revert pull request of the rollout up
// to date with the base when the base moved past its branch (git's
// answer), as catchUp does a wave: planned again on the base head by
// revert, as the login the bot's own commit names asked. A branch not at
// the commit the bot recorded pushing is left alone.
func (r *Roller) catchUpReverts(ctx context.Context, tr *tracking) error {
	if len(tr.st.Reverts) == 0 {
		return nil
	}
	if err := r.repo.Fetch(ctx); err != nil {
		return err
	}
	base, _, err := r.repo.Head(r.cfg.TenantsRepo.Branch)
	if err != nil {
		return err
	}
	for _, key := range slices.Sorted(maps.Keys(tr.st.Reverts)) {
		ps := tr.st.Reverts[key]
		if ps.Pull == 0 || ps.Pushed == "" || ps.MergeCommit != "" {
			continue
		}
		head, ok, err := r.repo.Head(ps.Branch)
		if err != nil {
			return err
		}
		if !ok || head.String() != ps.Pushed {
			continue
		}
		if upToDate, err := r.repo.Contains(ctx, base, head); err != nil || upToDate {
			if err != nil {
				return err
			}
			continue
		}
		pr, err := r.gh.GetPull(ctx, r.tenants, ps.Pull)
		if err != nil {
			return err
		}
		if !pr.Open {
			continue
		}
		snap, err := r.repo.Snapshot(head)
		if err != nil {
			return err
		}
		n, err := strconv.Atoi(key)
		if err != nil {
			continue
		}
		if _, err := r.revert(ctx, tr, n, tenants.Trailers(snap.Message())[v1alpha1.TrailerRequestedBy]); err != nil {
			return err
		}
	}
	return nil
}

// Status describes the open rollout, or says none is.
func (r *Roller) Status(ctx context.Context) (string, error) {
	tr, err := r.openOne(ctx)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Rollout %s: %s (%s)\n", tr.st.ID, tr.st.Title, tr.issue.URL)
	fmt.Fprintf(&b, "Phase: %s", tr.st.Phase)
	if tr.st.Reason != "" {
		fmt.Fprintf(&b, ": %s", tr.st.Reason)
	}
	fmt.Fprintf(&b, "\nWaves %s, at most %s failures a wave, %d stores.\n", tr.st.Waves, tr.st.MaxFailures, len(tr.st.Fleet))
	if tr.st.LastError != nil {
		fmt.Fprintf(&b, "Last error (%s): %s\n", rollout.Time(tr.st.LastError.Time), tr.st.LastError)
	}
	for _, w := range tr.st.WaveList {
		state := "open"
		switch {
		case w.Closed:
			state = "closed without merge"
		case !w.Settled.IsZero():
			state = "settled " + rollout.Time(w.Settled)
		case w.MergeCommit != "":
			state = "merged " + rollout.Time(w.Merged)
		}
		fmt.Fprintf(&b, "  wave %d: %d stores, %d ready, %d failed, %s, %s\n", w.Number, len(w.Stores), w.Ready, len(w.Failed), state, w.URL)
		for _, f := range w.Failed {
			fmt.Fprintf(&b, "    %s: %s\n", f.Store, f.Message)
		}
	}
	return b.String(), nil
}
