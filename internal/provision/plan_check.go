package provision

import (
	"bufio"
	"bytes"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/config"
	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/renderer"
)

// The check run purrvision/plan reports, on the commit it was computed
// for, what merging a pull request does: each store with its plan, quota
// and hostname, the objects it creates, changes or deletes, and a diff
// summary per file, against the base branch. PlanCheck computes it from
// the two trees alone, so request pull requests and the bot's own store
// pull requests (provision, resize, rotate-credentials, decommission) are
// reported alike, and the same commit always gets the same check.

// Conclusions of a check run.
const (
	CheckSuccess = "success"
	CheckFailure = "failure"
	CheckNeutral = "neutral"
)

// CheckInput is what PlanCheck reads.
type CheckInput struct {
	Config *config.Config
	// Base is the tenants repo at the base branch; Head at the commit
	// checked.
	Base, Head renderer.Tree
	// Op is what the pull request does: v1alpha1.OpProvision for a
	// request pull request.
	Op string
	// Stores are the stores the pull request provisions or changes.
	Stores []string
	// Problems, when there are any, fail the check: what to fix.
	Problems []FieldError
	// Refused, when set, is why the pull request is not validated: the
	// check is neutral.
	Refused string
	// StatusPage is the status page's URL; "" without one.
	StatusPage string
	// Placed says why each new store goes to its cluster, by store.
	Placed map[string]string
}

// CheckPlan is the check run a commit should have.
type CheckPlan struct {
	Conclusion string
	DetailsURL string
	Output     forge.CheckOutput
}

// Run is the check run of plan on sha.
func (c *CheckPlan) Run(sha string) forge.CheckRun {
	return forge.CheckRun{Name: v1alpha1.CheckName, HeadSHA: sha, Conclusion: c.Conclusion, DetailsURL: c.DetailsURL, Output: c.Output}
}

// PlanCheck computes the check run purrvision/plan of a pull request's
// head: failure with what to fix, neutral with why it is not validated,
// or success with the plan.
func PlanCheck(in CheckInput) (*CheckPlan, error) {
	plan := &CheckPlan{DetailsURL: in.StatusPage}
	if len(in.Stores) == 1 && in.StatusPage != "" {
		plan.DetailsURL = v1alpha1.StatusPageURL(in.StatusPage, in.Stores[0])
	}
	switch {
	case len(in.Problems) > 0:
		plan.Conclusion = CheckFailure
		plan.Output = problemsOutput(in.Problems)
		return plan, nil
	case in.Refused != "":
		plan.Conclusion = CheckNeutral
		plan.Output = forge.CheckOutput{Title: "Not validated",
			Summary: forge.KeepStart(neutralize(in.Refused), forge.MaxCheckSummary)}
		return plan, nil
	}
	stores := make([]storeChange, 0, len(in.Stores))
	for _, name := range in.Stores {
		sc, err := planStore(in.Config, in.Base, in.Head, name)
		if err != nil {
			return nil, err
		}
		if sc.Change == "added" {
			sc.Why = in.Placed[name]
		}
		stores = append(stores, sc)
	}
	plan.Conclusion = CheckSuccess
	plan.Output = forge.CheckOutput{
		Title:   checkTitle(in.Op, in.Stores),
		Summary: checkSummary(stores),
		Text:    checkText(stores),
	}
	return plan, nil
}

// storeChange is one store as the check shows it.
type storeChange struct {
	Name, Cluster, Dir string
	// Why the store goes to Cluster, for a new one.
	Why string
	// Change is what merging does to the store: added, changed or
	// removed.
	Change      string
	Plan, Quota string
	Host        string
	Objects     []objectChange
	Files       []fileChange
	Unchanged   int // files that stay as they are
}

type objectChange struct{ Kind, Name, Change string }

type fileChange struct {
	Path, Change   string
	Added, Removed int
}

// planStore compares a store's folder on the base branch and on the head.
func planStore(cfg *config.Config, base, head renderer.Tree, name string) (storeChange, error) {
	sc := storeChange{Name: name}
	after, afterCluster, err := renderer.FindStore(cfg, head, name)
	if err != nil {
		return sc, err
	}
	before, beforeCluster, err := renderer.FindStore(cfg, base, name)
	if err != nil {
		return sc, err
	}
	var afterFiles, beforeFiles map[string][]byte
	if after != nil {
		sc.Cluster, sc.Dir = afterCluster, renderer.StoreDir(cfg, afterCluster, name)
		if afterFiles, err = renderer.StoreFiles(head, sc.Dir); err != nil {
			return sc, err
		}
	}
	if before != nil {
		if sc.Dir == "" {
			sc.Cluster, sc.Dir = beforeCluster, renderer.StoreDir(cfg, beforeCluster, name)
		}
		if beforeFiles, err = renderer.StoreFiles(base, renderer.StoreDir(cfg, beforeCluster, name)); err != nil {
			return sc, err
		}
	}
	req := after
	switch {
	case after == nil && before == nil:
		sc.Change = "not rendered"
		return sc, nil
	case after == nil:
		sc.Change, req = "removed", before
	case before == nil:
		sc.Change = "added"
	default:
		sc.Change = "changed"
	}
	sc.Plan, sc.Host = req.Spec.Plan, v1alpha1.Host(name, renderer.BaseDomainOf(cfg, req))
	if before != nil && after != nil && before.Spec.Plan != after.Spec.Plan {
		sc.Plan = before.Spec.Plan + " → " + after.Spec.Plan
	}
	if p, ok := cfg.Plans[req.Spec.Plan]; ok {
		sc.Quota = fmt.Sprintf("%s CPU, %s memory, %s storage, %d pods", p.CPU.String(), p.Memory.String(), p.Storage.String(), p.Pods)
		if p.InternetEgress {
			sc.Quota += ", internet egress (443)"
		}
	} else {
		sc.Quota = "(the plan is not in the config)"
	}
	sc.Files, sc.Unchanged = fileChanges(beforeFiles, afterFiles)
	sc.Objects = objectChanges(beforeFiles, afterFiles)
	return sc, nil
}

// fileChanges is a line-diff summary of each file that differs.
func fileChanges(before, after map[string][]byte) ([]fileChange, int) {
	var out []fileChange
	unchanged := 0
	for _, p := range unionKeys(before, after) {
		b, inBefore := before[p]
		a, inAfter := after[p]
		old, new := lines(b), lines(a)
		switch {
		case !inBefore:
			out = append(out, fileChange{Path: p, Change: "added", Added: len(new)})
		case !inAfter:
			out = append(out, fileChange{Path: p, Change: "removed", Removed: len(old)})
		case bytes.Equal(a, b):
			unchanged++
		default:
			common := lcs(old, new)
			out = append(out, fileChange{Path: p, Change: "changed", Added: len(new) - common, Removed: len(old) - common})
		}
	}
	return out, unchanged
}

func unionKeys(ms ...map[string][]byte) []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range ms {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	sort.Strings(out)
	return out
}

func lines(data []byte) []string {
	if len(data) == 0 {
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

// maxDiffCells bounds the work of one file's line diff; past it, lines
// are matched as a multiset, which counts at least as many changes.
const maxDiffCells = 4 << 20

// lcs is the length of the longest common subsequence of two files'
// lines: what a minimal diff keeps.
func lcs(a, b []string) int {
	if len(a)*len(b) > maxDiffCells {
		count := map[string]int{}
		for _, l := range a {
			count[l]++
		}
		n := 0
		for _, l := range b {
			if count[l] > 0 {
				count[l]--
				n++
			}
		}
		return n
	}
	prev, cur := make([]int, len(b)+1), make([]int, len(b)+1)
	for i := range a {
		for j := range b {
			switch {
			case a[i] == b[j]:
				cur[j+1] = prev[j] + 1
			case prev[j+1] >= cur[j]:
				cur[j+1] = prev[j+1]
			default:
				cur[j+1] = cur[j]
			}
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// objectChanges are the Kubernetes objects in a store's files that
// merging creates, changes or deletes. The request copy and kustomize's
// own files are not applied to the cluster, so they are left out.
func objectChanges(before, after map[string][]byte) []objectChange {
	b, a := objectsIn(before), objectsIn(after)
	var out []objectChange
	for _, key := range unionKeys(b, a) {
		was, inBefore := b[key]
		is, inAfter := a[key]
		kind, name, _ := strings.Cut(key, "\x00")
		switch {
		case !inBefore:
			out = append(out, objectChange{kind, name, "created"})
		case !inAfter:
			out = append(out, objectChange{kind, name, "deleted"})
		case !bytes.Equal(was, is):
			out = append(out, objectChange{kind, name, "changed"})
		}
	}
	return out
}

// objectsIn reads the objects of a store's files, keyed by kind and
// namespace/name, each its YAML document. A document that is not an
// object is left out.
func objectsIn(files map[string][]byte) map[string][]byte {
	out := map[string][]byte{}
	for name, data := range files {
		if name == renderer.FileRequest || path.Base(name) == renderer.FileKustomization {
			continue
		}
		r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
		for {
			doc, err := r.Read()
			if err != nil { // io.EOF at the end
				break
			}
			var o struct {
				Kind     string `json:"kind"`
				Metadata struct {
					Name      string `json:"name"`
					Namespace string `json:"namespace"`
				} `json:"metadata"`
			}
			if yaml.Unmarshal(doc, &o) != nil || !kindRE.MatchString(o.Kind) || o.Metadata.Name == "" {
				continue // a kind is a word: nothing else is shown as one
			}
			id := o.Metadata.Name
			if o.Metadata.Namespace != "" {
				id = o.Metadata.Namespace + "/" + id
			}
			out[o.Kind+"\x00"+id] = doc
		}
	}
	return out
}

// kindRE matches a Kubernetes kind.
var kindRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]{0,62}$`)

// checkTitle is the check's title: "Provision: cat-cafe and dog-diner",
// "Rotate credentials: cat-cafe".
func checkTitle(op string, stores []string) string {
	head := strings.ToUpper(op[:1]) + strings.ReplaceAll(op[1:], "-", " ") + ": "
	return head + forge.Enumerate(stores, forge.MaxCheckTitle-utf8.RuneCountInString(head))
}

// code is s in a Markdown code span, on one line. What it shows comes from
// the tenants repo, which people with write access can push to, so it
// can break out of the span nowhere.
func code(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '`' || r == '\n' || r == '\r' || r == '|' {
			return -1
		}
		return r
	}, s)
	return "`" + forge.KeepStart(s, 200) + "`"
}

// checkSummary is the table of stores: plan, quota and hostname, within
// GitHub's limit; the stores that do not fit are counted.
func checkSummary(stores []storeChange) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Merging this pull request changes %s in the tenants repo, as rendered on this commit. Flux applies what is merged.\n\n", countStores(len(stores)))
	b.WriteString("| Store | Change | Cluster | Plan | Quota | Hostname |\n|---|---|---|---|---|---|\n")
	room := forge.MaxCheckSummary - utf8.RuneCountInString(b.String()) - 200
	for i, s := range stores {
		row := fmt.Sprintf("| %s | %s | %s | %s | %s | %s |\n", code(s.Name), s.Change, code(s.Cluster), code(s.Plan), s.Quota, code(s.Host))
		if n := utf8.RuneCountInString(row); n > room {
			fmt.Fprintf(&b, "\nAnd %s more, not shown: GitHub limits a check's summary to %d characters.\n", countStores(len(stores)-i), forge.MaxCheckSummary)
			break
		} else {
			room -= n
		}
		b.WriteString(row)
	}
	return b.String()
}

// checkText is each store's objects and files, within GitHub's limit; the
// stores that do not fit are named as far as they fit, and counted.
func checkText(stores []storeChange) string {
	var b strings.Builder
	room := forge.MaxCheckText - 600 // the closing note
	for i, s := range stores {
		section := storeSection(s)
		if n := utf8.RuneCountInString(section); n > room {
			rest := make([]string, 0, len(stores)-i)
			for _, r := range stores[i:] {
				rest = append(rest, r.Name)
			}
			fmt.Fprintf(&b, "### %s not shown\n\nGitHub limits a check's details to %d characters: %s. "+
				"Each store's files are in the pull request's diff; `purrvision audit <store>` and the status page follow each once merged.\n",
				countStores(len(rest)), forge.MaxCheckText, forge.Enumerate(rest, 400))
			break
		} else {
			room -= n
		}
		b.WriteString(section)
	}
	return b.String()
}

func countStores(n int) string {
	if n == 1 {
		return "1 store"
	}
	return fmt.Sprintf("%d stores", n)
}

// storeSection is one store's objects and files.
func storeSection(s storeChange) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### %s: %s\n\n", code(s.Name), s.Change)
	if s.Dir != "" {
		fmt.Fprintf(&b, "Cluster %s, folder %s.\n\n", code(s.Cluster), code(s.Dir+"/"))
	}
	if s.Why != "" {
		fmt.Fprintf(&b, "Placed on %s: %s.\n\n", code(s.Cluster), forge.KeepStart(s.Why, 600))
	}
	if len(s.Objects) > 0 {
		b.WriteString("| Object | Change |\n|---|---|\n")
		for _, o := range s.Objects {
			fmt.Fprintf(&b, "| %s %s | %s |\n", o.Kind, code(o.Name), o.Change)
		}
		b.WriteString("\n")
	} else {
		b.WriteString("No object changes.\n\n")
	}
	if len(s.Files) > 0 {
		b.WriteString("| File | Diff |\n|---|---|\n")
		for _, f := range s.Files {
			fmt.Fprintf(&b, "| %s | %s |\n", code(f.Path), f.summary())
		}
		b.WriteString("\n")
	}
	if s.Unchanged > 0 {
		fmt.Fprintf(&b, "%d %s unchanged.\n\n", s.Unchanged, plural(s.Unchanged, "file", "files"))
	}
	return b.String()
}

// summary is the file's diff on one line: "changed, +2 −1 lines".
func (f fileChange) summary() string {
	switch f.Change {
	case "added":
		return fmt.Sprintf("added, %d %s", f.Added, plural(f.Added, "line", "lines"))
	case "removed":
		return fmt.Sprintf("removed, %d %s", f.Removed, plural(f.Removed, "line", "lines"))
	}
	return fmt.Sprintf("changed, +%d −%d %s", f.Added, f.Removed, plural(f.Added+f.Removed, "line", "lines"))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// problemsOutput fails the check with what to fix, as the validation
// comment lists it.
func problemsOutput(problems []FieldError) forge.CheckOutput {
	title := fmt.Sprintf("%d %s to fix", len(problems), plural(len(problems), "problem", "problems"))
	lines := make([]string, len(problems))
	for i, pb := range problems {
		lines[i] = quoteUser(pb.Field) + ": " + neutralize(pb.Msg)
	}
	summary := listWithin(forge.MaxCheckSummary, "The store requests in this pull request can't be provisioned yet. Push a fix for each of these:\n\n", lines, "")
	return forge.CheckOutput{Title: title, Summary: summary}
}
