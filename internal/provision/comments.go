package provision

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/storestatus"
)

// thread is an issue's comments, with Purrvision's own picked out.
type thread struct {
	ref      forge.IssueRef
	all      []forge.Comment
	ownByKey map[string]forge.Comment
	replies  map[int64]bool  // command comment IDs already answered
	denied   map[string]bool // people told once they may not run commands here
}

var (
	credentialsRE = regexp.MustCompile(`^` + regexp.QuoteMeta(v1alpha1.MarkerCredentials) + ` id=([0-9a-f]+) -->$`)
	replyRE       = regexp.MustCompile(`^` + regexp.QuoteMeta(v1alpha1.MarkerReply) + ` comment=([0-9]+)(?: denied=([A-Za-z0-9-]+))? -->$`)
)

func (p *Provisioner) readThread(ctx context.Context, ref forge.IssueRef) (*thread, error) {
	cs, err := p.gh.ListComments(ctx, ref)
	if err != nil {
		return nil, err
	}
	return newThread(ref, p.bot, cs), nil
}

// newThread picks the bot's own comments out of an issue's: by author,
// which GitHub authenticates, and by the marker on their first line only.
func newThread(ref forge.IssueRef, bot string, cs []forge.Comment) *thread {
	t := &thread{ref: ref, all: cs, ownByKey: map[string]forge.Comment{}, replies: map[int64]bool{}, denied: map[string]bool{}}
	for _, c := range cs {
		if c.Author != bot {
			continue
		}
		for _, m := range []string{v1alpha1.MarkerValidation, v1alpha1.MarkerStatus, v1alpha1.MarkerCredentials} {
			if v1alpha1.Marked(c.Body, m) {
				if _, seen := t.ownByKey[m]; !seen {
					t.ownByKey[m] = c
				}
			}
		}
		if m := replyRE.FindStringSubmatch(v1alpha1.FirstLine(c.Body)); m != nil {
			if id, err := strconv.ParseInt(m[1], 10, 64); err == nil {
				t.replies[id] = true
			}
			if m[2] != "" {
				t.denied[m[2]] = true
			}
		}
	}
	return t
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
		if m := credentialsRE.FindStringSubmatch(v1alpha1.FirstLine(c.Body)); m != nil {
			return m[1]
		}
	}
	return ""
}

// recorded is what the status comment says of the issue's store.
func (t *thread) recorded() Recorded {
	st := t.state()
	if st.MergeCommit == "" {
		return Recorded{Store: st.Store, Branch: st.Branch}
	}
	return Recorded{Store: st.Store, MergedOp: st.Operation, Branch: st.Branch}
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

// quoteUser makes text a person wrote safe to show in a comment of the
// bot's: its first line, printable characters only, at most 80 of them,
// neutralized, in a code span. It can form no marker, HTML comment,
// mention or link there.
func quoteUser(s string) string {
	line := strings.Map(func(r rune) rune {
		if !unicode.IsPrint(r) {
			return -1
		}
		return r
	}, v1alpha1.FirstLine(s))
	line = quiet(forge.KeepStart(strings.TrimSpace(line), 80), false)
	if line == "" {
		return "(empty)"
	}
	fence := "`"
	for strings.Contains(line, fence) {
		fence += "`"
	}
	if strings.HasPrefix(line, "`") || strings.HasSuffix(line, "`") {
		line = " " + line + " "
	}
	return fence + line + fence
}

// neutralize makes a message that may carry what a person wrote (a value
// quoted in a validation error) safe in a comment of the bot's: one line,
// no HTML comment delimiters, and no mention GitHub would notify.
func neutralize(s string) string {
	return quiet(s, true)
}

// quiet is neutralize; escape also escapes brackets, which a code span
// shows as they are anyway.
func quiet(s string, escape bool) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			return ' '
		case !unicode.IsPrint(r):
			return -1
		}
		return r
	}, s)
	for strings.Contains(s, "<!--") || strings.Contains(s, "-->") {
		s = strings.ReplaceAll(strings.ReplaceAll(s, "<!--", ""), "-->", "")
	}
	// A word joiner after an '@' that could start a mention keeps the text
	// as it reads and stops GitHub from taking it for one; an e-mail
	// address, '@' after an ASCII letter or digit, is no mention (after any
	// other letter it can be). Brackets and angle brackets are escaped, so
	// the text makes no link or HTML either.
	var b strings.Builder
	prev := ' '
	for _, r := range s {
		switch r {
		case '[', ']', '<', '>':
			if escape {
				b.WriteRune('\\')
			}
		}
		b.WriteRune(r)
		if r == '@' && !isASCIIAlnum(prev) {
			b.WriteRune('\u2060')
		}
		prev = r
	}
	return b.String()
}

func isASCIIAlnum(r rune) bool {
	return r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r))
}

// statusBody is the progress comment of st, linking to the store's row on
// the status page when the config names the page.
func (p *Provisioner) statusBody(st storestatus.State) string {
	return storestatus.Body(st, p.storePage(st.Store))
}

// storePage is the store's row on the status page; "" without one.
func (p *Provisioner) storePage(store string) string {
	if p.cfg.StatusPage.URL == "" || store == "" {
		return ""
	}
	return v1alpha1.StatusPageURL(p.cfg.StatusPage.URL, store)
}

// maxListLine bounds one line of a list in a comment, such as a problem
// that quotes what someone wrote.
const maxListLine = 1000

// listComment writes head, lines as a Markdown list, and tail, within
// GitHub's forge.MaxBody: each line cut to maxListLine characters, and
// the lines that do not fit counted on a last one.
func listComment(head string, lines []string, tail string) string {
	var b strings.Builder
	b.WriteString(head)
	room := forge.MaxBody - utf8.RuneCountInString(head) - utf8.RuneCountInString(tail) - 100 // the count line
	for i, l := range lines {
		l = "- " + forge.KeepStart(l, maxListLine) + "\n"
		n := utf8.RuneCountInString(l)
		if n > room {
			fmt.Fprintf(&b, "- and %d more, listed once these are fixed.\n", len(lines)-i)
			break
		}
		room -= n
		b.WriteString(l)
	}
	b.WriteString(tail)
	return b.String()
}
