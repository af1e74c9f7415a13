// Package ghspec holds the GitHub stand-in to GitHub's published
// description: the REST API's OpenAPI document (@octokit/openapi) and the
// webhooks' (@octokit/openapi-webhooks), fetched by `make testbin` into the
// cache. It checks each exchange the stand-in recorded (the operation
// exists, its parameters and body fit, the status is documented, the answer
// has every required field) and each webhook it sent (payload and delivery
// headers). testutil.GitHub turns it on for every test that talks to the
// stand-in.
package ghspec

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/purrvision/purrvision/internal/ghstandin"
)

// The environment variables `make testbin` (hack/githubspec.sh) sets.
const (
	EnvOpenAPI  = "PURRVISION_GITHUB_OPENAPI"
	EnvWebhooks = "PURRVISION_GITHUB_WEBHOOKS"
)

// ErrNotFetched is returned when the descriptions are not where the
// environment says.
var ErrNotFetched = errors.New(EnvOpenAPI + " and " + EnvWebhooks + " are not set: run `make testbin` and the tests with `make test`, or `set -a; . bin/testbin.env; set +a` first")

// Spec is GitHub's description of its REST API and of its webhooks.
type Spec struct {
	api   *openapi3.T
	hooks *openapi3.T
}

var (
	loadOnce sync.Once
	loaded   *Spec
	loadErr  error
)

// Load reads the descriptions the environment names, once per process: the
// REST description takes a second or two to load.
func Load() (*Spec, error) {
	loadOnce.Do(func() { loaded, loadErr = load(os.Getenv(EnvOpenAPI), os.Getenv(EnvWebhooks)) })
	return loaded, loadErr
}

func load(apiFile, hooksFile string) (*Spec, error) {
	if apiFile == "" || hooksFile == "" {
		return nil, ErrNotFetched
	}
	var s Spec
	for _, f := range []struct {
		file string
		doc  **openapi3.T
	}{{apiFile, &s.api}, {hooksFile, &s.hooks}} {
		if _, err := os.Stat(f.file); err != nil {
			return nil, fmt.Errorf("%w (%v)", ErrNotFetched, err)
		}
		doc, err := openapi3.NewLoader().LoadFromFile(f.file)
		if err != nil {
			return nil, fmt.Errorf("loading %s: %w", f.file, err)
		}
		*f.doc = doc
	}
	return &s, nil
}

// Operation is the operation of GitHub's REST API at a method and a path
// template as the description writes it ("/repos/{owner}/{repo}/issues");
// nil when there is none.
func (s *Spec) Operation(method, path string) *openapi3.Operation {
	item := s.api.Paths.Value(path)
	if item == nil {
		return nil
	}
	return item.GetOperation(method)
}

// OperationFor is the path template of GitHub's REST API a concrete path
// matches, for a call the stand-in does not serve; "" for none.
func (s *Spec) OperationFor(method, path string) string {
	got := strings.Split(strings.Trim(path, "/"), "/")
	for tmpl, item := range s.api.Paths.Map() {
		if item.GetOperation(method) == nil {
			continue
		}
		want := strings.Split(strings.Trim(tmpl, "/"), "/")
		if len(want) != len(got) {
			continue
		}
		ok := true
		for i := range want {
			ok = ok && (strings.HasPrefix(want[i], "{") || want[i] == got[i])
		}
		if ok {
			return tmpl
		}
	}
	return ""
}

// Check holds one exchange to the description. An injected fault (a 502,
// or a rate limit the stand-in made up) is checked on the request side only,
// and a 304 to a conditional GET needs no documentation: GitHub answers any
// GET with an If-None-Match so.
func (s *Spec) Check(x ghstandin.Exchange) error {
	method, path := x.Request.Method, x.Request.URL.Path
	if x.Route == "" {
		if tmpl := s.OperationFor(method, path); tmpl != "" {
			return fmt.Errorf("%s %s: GitHub's %s %s, which the stand-in does not serve", method, path, method, tmpl)
		}
		return fmt.Errorf("%s %s: no such operation in GitHub's REST API", method, path)
	}
	_, tmpl, _ := strings.Cut(x.Route, " ")
	item := s.api.Paths.Value(tmpl)
	op := s.Operation(method, tmpl)
	if op == nil {
		return fmt.Errorf("%s: not an operation in GitHub's REST API", x.Route)
	}
	name := fmt.Sprintf("%s (%s)", x.Route, op.OperationID)
	req := x.Request.Clone(context.Background())
	req.Body = io.NopCloser(bytes.NewReader(allowed(op.OperationID, x.RequestBody)))
	in := &openapi3filter.RequestValidationInput{
		Request:    req,
		PathParams: x.PathParams,
		Route:      &routers.Route{Spec: s.api, Path: tmpl, PathItem: item, Method: method, Operation: op},
		Options: &openapi3filter.Options{
			AuthenticationFunc:                openapi3filter.NoopAuthenticationFunc,
			RejectWhenRequestBodyNotSpecified: true,
			MultiError:                        true,
			SchemaValidationOptions:           brief,
		},
	}
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
		return fmt.Errorf("%s: the request does not fit: %w", name, err)
	}
	switch {
	case x.Fault:
		return nil
	case x.Status == http.StatusNotModified:
		if method != http.MethodGet || x.Request.Header.Get("If-None-Match") == "" || len(x.Body) > 0 {
			return fmt.Errorf("%s: 304 is an answer to a GET with If-None-Match, without a body", name)
		}
		return nil
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 x.Status,
		Header:                 x.Header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true, SchemaValidationOptions: brief},
	}
	out.SetBodyBytes(x.Body)
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		return fmt.Errorf("%s: the %d answer does not fit: %w", name, x.Status, err)
	}
	return nil
}

// brief leaves the schema out of an error: the field and the reason say
// enough, and GitHub's schemas run to pages.
var brief = []openapi3.SchemaValidationOption{openapi3.DisableSchemaErrorDetails()}

// allowed is a request body as the description's schema reads it, for
// the two forms GitHub takes that its schemas leave out: "Add labels to an
// issue" takes {"labels": [...]}, and, its description says, "you can also
// pass an array of labels directly", which go-github v60 does; and an
// installation token is asked for with the body null (ghinstallation
// without options), which GitHub reads as no body.
func allowed(operationID string, body []byte) []byte {
	if operationID == "apps/create-installation-access-token" && string(bytes.TrimSpace(body)) == "null" {
		return nil
	}
	if operationID != "issues/add-labels" {
		return body
	}
	var names []string
	if err := json.Unmarshal(body, &names); err != nil {
		return body
	}
	wrapped, err := json.Marshal(map[string][]string{"labels": names})
	if err != nil {
		return body
	}
	return wrapped
}

// Webhook is the name of the webhook of an event and its payload's action
// in the description: "issue-comment-created", or "push" for an event
// without actions.
func Webhook(event, action string) string {
	name := strings.ReplaceAll(event, "_", "-")
	if action != "" {
		name += "-" + strings.ReplaceAll(action, "_", "-")
	}
	return name
}

// CheckDelivery holds one webhook delivery to the description: the
// payload to the schema of its event and action, and GitHub's delivery
// headers.
func (s *Spec) CheckDelivery(d ghstandin.Delivery) error {
	var payload struct {
		Action string `json:"action"`
	}
	if err := json.Unmarshal(d.Body, &payload); err != nil {
		return fmt.Errorf("webhook %s %s: the payload is not JSON: %w", d.Event, d.ID, err)
	}
	name := Webhook(d.Event, payload.Action)
	item := s.hooks.Webhooks[name]
	if item == nil || item.Post == nil {
		return fmt.Errorf("webhook %s %s: GitHub sends no %q", d.Event, d.ID, name)
	}
	req, err := http.NewRequest(http.MethodPost, "https://hooks.example/", bytes.NewReader(d.Body))
	if err != nil {
		return err
	}
	req.Header = d.Header.Clone()
	in := &openapi3filter.RequestValidationInput{
		Request: req,
		Route:   &routers.Route{Spec: s.hooks, Path: "/", PathItem: item, Method: http.MethodPost, Operation: item.Post},
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true},
	}
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
		// JSON Schema 2020 errors (the webhooks' description is OpenAPI
		// 3.1) quote the whole schema after the first line.
		msg, _, _ := strings.Cut(err.Error(), "\n")
		return fmt.Errorf("webhook %s (%s): %s", name, d.ID, msg)
	}
	return nil
}
