package rollout

import (
	"crypto/sha256"
	"fmt"
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/pmezard/go-difflib/difflib"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/forge"
)

// Group is a set of stores whose change is the same once each store's own
// name, namespace, host and directory are set aside.
type Group struct {
	// Size counts Stores.
	Size int `json:"size"`
	// Stores are sorted by name.
	Stores []string `json:"stores"`
	// Plan is the stores' plan when they all have the same one.
	Plan string `json:"plan,omitempty"`
	// Moved: the stores are in an older layout and move to the current one.
	Moved bool `json:"moved,omitempty"`
	// Files say in one line each what the change does to each file.
	Files []FileSummary `json:"files"`
	// Representative is the store whose unified diff Diff is.
	Representative string `json:"representative"`
	Diff           string `json:"diff"`
}

// FileSummary is the change of one file in one line.
type FileSummary struct {
	// Path is relative to the store's directory.
	Path    string `json:"path"`
	Kind    Kind   `json:"kind"`
	Summary string `json:"summary"`
}

// MovedSummary describes a store moved from an older layout.
const MovedSummary = "older layout, moved to the current one"

// movedFile is the summary of a file that a move changes only in the
// store's own directory, or not at all.
const movedFile = "moved"

// shown reports whether the file's summary says more than the move.
func (f FileSummary) shown() bool { return f.Summary != movedFile }

// Headline is the group in one line:
// "9,812 stores: helmrelease.yaml chart-version 0.1.0 -> 0.2.0".
func (g *Group) Headline() string {
	var b strings.Builder
	b.WriteString(countStores(len(g.Stores)))
	if g.Plan != "" {
		fmt.Fprintf(&b, " (plan %s)", g.Plan)
	}
	b.WriteString(": ")
	var parts []string
	if g.Moved {
		parts = append(parts, MovedSummary)
	}
	for _, f := range g.Files {
		if f.shown() {
			parts = append(parts, f.Line())
		}
	}
	b.WriteString(strings.Join(parts, "; "))
	return b.String()
}

// Line is the file's name and its summary.
func (f FileSummary) Line() string {
	return displayName(f.Path) + " " + f.Summary
}

// displayName is a store file as people call it: its base name, but for
// the two kustomization.yaml files.
func displayName(rel string) string {
	if b := path.Base(rel); b != "kustomization.yaml" {
		return b
	}
	return rel
}

// countStores is "1 store" or "9,812 stores".
func countStores(n int) string {
	if n == 1 {
		return "1 store"
	}
	return thousands(n) + " stores"
}

// thousands writes n with a comma between groups of three digits.
func thousands(n int) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// group gathers changes (sorted by store) into groups: the biggest first,
// then by their first store.
func group(changes []*StoreChange) []*Group {
	byKey := map[string]*Group{}
	var order []*Group
	plans := map[*Group]map[string]bool{}
	for _, c := range changes {
		g := byKey[c.key]
		if g == nil {
			g = &Group{Moved: c.Moved, Files: c.summary, Representative: c.Store, Diff: unifiedDiff(c)}
			byKey[c.key] = g
			plans[g] = map[string]bool{}
			order = append(order, g)
		}
		g.Stores = append(g.Stores, c.Store)
		plans[g][c.Plan] = true
	}
	for _, g := range order {
		g.Size = len(g.Stores)
		if len(plans[g]) == 1 {
			for p := range plans[g] {
				g.Plan = p
			}
		}
	}
	sort.SliceStable(order, func(i, j int) bool { return len(order[i].Stores) > len(order[j].Stores) })
	return order
}

// signatures memoizes the description of file changes: across a fleet,
// most stores make the same few changes.
type signatures struct {
	mu   sync.Mutex
	seen map[[2][32]byte]fileSig
}

type fileSig struct {
	key     string
	summary string
}

func newSignatures() *signatures {
	return &signatures{seen: map[[2][32]byte]fileSig{}}
}

// describe returns the key of a store's change, equal for two stores
// exactly when they make the same line changes to the same files once
// their own names are abstracted away, and a summary per file.
func (s *signatures) describe(c *StoreChange, baseDomain string) (string, []FileSummary) {
	abs := abstracter(c, baseDomain)
	var key strings.Builder
	if c.Moved {
		key.WriteString("moved\n")
	}
	var sums []FileSummary
	for _, f := range c.Files {
		fs := FileSummary{Path: f.Path, Kind: f.Kind}
		fmt.Fprintf(&key, "%s %s\n", f.Kind, f.Path)
		switch f.Kind {
		case Added:
			sig := s.file(nil, []byte(abs.Replace(string(f.New))))
			key.WriteString(sig.key)
			fs.Summary = fmt.Sprintf("added (+%d)", countLines(f.New))
		case Removed:
			sig := s.file([]byte(abs.Replace(string(f.Old))), nil)
			key.WriteString(sig.key)
			fs.Summary = fmt.Sprintf("removed (-%d)", countLines(f.Old))
		case Changed:
			sig := s.file([]byte(abs.Replace(string(f.Old))), []byte(abs.Replace(string(f.New))))
			key.WriteString(sig.key)
			fs.Summary = sig.summary
			if sig.key == "" {
				// Only the store's own directory changed in it: the move.
				fs.Summary = movedFile
			}
		case Kept:
			fs.Summary = movedFile
		}
		sums = append(sums, fs)
	}
	sum := sha256.Sum256([]byte(key.String()))
	return string(sum[:]), sums
}

// file describes the change of one file from old to new (nil when the
// file is added or removed), both with the store's names abstracted.
func (s *signatures) file(old, new []byte) fileSig {
	id := [2][32]byte{sha256.Sum256(old), sha256.Sum256(new)}
	s.mu.Lock()
	sig, ok := s.seen[id]
	s.mu.Unlock()
	if ok {
		return sig
	}
	sig = describeLines(splitLines(old), splitLines(new))
	s.mu.Lock()
	s.seen[id] = sig
	s.mu.Unlock()
	return sig
}

// describeLines is the line change from a to b, without line numbers or
// context (so it is the same wherever in the file it falls), and its
// summary: "key old -> new" for up to three distinct values changed in
// place, else "changed (+added -removed)".
func describeLines(a, b []string) fileSig {
	var key strings.Builder
	var pairs []string
	seenPair := map[string]bool{}
	inPlace := true
	added, removed := 0, 0
	for _, op := range difflib.NewMatcher(a, b).GetOpCodes() {
		if op.Tag == 'e' {
			continue
		}
		key.WriteString("@@\n")
		for _, l := range a[op.I1:op.I2] {
			key.WriteString("-" + l + "\n")
		}
		for _, l := range b[op.J1:op.J2] {
			key.WriteString("+" + l + "\n")
		}
		removed += op.I2 - op.I1
		added += op.J2 - op.J1
		if op.Tag != 'r' || op.I2-op.I1 != op.J2-op.J1 {
			inPlace = false
			continue
		}
		for k := range op.I2 - op.I1 {
			p, ok := valueChange(a[op.I1+k], b[op.J1+k])
			if !ok {
				inPlace = false
				break
			}
			if !seenPair[p] {
				seenPair[p] = true
				pairs = append(pairs, p)
			}
		}
	}
	summary := fmt.Sprintf("changed (+%d -%d)", added, removed)
	if inPlace && len(pairs) > 0 && len(pairs) <= 3 {
		summary = strings.Join(pairs, ", ")
	}
	return fileSig{key: key.String(), summary: forge.KeepStart(summary, maxSummary)}
}

// maxSummary bounds the summary of one file.
const maxSummary = 160

// valueChange reads two YAML lines that set the same key to different
// values: "chart-version 0.1.0 -> 0.2.0".
func valueChange(a, b string) (string, bool) {
	ka, va, ok := strings.Cut(a, ": ")
	kb, vb, ok2 := strings.Cut(b, ": ")
	if !ok || !ok2 || ka != kb {
		return "", false
	}
	return shortKey(ka) + " " + unquote(va) + " -> " + unquote(vb), true
}

// shortKey is the last word of a YAML key: "cpu" for "limits.cpu",
// "chart-version" for "purrvision.dev/chart-version".
func shortKey(k string) string {
	k = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(k), "- "))
	if i := strings.LastIndex(k, "/"); i >= 0 && i < len(k)-1 {
		k = k[i+1:]
	}
	if strings.Count(k, ".") == 1 && !strings.HasSuffix(k, ".") {
		k = k[strings.Index(k, ".")+1:]
	}
	return k
}

func unquote(v string) string {
	v = strings.TrimSpace(v)
	if len(v) >= 2 && (v[0] == '"' && v[len(v)-1] == '"' || v[0] == '\'' && v[len(v)-1] == '\'') {
		return v[1 : len(v)-1]
	}
	return v
}

// splitLines splits data into lines, each ending in "\n" (the last one
// too, if the file lacks it).
func splitLines(data []byte) []string {
	if len(data) == 0 {
		return nil
	}
	lines := strings.SplitAfter(string(data), "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	} else {
		lines[len(lines)-1] += "\n"
	}
	return lines
}

func countLines(data []byte) int { return len(splitLines(data)) }

// abstracter replaces a store's own names (its directories, host,
// namespace and name) with placeholders, the name and namespace only as
// whole words.
func abstracter(c *StoreChange, baseDomain string) *wordReplacer {
	return &wordReplacer{pairs: [][2]string{
		{c.Dir, "<dir>"},
		{c.From, "<dir>"},
		{v1alpha1.Host(c.Store, baseDomain), "<host>"},
		{v1alpha1.Namespace(c.Store), "<namespace>"},
		{c.Store, "<store>"},
	}}
}

type wordReplacer struct{ pairs [][2]string }

// Replace replaces each word in turn where it stands alone: not inside a
// longer name of letters, digits and '-'.
func (w *wordReplacer) Replace(s string) string {
	for _, p := range w.pairs {
		s = replaceWord(s, p[0], p[1])
	}
	return s
}

func replaceWord(s, word, repl string) string {
	if word == "" || !strings.Contains(s, word) {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, word)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		end := i + len(word)
		if (i > 0 && isNameByte(s[i-1])) || (end < len(s) && isNameByte(s[end])) {
			b.WriteString(s[:end])
		} else {
			b.WriteString(s[:i] + repl)
		}
		s = s[end:]
	}
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-'
}

// unifiedDiff is a store's change as git shows it: a unified diff per
// file, a rename for a file a move keeps as it is.
func unifiedDiff(c *StoreChange) string {
	var b strings.Builder
	for _, f := range c.Files {
		from, to := "a/"+path.Join(c.From, f.Path), "b/"+path.Join(c.Dir, f.Path)
		fmt.Fprintf(&b, "diff --git %s %s\n", from, to)
		switch f.Kind {
		case Kept:
			fmt.Fprintf(&b, "rename from %s\nrename to %s\n", path.Join(c.From, f.Path), path.Join(c.Dir, f.Path))
			continue
		case Added:
			from = "/dev/null"
		case Removed:
			to = "/dev/null"
		}
		d, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
			A: splitLines(f.Old), B: splitLines(f.New), FromFile: from, ToFile: to, Context: 3,
		})
		if err != nil {
			// difflib fails only when its writer does; a strings.Builder
			// never does.
			d = fmt.Sprintf("(diff failed: %v)\n", err)
		}
		b.WriteString(d)
	}
	return b.String()
}
