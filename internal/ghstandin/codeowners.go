package ghstandin

import (
	"regexp"
	"strings"
)

// CODEOWNERS, as GitHub reads it: the first of .github/CODEOWNERS,
// CODEOWNERS and docs/CODEOWNERS on the pull request's base branch; each
// line a pattern (gitignore's, with GitHub's differences) and its owners,
// users (@login) and teams (@org/team); the last line that matches a
// file names its owners.

// codeOwnersPaths are where GitHub looks, in its order.
var codeOwnersPaths = []string{".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"}

// ownerRule is one line of a CODEOWNERS file.
type ownerRule struct {
	pattern *regexp.Regexp
	owners  []string // "login" or "org/team", without the @
}

// codeOwners reads the CODEOWNERS file of commit; nil when there is none.
func (rp *repo) codeOwners(commit string) []ownerRule {
	if rp.gitDir == "" {
		return nil
	}
	for _, p := range codeOwnersPaths {
		text, err := git(rp.gitDir, "show", commit+":"+p)
		if err == nil {
			return parseCodeOwners(text)
		}
	}
	return nil
}

// parseCodeOwners reads a CODEOWNERS file; lines it cannot read are left
// out, as GitHub leaves them out (and lists them as errors).
func parseCodeOwners(text string) []ownerRule {
	var out []ownerRule
	for _, line := range strings.Split(text, "\n") {
		if i := strings.Index(line, " #"); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		re, err := ownerPattern(f[0])
		if err != nil {
			continue
		}
		r := ownerRule{pattern: re}
		for _, o := range f[1:] {
			if login, ok := strings.CutPrefix(o, "@"); ok {
				r.owners = append(r.owners, login)
			}
		}
		out = append(out, r)
	}
	return out
}

// ownerPattern is a CODEOWNERS pattern as a regular expression over a
// file's path: anchored to the root when it starts with / or has a / before
// its end, anywhere otherwise; a directory owns what is under it, but
// dir/* only the files directly in dir.
func ownerPattern(p string) (*regexp.Regexp, error) {
	anchored := strings.HasPrefix(p, "/") || strings.Contains(strings.TrimSuffix(p, "/"), "/")
	dirOnly := strings.HasSuffix(p, "/")
	p = strings.Trim(p, "/")
	var b strings.Builder
	b.WriteString("^")
	if !anchored {
		b.WriteString("(?:.*/)?")
	}
	for i := 0; i < len(p); i++ {
		switch c := p[i]; c {
		case '*':
			if i+1 < len(p) && p[i+1] == '*' {
				if i+2 < len(p) && p[i+2] == '/' {
					b.WriteString("(?:.*/)?")
					i += 2
				} else {
					b.WriteString(".*")
					i++
				}
			} else {
				b.WriteString("[^/]*")
			}
		case '?':
			b.WriteString("[^/]")
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	last := p[strings.LastIndex(p, "/")+1:]
	switch {
	case dirOnly:
		b.WriteString("/.*")
	case last == "*" && anchored:
		// dir/*: the files directly in dir
	default:
		b.WriteString("(?:/.*)?")
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}

// ownersOf are the owners of file: the last rule that matches it.
func ownersOf(rules []ownerRule, file string) []string {
	var out []string
	for _, r := range rules {
		if r.pattern.MatchString(file) {
			out = r.owners
		}
	}
	return out
}
