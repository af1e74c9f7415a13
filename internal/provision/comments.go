package provision

import (
	"context"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/apply"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/ledger"
	"github.com/purrvision/purrvision/internal/storestatus"
)

// thread is what the bot knows of an issue's comments (internal/ledger).
type thread struct{ *ledger.Thread }

// readThread reads the issue's ledger record and the bot's comments it
// names, with the ledger fetched first.
func (p *Provisioner) readThread(ctx context.Context, ref forge.IssueRef) (*thread, error) {
	t, err := p.ledger.Thread(ctx, p.gh, p.bot.Login(), ref, true)
	if err != nil {
		return nil, err
	}
	return &thread{t}, nil
}

// credentialsID is the generation of credentials last sealed to the
// owner, as the ledger records it (never as a comment says).
func (t *thread) credentialsID() string {
	if c := t.Record.Credentials; c != nil {
		return c.Delivered
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

// state is the store's State as the ledger records it.
func (t *thread) state() storestatus.State {
	return t.Record.State()
}

// setLabels adds and removes labels, touching only what differs.
func (p *Provisioner) setLabels(ctx context.Context, ref forge.IssueRef, have []string, ch LabelChange) error {
	return apply.SetLabels(ctx, p.gh, ref, have, ch.Add, ch.Remove)
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
	return listWithin(forge.MaxBody, head, lines, tail)
}

// listWithin is listComment within max characters.
func listWithin(max int, head string, lines []string, tail string) string {
	var b strings.Builder
	b.WriteString(head)
	room := max - utf8.RuneCountInString(head) - utf8.RuneCountInString(tail) - 100 // the count line
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
