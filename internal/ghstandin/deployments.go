package ghstandin

import (
	"net/http"
	"sort"
	"strconv"

	"github.com/google/go-github/v60/github"
)

type deployment struct {
	d        *github.Deployment
	statuses []*github.DeploymentStatus // oldest first
}

func (s *Server) listDeployments(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.lookup(w, r)
	if rp == nil {
		return
	}
	q := r.URL.Query()
	var ds []*github.Deployment
	for _, d := range rp.deployments {
		if (q.Get("sha") == "" || d.d.GetSHA() == q.Get("sha")) && (q.Get("environment") == "" || d.d.GetEnvironment() == q.Get("environment")) {
			ds = append(ds, d.d)
		}
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i].GetID() > ds[j].GetID() })
	out := []object{}
	for _, d := range ds {
		out = append(out, s.deploymentJSON(rp, d))
	}
	writePage(w, r, out)
}

func (s *Server) createDeployment(w http.ResponseWriter, r *http.Request) {
	var in github.DeploymentRequest
	if !decode(w, r, &in) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.lookup(w, r)
	if rp == nil {
		return
	}
	if in.GetEnvironment() == "" {
		in.Environment = github.String("production")
	}
	if tooLong(w, environmentLimit(in.GetEnvironment())) {
		return
	}
	sha := in.GetRef()
	if rp.gitDir != "" {
		full, err := git(rp.gitDir, "rev-parse", "--verify", "--quiet", sha+"^{commit}")
		if err != nil {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"message": "No ref found for: " + sha, "documentation_url": "https://docs.github.com/rest/deployments/deployments#create-a-deployment"})
			return
		}
		sha = full
	}
	now := s.stamp()
	d := &github.Deployment{
		ID: github.Int64(s.id()), SHA: github.String(sha), Ref: in.Ref, Environment: in.Environment,
		Description: in.Description, Creator: s.user(actor(r)), CreatedAt: &now, UpdatedAt: &now,
		Task: github.String("deploy"),
	}
	rp.deployments = append(rp.deployments, &deployment{d: d})
	writeJSON(w, http.StatusCreated, s.deploymentJSON(rp, d))
}

func (s *Server) deployment(w http.ResponseWriter, r *http.Request) (*repo, *deployment) {
	rp := s.lookup(w, r)
	if rp == nil {
		return nil, nil
	}
	id, err := strconv.ParseInt(r.PathValue("deployment_id"), 10, 64)
	for _, d := range rp.deployments {
		if err == nil && d.d.GetID() == id {
			return rp, d
		}
	}
	notFound(w)
	return nil, nil
}

func (s *Server) getDeployment(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, d := s.deployment(w, r)
	if d == nil {
		return
	}
	writeJSON(w, http.StatusOK, s.deploymentJSON(rp, d.d))
}

func (s *Server) listDeploymentStatuses(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, d := s.deployment(w, r)
	if d == nil {
		return
	}
	out := []object{}
	for i := len(d.statuses) - 1; i >= 0; i-- {
		out = append(out, s.deploymentStatusJSON(rp, d.d, d.statuses[i]))
	}
	writePage(w, r, out)
}

var deploymentStates = map[string]bool{"error": true, "failure": true, "inactive": true, "in_progress": true, "queued": true, "pending": true, "success": true}

func (s *Server) createDeploymentStatus(w http.ResponseWriter, r *http.Request) {
	var in github.DeploymentStatusRequest
	if !decode(w, r, &in) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, d := s.deployment(w, r)
	if d == nil {
		return
	}
	if !deploymentStates[in.GetState()] {
		validationFailed(w, "DeploymentStatus", "state", "state is not included in the list")
		return
	}
	env := d.d.Environment
	if in.Environment != nil {
		env = in.Environment
	}
	if tooLong(w, statusDescriptionLimit("DeploymentStatus", in.GetDescription()), environmentLimit(*env)) {
		return
	}
	now := s.stamp()
	st := &github.DeploymentStatus{
		ID: github.Int64(s.id()), State: in.State, Description: in.Description, EnvironmentURL: in.EnvironmentURL, LogURL: in.LogURL,
		Environment: env, Creator: s.user(actor(r)), CreatedAt: &now, UpdatedAt: &now,
	}
	d.statuses = append(d.statuses, st)
	writeJSON(w, http.StatusCreated, s.deploymentStatusJSON(rp, d.d, st))
}

// DeploymentStates returns, per environment, the states of the statuses
// of its deployments, oldest first.
func (s *Server) DeploymentStates(fullName string) map[string][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string][]string{}
	for _, d := range s.repos[fullName].deployments {
		env := d.d.GetEnvironment()
		for _, st := range d.statuses {
			out[env] = append(out[env], st.GetState())
		}
	}
	return out
}

// DeploymentStatuses returns the statuses of an environment, oldest first.
func (s *Server) DeploymentStatuses(fullName, environment string) []*github.DeploymentStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*github.DeploymentStatus
	for _, d := range s.repos[fullName].deployments {
		if d.d.GetEnvironment() == environment {
			out = append(out, d.statuses...)
		}
	}
	return out
}
