// Package ghstandin is an in-process stand-in for the GitHub REST API: the
// subset Purrvision uses (routes.go lists it), with state, GitHub's
// documented status codes, complete objects (objects.go, one builder per
// resource), GitHub's limits (limits.go), its protocol (pagination with
// Link, ETag and 304, rate-limit headers), real merges in git repositories
// on disk, signed webhooks with GitHub's delivery headers, and injectable
// faults (502s, secondary rate limits, 429s). It records every exchange for
// the checks against GitHub's published description (package ghspec).
// Tests and `purrvision dev` run against it.
package ghstandin

import (
	"bytes"
	"crypto/hmac"
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/google/go-github/v60/github"
)

// Server is the stand-in.
type Server struct {
	mu      sync.Mutex
	http    *http.Server
	ln      net.Listener
	baseURL string

	repos  map[string]*repo
	keys   map[string][]*github.Key   // login -> public SSH keys
	teams  map[string]map[string]bool // org/team -> members
	nextID int64
	faults Faults
	failOn map[string]*RouteFailure // route pattern -> the next answers to refuse
	rng    *rand.Rand
	clock  func() time.Time
	calls  map[string]int  // route pattern -> count
	auths  map[string]int  // Authorization header -> count
	tokens map[string]bool // installation tokens handed out
	// gitTokens are the tokens git over HTTP authenticates with: token ->
	// login (Token, SetToken).
	gitTokens map[string]string
	orgAdmins map[string]map[string]bool // org -> its owners
	failed    int

	reactions map[int64][]*reaction // comment ID -> reactions
	emails    map[string]string     // verified e-mail -> login

	manifestCodes map[string]*manifestApp // manifest flow code -> its App (manifests.go)

	started    time.Time
	rateUsed   map[string]int // Authorization header -> calls counted this hour
	recorder   func(Exchange)
	objectHook func(resource string, o map[string]any)

	hook     Webhook
	outbox   []delivery
	wake     chan struct{}
	inflight int        // deliveries queued and not yet sent
	idle     *sync.Cond // signalled when inflight drops to 0
	sent     []Delivery
	closed   chan struct{}
}

// Webhook is where events are delivered.
type Webhook struct {
	URL    string
	Secret []byte
}

// Faults make a share of API calls fail as GitHub sometimes does.
type Faults struct {
	// Rate is the share of calls that fail, from 0 to 1.
	Rate float64
	// RateLimitShare is the share of failures that are secondary rate
	// limits, with Retry-After: half 403s, half 429s, as GitHub sends
	// both; the rest are 502s, half of them after the change was applied.
	RateLimitShare float64
	// Seed makes the failures repeatable.
	Seed uint64
}

// Delivery is one webhook sent.
type Delivery struct {
	ID     string
	Event  string
	Body   []byte
	Status int
	// Header is what it was sent with: GitHub's delivery headers.
	Header http.Header
}

type delivery struct {
	Delivery
	done func()
}

type repo struct {
	id            int64
	created       github.Timestamp
	owner, name   string
	defaultBranch string
	nextNumber    int
	issues        map[int]*github.Issue
	comments      map[int64]*github.IssueComment
	commentIssue  map[int64]int
	pulls         map[int]*github.PullRequest
	reviews       map[int][]*github.PullRequestReview
	statuses      map[string][]*github.RepoStatus
	collaborators map[string]string
	deployments   []*deployment
	checkRuns     []*checkRun            // oldest first
	protections   map[string]*protection // branch -> its protection
	rulesets      []*ruleset
	labels        []label          // created through the API, oldest first
	requested     map[int][]string // pull request -> code owners asked to review
	gitDir        string
	stats         map[string]diffStat // base..head -> what a pull request changes
}

// New starts a stand-in on a free loopback port.
func New() (*Server, error) {
	s := &Server{
		repos:     map[string]*repo{},
		keys:      map[string][]*github.Key{},
		teams:     map[string]map[string]bool{},
		nextID:    1000,
		calls:     map[string]int{},
		auths:     map[string]int{},
		tokens:    map[string]bool{},
		gitTokens: map[string]string{},
		orgAdmins: map[string]map[string]bool{},
		rng:       rand.New(rand.NewPCG(1, 2)),
		rateUsed:  map[string]int{},
		started:   time.Now(),
		wake:      make(chan struct{}, 1),
		closed:    make(chan struct{}),
	}
	s.idle = sync.NewCond(&s.mu)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listening: %w", err)
	}
	s.ln = ln
	s.baseURL = "http://" + ln.Addr().String()
	s.http = &http.Server{Handler: s.routes(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.http.Serve(ln) }()
	go s.deliverLoop()
	return s, nil
}

// URL is the API root, for github.apiURL.
func (s *Server) URL() string { return s.baseURL + "/" }

// Close stops the server and the webhook deliveries.
func (s *Server) Close() error {
	close(s.closed)
	return s.http.Close()
}

// SetWebhook sets where events go.
func (s *Server) SetWebhook(h Webhook) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hook = h
}

// SetFaults changes the fault injection.
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = f
	s.rng = rand.New(rand.NewPCG(f.Seed, f.Seed^0x9e3779b97f4a7c15))
}

// Failed is how many calls the fault injection failed.
func (s *Server) Failed() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failed
}

// Calls is how many times each route was called.
func (s *Server) Calls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.calls))
	for k, v := range s.calls {
		out[k] = v
	}
	return out
}

// AddRepo creates a repository; gitDir, when set, is its bare git
// repository, where pull requests are merged for real.
func (s *Server) AddRepo(fullName, defaultBranch, gitDir string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	owner, name := splitRepo(fullName)
	s.repos[fullName] = &repo{
		id: s.id(), created: s.stamp(), stats: map[string]diffStat{},
		owner: owner, name: name, defaultBranch: defaultBranch, nextNumber: 1,
		issues: map[int]*github.Issue{}, comments: map[int64]*github.IssueComment{}, commentIssue: map[int64]int{},
		pulls: map[int]*github.PullRequest{}, reviews: map[int][]*github.PullRequestReview{},
		statuses: map[string][]*github.RepoStatus{}, collaborators: map[string]string{}, gitDir: gitDir,
		protections: map[string]*protection{}, requested: map[int][]string{},
	}
}

// SetKeys sets a user's public SSH keys.
func (s *Server) SetKeys(login string, keys ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[login] = nil
	for _, k := range keys {
		s.keys[login] = append(s.keys[login], s.newKey(k, ""))
	}
}

// SetPermission makes login a collaborator of repo.
func (s *Server) SetPermission(fullName, login, permission string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.repos[fullName].collaborators[login] = permission
}

// AddTeamMember adds login to org/team.
func (s *Server) AddTeamMember(orgTeam, login string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.teams[orgTeam] == nil {
		s.teams[orgTeam] = map[string]bool{}
	}
	s.teams[orgTeam][login] = true
}

// WaitDeliveries blocks until every queued webhook has been delivered.
func (s *Server) WaitDeliveries() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.inflight > 0 {
		s.idle.Wait()
	}
}

// delivered marks one queued delivery as sent.
func (s *Server) delivered() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inflight--; s.inflight == 0 {
		s.idle.Broadcast()
	}
}

// Deliveries returns the webhooks sent so far.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Delivery(nil), s.sent...)
}

// Redeliver sends a delivery again, with the same delivery ID, as GitHub's
// "Redeliver" button does.
func (s *Server) Redeliver(d Delivery) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.enqueue(delivery{Delivery: Delivery{ID: d.ID, Event: d.Event, Body: d.Body}, done: s.delivered})
}

// enqueue adds a delivery to the outbox; s.mu must be held.
func (s *Server) enqueue(d delivery) {
	s.inflight++
	s.outbox = append(s.outbox, d)
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// emit queues a webhook; s.mu must be held.
func (s *Server) emit(event string, payload object) {
	if s.hook.URL == "" {
		return
	}
	body, err := json.Marshal(payload)
	if err != nil {
		panic(fmt.Sprintf("ghstandin: encoding %s payload: %v", event, err))
	}
	s.enqueue(delivery{Delivery: Delivery{ID: newGUID(), Event: event, Body: body}, done: s.delivered})
}

func (s *Server) deliverLoop() {
	client := &http.Client{Timeout: 15 * time.Second}
	for {
		select {
		case <-s.closed:
			return
		case <-s.wake:
		}
		for {
			s.mu.Lock()
			if len(s.outbox) == 0 {
				s.mu.Unlock()
				break
			}
			d := s.outbox[0]
			s.outbox = s.outbox[1:]
			hook := s.hook
			s.mu.Unlock()
			d.Status, d.Header = send(client, hook, d.Delivery)
			s.mu.Lock()
			s.sent = append(s.sent, d.Delivery)
			s.mu.Unlock()
			d.done()
		}
	}
}

// The stand-in's one webhook, as a GitHub App's: its ID and the App's.
const (
	hookID = "1"
	appID  = 1
)

// send delivers a webhook with GitHub's delivery headers.
func send(client *http.Client, hook Webhook, d Delivery) (int, http.Header) {
	req, err := http.NewRequest(http.MethodPost, hook.URL, bytes.NewReader(d.Body))
	if err != nil {
		return 0, nil
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "GitHub-Hookshot/5a1b2c3")
	req.Header.Set("X-GitHub-Event", d.Event)
	req.Header.Set("X-GitHub-Delivery", d.ID)
	req.Header.Set("X-GitHub-Hook-ID", hookID)
	req.Header.Set("X-GitHub-Hook-Installation-Target-Type", "integration")
	req.Header.Set("X-GitHub-Hook-Installation-Target-ID", strconv.Itoa(appID))
	req.Header.Set("X-Hub-Signature-256", Sign(hook.Secret, d.Body))
	header := req.Header.Clone()
	resp, err := client.Do(req)
	if err != nil {
		return 0, header
	}
	resp.Body.Close()
	return resp.StatusCode, header
}

// Sign returns the X-Hub-Signature-256 header of body.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func newGUID() string {
	var b [16]byte
	if _, err := crand.Read(b[:]); err != nil {
		panic(err)
	}
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func splitRepo(full string) (string, string) {
	for i := range full {
		if full[i] == '/' {
			return full[:i], full[i+1:]
		}
	}
	return full, ""
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func notFound(w http.ResponseWriter) {
	writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found", "documentation_url": "https://docs.github.com/rest"})
}

// validationFailed answers GitHub's 422: what is wrong with which field of
// which resource.
func validationFailed(w http.ResponseWriter, resource, field, message string) {
	e := map[string]string{"resource": resource, "code": "custom", "message": message}
	if field != "" {
		e["field"] = field
	}
	writeJSON(w, http.StatusUnprocessableEntity, map[string]any{
		"message":           "Validation Failed",
		"errors":            []map[string]string{e},
		"documentation_url": "https://docs.github.com/rest",
	})
}

// SetClock makes the stand-in read the time from now, so tests can date
// what it records; time.Now when nil.
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clock = now
}

// stamp is the time now as GitHub writes it: UTC, to the second.
func (s *Server) stamp() github.Timestamp {
	now := time.Now
	if s.clock != nil {
		now = s.clock
	}
	return github.Timestamp{Time: now().UTC().Truncate(time.Second)}
}
