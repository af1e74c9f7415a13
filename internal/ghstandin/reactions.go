package ghstandin

import (
	"net/http"

	"github.com/google/go-github/v60/github"
)

// reaction is one reaction on a comment.
type reaction struct {
	id      int64
	login   string
	content string
	created github.Timestamp
}

// reactionContents are the reactions GitHub accepts.
var reactionContents = map[string]bool{"+1": true, "-1": true, "laugh": true, "confused": true, "heart": true, "hooray": true, "rocket": true, "eyes": true}

// createReaction adds the caller's reaction to a comment: 201, or 200 with
// the existing one when the caller reacted so already, as GitHub does;
// 422 for a content GitHub does not know.
func (s *Server) createReaction(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Content string `json:"content"`
	}
	if !decode(w, r, &in) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, id, _ := s.commentAt(w, r)
	if id == 0 {
		return
	}
	if !reactionContents[in.Content] {
		validationFailed(w, "Reaction", "content", "content is not included in the list")
		return
	}
	who := actor(r)
	for _, re := range s.reactions[id] {
		if re.login == who && re.content == in.Content {
			writeJSON(w, http.StatusOK, s.reactionJSON(re))
			return
		}
	}
	re := &reaction{id: s.id(), login: who, content: in.Content, created: s.stamp()}
	if s.reactions == nil {
		s.reactions = map[int64][]*reaction{}
	}
	s.reactions[id] = append(s.reactions[id], re)
	writeJSON(w, http.StatusCreated, s.reactionJSON(re))
}

// Reactions returns the reactions on a comment, as "login:content".
func (s *Server) Reactions(commentID int64) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, re := range s.reactions[commentID] {
		out = append(out, re.login+":"+re.content)
	}
	return out
}
