package ghstandin

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path"
	"strings"

	"github.com/purrvision/purrvision/internal/gitserver"
)

// What `purrvision setup` calls: the repository, its labels, and files
// read and written through the contents API on a git-backed repository,
// with the branch to propose them from made through the git refs API.
// Writes are pushes by the caller, under the protection and rulesets.

// Resources of these routes, as SetObjectHook names them.
const (
	ResContent = "content-file"
	ResGitRef  = "git-ref"
)

// label is a repository label created through the API.
type label struct{ name, color, description string }

// getRepo is "Get a repository".
func (s *Server) getRepo(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.lookup(w, r)
	if rp == nil {
		return
	}
	o := s.repoJSON(rp)
	o["network_count"], o["subscribers_count"] = 0, 0
	writeJSON(w, http.StatusOK, o)
}

// listLabels is "List labels for a repository".
func (s *Server) listLabels(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.lookup(w, r)
	if rp == nil {
		return
	}
	out := []object{}
	for _, l := range rp.labels {
		out = append(out, s.labelJSON(rp, l.name))
	}
	writePage(w, r, out)
}

// labelInput is the body of "Create a label" and "Update a label".
type labelInput struct {
	Name        *string `json:"name"`
	NewName     *string `json:"new_name"`
	Color       *string `json:"color"`
	Description *string `json:"description"`
}

// labelAt is the index of a label by name, as GitHub matches them
// (ignoring case); -1 when none. s.mu held.
func (rp *repo) labelAt(name string) int {
	for i, l := range rp.labels {
		if strings.EqualFold(l.name, name) {
			return i
		}
	}
	return -1
}

func (in labelInput) apply(l *label) (string, string) {
	if in.Color != nil {
		l.color = strings.TrimPrefix(*in.Color, "#")
	}
	if in.Description != nil {
		l.description = *in.Description
	}
	if len(l.color) != 6 || strings.Trim(strings.ToLower(l.color), "0123456789abcdef") != "" {
		return "color", "color must be six hex digits"
	}
	if len(l.description) > 100 {
		return "description", "description is too long (maximum is 100 characters)"
	}
	return "", ""
}

// createLabel is "Create a label": 201, 422 for a name taken.
func (s *Server) createLabel(w http.ResponseWriter, r *http.Request) {
	var in labelInput
	if !decode(w, r, &in) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.lookup(w, r)
	if rp == nil {
		return
	}
	if in.Name == nil || *in.Name == "" {
		validationFailed(w, "Label", "name", "name is missing")
		return
	}
	if rp.labelAt(*in.Name) >= 0 {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"message": "Validation Failed", "documentation_url": "https://docs.github.com/rest/issues/labels#create-a-label",
			"errors": []object{{"resource": "Label", "code": "already_exists", "field": "name"}}})
		return
	}
	l := label{name: *in.Name, color: "ededed"}
	if field, msg := in.apply(&l); field != "" {
		validationFailed(w, "Label", field, msg)
		return
	}
	rp.labels = append(rp.labels, l)
	writeJSON(w, http.StatusCreated, s.labelJSON(rp, l.name))
}

// editLabel is "Update a label".
func (s *Server) editLabel(w http.ResponseWriter, r *http.Request) {
	var in labelInput
	if !decode(w, r, &in) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.lookup(w, r)
	if rp == nil {
		return
	}
	i := rp.labelAt(r.PathValue("name"))
	if i < 0 {
		notFound(w)
		return
	}
	l := rp.labels[i]
	if in.NewName != nil && *in.NewName != "" {
		l.name = *in.NewName
	}
	if field, msg := in.apply(&l); field != "" {
		validationFailed(w, "Label", field, msg)
		return
	}
	rp.labels[i] = l
	writeJSON(w, http.StatusOK, s.labelJSON(rp, l.name))
}

// gitRaw runs git in dir with stdin and extra environment, its output
// untrimmed.
func gitRaw(dir, stdin string, env []string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Env = append(cmd.Environ(), "GIT_AUTHOR_NAME=GitHub", "GIT_AUTHOR_EMAIL=noreply@github.com",
		"GIT_COMMITTER_NAME=GitHub", "GIT_COMMITTER_EMAIL=noreply@github.com", "GIT_CONFIG_NOSYSTEM=1")
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %w", strings.Join(args, " "), err)
	}
	return string(out), nil
}

// contentFileJSON is a file as "Get repository content" answers.
func (s *Server) contentFileJSON(rp *repo, ref, p, sha string, size int, content string) object {
	api := s.repoAPI(rp) + "/contents/" + p + "?ref=" + url.QueryEscape(ref)
	html := s.repoHTML(rp) + "/blob/" + ref + "/" + p
	gitURL := s.repoAPI(rp) + "/git/blobs/" + sha
	o := object{"type": "file", "encoding": "base64", "size": size, "name": path.Base(p), "path": p, "sha": sha,
		"url": api, "git_url": gitURL, "html_url": html, "download_url": s.repoHTML(rp) + "/raw/" + ref + "/" + p,
		"_links": object{"self": api, "git": gitURL, "html": html}}
	if content != "" || size == 0 {
		o["content"] = content
	}
	return s.finish(ResContent, o)
}

// getContents is "Get repository content" for a file of a git-backed
// repository, at ?ref= (a branch or a commit; the default branch when
// none). Folders are not served.
func (s *Server) getContents(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.lookup(w, r)
	if rp == nil {
		return
	}
	ref := r.URL.Query().Get("ref")
	if ref == "" {
		ref = rp.defaultBranch
	}
	p := r.PathValue("path")
	if rp.gitDir == "" {
		notFound(w)
		return
	}
	sha, err := git(rp.gitDir, "rev-parse", "--verify", "--quiet", ref+":"+p)
	kind := ""
	if err == nil {
		kind, err = git(rp.gitDir, "cat-file", "-t", sha)
	}
	if err != nil || kind != "blob" {
		notFound(w)
		return
	}
	data, err := gitRaw(rp.gitDir, "", nil, "cat-file", "blob", sha)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"message": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, s.contentFileJSON(rp, ref, p, sha, len(data), base64.StdEncoding.EncodeToString([]byte(data))))
}

// putContents is "Create or update file contents": a commit of the file
// onto ?branch (the default branch when none) by the caller, 201 for a
// new file and 200 for a changed one; 409 when sha is not the file's
// blob, or when the branch's protection or rulesets refuse the push.
func (s *Server) putContents(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Message string  `json:"message"`
		Content string  `json:"content"`
		SHA     *string `json:"sha"`
		Branch  *string `json:"branch"`
	}
	if !decode(w, r, &in) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.lookup(w, r)
	if rp == nil {
		return
	}
	p := r.PathValue("path")
	branch := rp.defaultBranch
	if in.Branch != nil {
		branch = *in.Branch
	}
	data, err := base64.StdEncoding.DecodeString(in.Content)
	if err != nil || in.Message == "" {
		validationFailed(w, "Content", "content", "message and content (base64) are required")
		return
	}
	parent, err := rp.headSHA(branch)
	if err != nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "Branch " + branch + " not found", "documentation_url": "https://docs.github.com/rest/repos/contents#create-or-update-file-contents"})
		return
	}
	old, _ := git(rp.gitDir, "rev-parse", "--verify", "--quiet", parent+":"+p)
	if (old == "") != (in.SHA == nil) || (in.SHA != nil && *in.SHA != old) {
		writeJSON(w, http.StatusConflict, map[string]string{"message": fmt.Sprintf("%s does not match %s", p, deref(in.SHA)), "documentation_url": "https://docs.github.com/rest/repos/contents#create-or-update-file-contents"})
		return
	}
	commit, err := s.commitFile(rp, parent, p, string(data), in.Message)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"message": err.Error()})
		return
	}
	if s.refusal(rp, actor(r), gitserver.Update{Ref: "refs/heads/" + branch, Old: parent, New: commit, FastForward: true}) != nil {
		writeJSON(w, http.StatusConflict, map[string]string{"message": "Repository rule violations found", "documentation_url": "https://docs.github.com/rest/repos/contents#create-or-update-file-contents"})
		return
	}
	if _, err := git(rp.gitDir, "update-ref", "refs/heads/"+branch, commit, parent); err != nil {
		writeJSON(w, http.StatusConflict, map[string]string{"message": "the branch moved; try again"})
		return
	}
	blob, _ := git(rp.gitDir, "rev-parse", commit+":"+p)
	code := http.StatusOK
	if old == "" {
		code = http.StatusCreated
	}
	content := s.contentFileJSON(rp, branch, p, blob, len(data), "")
	delete(content, "encoding")
	writeJSON(w, code, object{"content": content, "commit": object{
		"sha": commit, "node_id": nodeID("C", userID(commit)), "url": s.repoAPI(rp) + "/git/commits/" + commit,
		"html_url": s.repoHTML(rp) + "/commit/" + commit, "message": in.Message,
		"parents": []object{{"sha": parent, "url": s.repoAPI(rp) + "/git/commits/" + parent, "html_url": s.repoHTML(rp) + "/commit/" + parent}},
	}})
}

// commitFile makes a commit of parent's tree with file p set to content;
// s.mu held.
func (s *Server) commitFile(rp *repo, parent, p, content, message string) (string, error) {
	index, err := os.CreateTemp("", "standin-index-")
	if err != nil {
		return "", err
	}
	index.Close()
	defer os.Remove(index.Name())
	env := []string{"GIT_INDEX_FILE=" + index.Name()}
	blob, err := gitRaw(rp.gitDir, content, nil, "hash-object", "-w", "--stdin")
	if err != nil {
		return "", err
	}
	steps := [][]string{{"read-tree", parent}, {"update-index", "--add", "--cacheinfo", "100644," + strings.TrimSpace(blob) + "," + p}}
	for _, args := range steps {
		if _, err := gitRaw(rp.gitDir, "", env, args...); err != nil {
			return "", err
		}
	}
	tree, err := gitRaw(rp.gitDir, "", env, "write-tree")
	if err != nil {
		return "", err
	}
	commit, err := gitRaw(rp.gitDir, message, nil, "commit-tree", strings.TrimSpace(tree), "-p", parent)
	return strings.TrimSpace(commit), err
}

// gitRefJSON is a ref as the git refs API answers.
func (s *Server) gitRefJSON(rp *repo, ref, sha string) object {
	return s.finish(ResGitRef, object{"ref": ref, "node_id": nodeID("REF", userID(ref)), "url": s.repoAPI(rp) + "/git/" + ref,
		"object": object{"type": "commit", "sha": sha, "url": s.repoAPI(rp) + "/git/commits/" + sha}})
}

// getRef is "Get a reference" (heads/<branch>).
func (s *Server) getRef(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.lookup(w, r)
	if rp == nil {
		return
	}
	ref := "refs/" + r.PathValue("ref")
	sha := ""
	if rp.gitDir != "" {
		sha, _ = git(rp.gitDir, "rev-parse", "--verify", "--quiet", ref)
	}
	if sha == "" {
		notFound(w)
		return
	}
	writeJSON(w, http.StatusOK, s.gitRefJSON(rp, ref, sha))
}

// createRef is "Create a reference": a push by the caller creating it;
// 422 when it exists, its commit does not, or the rules refuse it.
func (s *Server) createRef(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Ref string `json:"ref"`
		SHA string `json:"sha"`
	}
	if !decode(w, r, &in) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.lookup(w, r)
	if rp == nil {
		return
	}
	fail := func(msg string) {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"message": msg, "documentation_url": "https://docs.github.com/rest/git/refs#create-a-reference"})
	}
	if rp.gitDir == "" || !strings.HasPrefix(in.Ref, "refs/") || strings.Count(in.Ref, "/") < 2 {
		fail("Reference name is invalid")
		return
	}
	if _, err := git(rp.gitDir, "rev-parse", "--verify", "--quiet", in.Ref); err == nil {
		fail("Reference already exists")
		return
	}
	if _, err := git(rp.gitDir, "cat-file", "-e", in.SHA+"^{commit}"); err != nil {
		fail("Object does not exist")
		return
	}
	if s.refusal(rp, actor(r), gitserver.Update{Ref: in.Ref, Old: gitserver.ZeroSHA, New: in.SHA, FastForward: true}) != nil {
		fail("Repository rule violations found")
		return
	}
	if _, err := git(rp.gitDir, "update-ref", in.Ref, in.SHA, ""); err != nil {
		fail("Reference already exists")
		return
	}
	writeJSON(w, http.StatusCreated, s.gitRefJSON(rp, in.Ref, in.SHA))
}
