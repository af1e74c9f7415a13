package rollout

import (
	"fmt"
	"strings"

	"github.com/purrvision/purrvision/internal/api/v1alpha1"
	"github.com/purrvision/purrvision/internal/forge"
)

// Bounds of the Markdown summary.
const (
	// maxDiffGroups is how many groups show their diff.
	maxDiffGroups = 10
	// maxDiff bounds one group's diff.
	maxDiff = 4000
	// maxNames is how many stores a group, or the skipped list, names.
	maxNames = 10
	// maxSkipped is how many skipped stores the summary lists.
	maxSkipped = 20
	// maxLine bounds a headline or a reason in the summary.
	maxLine = 300
)

// PlanCommand is the command that shows a plan whole.
const PlanCommand = "purrvision rollout plan"

// Markdown summarizes the plan for a pull request body or a check run, in
// at most limit bytes (and so characters; forge.MaxBody for GitHub): the
// biggest groups first, each with its stores and, for the first ones, its
// representative diff, then "and N more groups" pointing at
// `purrvision rollout plan`, then the skipped stores.
func Markdown(p *Plan, limit int) string {
	head := "**" + overview(p) + ".**\n"
	tail := skippedMarkdown(p)
	var blocks []string
	used := len(head) + len(tail) + maxMoreLine
	shown, storesShown := 0, 0
	for i, g := range p.Groups {
		block := groupMarkdown(g, i < maxDiffGroups)
		if used+len(block) > limit {
			block = groupMarkdown(g, false)
		}
		if used+len(block) > limit {
			break
		}
		used += len(block)
		blocks = append(blocks, block)
		shown++
		storesShown += len(g.Stores)
	}
	var b strings.Builder
	b.WriteString(head)
	for _, bl := range blocks {
		b.WriteString(bl)
	}
	if rest := len(p.Groups) - shown; rest > 0 {
		more := "more groups"
		if rest == 1 {
			more = "more group"
		}
		fmt.Fprintf(&b, "\n…and %s %s (%s): `%s` lists every group with its diff.\n",
			thousands(rest), more, countStores(len(p.Changes)-storesShown), PlanCommand)
	} else if len(p.Groups) > 0 {
		fmt.Fprintf(&b, "\n`%s` prints the same plan.\n", PlanCommand)
	}
	b.WriteString(tail)
	out := b.String()
	if len(out) > limit {
		// Only a limit below the fixed parts gets here.
		return forge.KeepStart(out, limit)
	}
	return out
}

// maxMoreLine bounds the "and N more groups" line.
const maxMoreLine = 160

func groupMarkdown(g *Group, withDiff bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n#### %s", countStores(len(g.Stores)))
	if g.Plan != "" {
		fmt.Fprintf(&b, " (plan %s)", codeSpan(g.Plan, 40))
	}
	b.WriteString("\n\n")
	if g.Moved {
		fmt.Fprintf(&b, "- %s\n", MovedSummary)
	}
	for _, f := range g.Files {
		if !f.shown() {
			continue
		}
		fmt.Fprintf(&b, "- %s\n", codeSpan(f.Line(), maxLine))
	}
	fmt.Fprintf(&b, "\nStores: %s.\n", namesText(g.Stores, maxNames, func(s string) string { return codeSpan(s, 60) }))
	if withDiff {
		fmt.Fprintf(&b, "\n<details><summary>Diff of %s</summary>\n\n%s\n</details>\n", codeSpan(g.Representative, 60), codeBlock("diff", cutLines(g.Diff, maxDiff)))
	}
	return b.String()
}

// cutLines cuts text to at most max bytes at a line's end, saying so.
func cutLines(text string, max int) string {
	if len(text) <= max {
		return text
	}
	const note = "... (cut; the whole diff is in `purrvision rollout plan`)\n"
	cut := text[:max-len(note)]
	if i := strings.LastIndexByte(cut, '\n'); i >= 0 {
		cut = cut[:i+1]
	}
	return cut + note
}

func skippedMarkdown(p *Plan) string {
	if len(p.Skipped) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n#### %s skipped, left as they are\n\n", countStores(len(p.Skipped)))
	for i, s := range p.Skipped {
		if i == maxSkipped {
			fmt.Fprintf(&b, "- and %s more\n", thousands(len(p.Skipped)-i))
			break
		}
		fmt.Fprintf(&b, "- %s: %s\n", codeSpan(s.Store, 60), codeSpan(s.Reason, maxLine))
	}
	return b.String()
}

// WaveCheck is the check run purrvision/rollout of wave n of rollout id at
// the commit sha: its title names the wave, its summary is the wave's
// grouped plan within GitHub's limits, and it links the tracking issue.
// It concludes success: the stores re-render as the plan says.
func WaveCheck(id string, n int, sha, tracking string, p *Plan) forge.CheckRun {
	title := forge.KeepStart(fmt.Sprintf("Rollout %s, wave %d: %s", id, n, overview(p)), forge.MaxCheckTitle)
	head := fmt.Sprintf("Wave %d of rollout %s, tracked in %s.\n\n", n, id, tracking)
	return forge.CheckRun{Name: v1alpha1.RolloutCheckName, HeadSHA: sha, Conclusion: "success", DetailsURL: tracking,
		Output: forge.CheckOutput{Title: title, Summary: head + Markdown(p, forge.MaxCheckSummary-len(head))}}
}
