package webhook_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/purrvision/purrvision/internal/forge"
	"github.com/purrvision/purrvision/internal/ghstandin"
	"github.com/purrvision/purrvision/internal/logctx"
	"github.com/purrvision/purrvision/webhook"
)

var secret = []byte("s3cret")

// recorder is a ProcessFunc that remembers what it was given.
type recorder struct {
	mu  sync.Mutex
	got []webhook.Intent
}

func (r *recorder) process(_ context.Context, it webhook.Intent) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, it)
	return nil
}

func (r *recorder) intents() []webhook.Intent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]webhook.Intent(nil), r.got...)
}

func newHandler(t *testing.T, requests, tenants string) (*webhook.Handler, *recorder, *webhook.Queue) {
	t.Helper()
	rec := &recorder{}
	q := webhook.NewQueue(rec.process, webhook.QueueOptions{Workers: 2})
	t.Cleanup(func() { _ = q.Shutdown(context.Background()) })
	rq, err := forge.ParseRepo(requests)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := forge.ParseRepo(tenants)
	if err != nil {
		t.Fatal(err)
	}
	return &webhook.Handler{Secret: secret, Router: &webhook.Router{Requests: rq, Tenants: tr}, Queue: q,
		Metrics: webhook.NewMetrics(prometheus.NewRegistry(), q.Depth)}, rec, q
}

func deliver(h http.Handler, event string, body []byte, sig string) int {
	req := httptest.NewRequest(http.MethodPost, "/webhook", bytes.NewReader(body))
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958")
	if sig != "" {
		req.Header.Set("X-Hub-Signature-256", sig)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w.Code
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "github-webhooks", name))
	if err != nil {
		t.Fatalf("reading fixture (testdata/github-webhooks): %v", err)
	}
	return data
}

func TestHandler_Hygiene(t *testing.T) {
	h, rec, q := newHandler(t, "Codertocat/Hello-World", "acme/tenants")
	valid := fixture(t, "issues.opened.json")
	labelled := bytes.Replace(valid, []byte(`"labels": [`), []byte(`"labels": [{"name":"store-request"},`), 1)
	if bytes.Equal(labelled, valid) {
		t.Fatal("could not label the fixture")
	}
	big := append([]byte(`{"pad":"`), bytes.Repeat([]byte("x"), webhook.MaxBodyBytes)...)
	big = append(big, '"', '}')
	tests := []struct {
		name  string
		event string
		body  []byte
		sig   string
		want  int
	}{
		{"missing signature", "issues", labelled, "", http.StatusUnauthorized},
		{"wrong signature", "issues", labelled, ghstandin.Sign([]byte("other"), labelled), http.StatusUnauthorized},
		{"signature of another body", "issues", labelled, ghstandin.Sign(secret, valid), http.StatusUnauthorized},
		{"garbled signature", "issues", labelled, "sha256=zz", http.StatusUnauthorized},
		{"oversize body", "issues", big, ghstandin.Sign(secret, big), http.StatusRequestEntityTooLarge},
		{"malformed JSON", "issues", []byte(`{"action":`), ghstandin.Sign(secret, []byte(`{"action":`)), http.StatusBadRequest},
		{"malformed JSON of an unhandled event", "star", []byte(`{`), ghstandin.Sign(secret, []byte(`{`)), http.StatusBadRequest},
		{"unhandled event", "star", []byte(`{}`), ghstandin.Sign(secret, []byte(`{}`)), http.StatusAccepted},
		{"ping", "ping", fixture(t, "ping.payload.json"), ghstandin.Sign(secret, fixture(t, "ping.payload.json")), http.StatusOK},
		{"wrong field type", "issues", []byte(`{"action":"opened","issue":{"number":"one"}}`), ghstandin.Sign(secret, []byte(`{"action":"opened","issue":{"number":"one"}}`)), http.StatusBadRequest},
		{"store request", "issues", labelled, ghstandin.Sign(secret, labelled), http.StatusAccepted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := deliver(h, tt.event, tt.body, tt.sig); got != tt.want {
				t.Errorf("status %d, want %d", got, tt.want)
			}
		})
	}
	if err := q.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := rec.intents()
	if len(got) != 1 || got[0].Kind != webhook.ReconcileRequest || got[0].Issue.String() != "Codertocat/Hello-World#1" {
		t.Errorf("intents = %+v, want one request for Codertocat/Hello-World#1", got)
	}
}

// TestHandler_Fixtures: every real payload goes through the handler
// without a 4xx or 5xx, for a service serving those repositories.
func TestHandler_Fixtures(t *testing.T) {
	dir := filepath.Join("testdata", "github-webhooks")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	h, rec, q := newHandler(t, "Codertocat/Hello-World", "Codertocat/Hello-World")
	n := 0
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		n++
		body := fixture(t, e.Name())
		event, _, _ := strings.Cut(e.Name(), ".")
		t.Run(e.Name(), func(t *testing.T) {
			if code := deliver(h, event, body, ghstandin.Sign(secret, body)); code >= 300 {
				t.Errorf("%s answered %d", e.Name(), code)
			}
		})
	}
	if n < 10 {
		t.Fatalf("only %d fixtures found", n)
	}
	if err := q.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	kinds := map[webhook.Kind]int{}
	for _, it := range rec.intents() {
		kinds[it.Kind]++
	}
	// The pull_request fixtures are on the "tenants" repo here; the issue
	// fixtures carry no store-request label and the comment is no command.
	if kinds[webhook.InspectPull] == 0 || kinds[webhook.ReconcileRequest] != 0 || kinds[webhook.RunCommand] != 0 {
		t.Errorf("intents by kind = %v", kinds)
	}
}

// TestHandler_LogsWithTheRequestLogger: the handler logs with the logger of
// the request context, with the delivery and the event.
func TestHandler_LogsWithTheRequestLogger(t *testing.T) {
	h, _, _ := newHandler(t, "Codertocat/Hello-World", "acme/tenants")
	var buf bytes.Buffer
	body := fixture(t, "issues.opened.json")
	req := httptest.NewRequest(http.MethodPost, "/webhook", bytes.NewReader(body))
	req = req.WithContext(logctx.Into(req.Context(), slog.New(slog.NewTextHandler(&buf, nil))))
	req.Header.Set("X-GitHub-Event", "issues")
	req.Header.Set("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958")
	req.Header.Set("X-Hub-Signature-256", ghstandin.Sign([]byte("other"), body))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusUnauthorized {
		t.Errorf("status %d, want %d", w.Code, http.StatusUnauthorized)
	}
	if want := `msg="delivery refused: bad signature" delivery=72d3162e-cc78-11e3-81ab-4c9367dc0958 event=issues`; !strings.Contains(buf.String(), want) {
		t.Errorf("log %q lacks %q", buf.String(), want)
	}
}

// series counts the metric series reg holds.
func series(t *testing.T, reg *prometheus.Registry) int {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, mf := range mfs {
		n += len(mf.GetMetric())
	}
	return n
}

// TestHandler_FloodKeepsNothing plays an attacker who floods the endpoint
// with random event names and delivery IDs: unsigned, wrongly signed, and
// replaying a body GitHub signed under headers of their own (GitHub signs
// the body alone). No new metric series, nothing queued, and none of their
// text in the log.
func TestHandler_FloodKeepsNothing(t *testing.T) {
	reg := prometheus.NewRegistry()
	rec := &recorder{}
	q := webhook.NewQueue(rec.process, webhook.QueueOptions{Workers: 1})
	t.Cleanup(func() { _ = q.Shutdown(context.Background()) })
	h := &webhook.Handler{Secret: secret, Router: &webhook.Router{Requests: forge.Repo{Owner: "acme", Name: "stores"}, Tenants: forge.Repo{Owner: "acme", Name: "tenants"}},
		Queue: q, Metrics: webhook.NewMetrics(reg, q.Depth)}
	var logs bytes.Buffer
	ctx := logctx.Into(context.Background(), slog.New(slog.NewTextHandler(&logs, nil)))
	send := func(event, id string, body []byte, sig string) {
		req := httptest.NewRequest(http.MethodPost, "/webhook", bytes.NewReader(body)).WithContext(ctx)
		req.Header.Set("X-GitHub-Event", event)
		req.Header.Set("X-GitHub-Delivery", id)
		if sig != "" {
			req.Header.Set("X-Hub-Signature-256", sig)
		}
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	signed := []byte(`{"zen":"Keep it logically awesome."}`)
	// One of each kind of refusal first, so every fixed series exists.
	send("issues", "", signed, "")
	send("star", "", signed, "sha256=00")
	send("push", "", signed, ghstandin.Sign(secret, signed))
	before := series(t, reg)
	for i := range 500 {
		event, id := fmt.Sprintf("evil-event-%d", i), fmt.Sprintf("evil-delivery-%d-%s", i, strings.Repeat("x", 100))
		send(event, id, []byte(fmt.Sprintf(`{"n":%d}`, i)), "")
		send(event, id, signed, "sha256="+strings.Repeat("0", 64))
		send(event, id, signed, ghstandin.Sign(secret, signed))
	}
	if after := series(t, reg); after != before {
		t.Errorf("the flood made %d metric series, want none: %d before, %d after", after-before, before, after)
	}
	if d := q.Depth(); d != 0 {
		t.Errorf("the flood queued %d intents", d)
	}
	if strings.Contains(logs.String(), "evil") {
		t.Errorf("the log carries the attacker's text: %.300s", logs.String())
	}
}

// TestHandler_SecretRotation: during a rotation a delivery signed with
// the retiring secret is accepted and counted as such, so none is lost
// before GitHub's App settings change; once the old secret is removed it
// verifies nothing, and a secret that is neither is refused and counted
// nowhere.
func TestHandler_SecretRotation(t *testing.T) {
	old, next := []byte("old-secret"), []byte("new-secret")
	body := []byte(`{"zen":"Rotate often."}`)
	signatures := func(reg *prometheus.Registry) map[string]float64 {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]float64{}
		for _, mf := range mfs {
			if mf.GetName() != "purrvision_webhook_signatures_total" {
				continue
			}
			for _, m := range mf.GetMetric() {
				out[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
			}
		}
		return out
	}
	tests := []struct {
		name           string
		current, prior []byte
		signedWith     []byte
		want           int
		counted        string
	}{
		{"the new secret", next, old, next, http.StatusAccepted, "current"},
		{"the retiring secret during the rotation", next, old, old, http.StatusAccepted, "previous"},
		{"the retired secret after the rotation", next, nil, old, http.StatusUnauthorized, ""},
		{"neither secret", next, old, []byte("guess"), http.StatusUnauthorized, ""},
		{"an empty previous secret verifies nothing", next, []byte{}, []byte{}, http.StatusUnauthorized, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			q := webhook.NewQueue(func(context.Context, webhook.Intent) error { return nil }, webhook.QueueOptions{Workers: 1})
			t.Cleanup(func() { _ = q.Shutdown(context.Background()) })
			h := &webhook.Handler{Secret: tt.current, Previous: tt.prior, Router: &webhook.Router{Requests: forge.Repo{Owner: "acme", Name: "stores"}, Tenants: forge.Repo{Owner: "acme", Name: "tenants"}},
				Queue: q, Metrics: webhook.NewMetrics(reg, q.Depth)}
			if got := deliver(h, "star", body, ghstandin.Sign(tt.signedWith, body)); got != tt.want {
				t.Fatalf("status %d, want %d", got, tt.want)
			}
			got := signatures(reg)
			if tt.counted == "" {
				if len(got) != 0 {
					t.Errorf("a refused delivery was counted as verified: %v", got)
				}
				return
			}
			if len(got) != 1 || got[tt.counted] != 1 {
				t.Errorf("signatures counted %v, want one %s", got, tt.counted)
			}
		})
	}
}
