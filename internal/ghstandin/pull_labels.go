package ghstandin

import "github.com/google/go-github/v60/github"

// pullLabelsJSON are the labels of a pull request as its endpoints show
// them: GitHub's description of pulls gives a label's description as a
// string, never null, where issues have null for none.
func (s *Server) pullLabelsJSON(rp *repo, labels []*github.Label) []object {
	out := s.labelsJSON(rp, labels)
	for _, l := range out {
		if l["description"] == nil {
			l["description"] = ""
		}
	}
	return out
}
