package webhook

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/google/go-github/v60/github"

	"github.com/purrvision/purrvision/internal/logctx"
)

// MaxBodyBytes bounds a delivery; GitHub caps payloads at 25 MB, ours are
// far smaller, and anything bigger is refused with 413.
const MaxBodyBytes = 1 << 20

// Handler serves POST /webhook.
type Handler struct {
	Secret  []byte
	Router  *Router
	Queue   *Queue
	Metrics *Metrics
}

// ServeHTTP logs with the logger of the request context (logctx).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	event := r.Header.Get("X-GitHub-Event")
	delivery := r.Header.Get("X-GitHub-Delivery")
	_, log := logctx.With(r.Context(), "delivery", delivery, "event", event)
	outcome := func(code int, result string) {
		h.Metrics.delivery(event, result)
		w.WriteHeader(code)
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		outcome(http.StatusMethodNotAllowed, "bad-method")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			log.Warn("delivery refused: body too large")
			outcome(http.StatusRequestEntityTooLarge, "too-large")
			return
		}
		outcome(http.StatusBadRequest, "unreadable")
		return
	}
	if err := github.ValidateSignature(r.Header.Get("X-Hub-Signature-256"), body, h.Secret); err != nil {
		log.Warn("delivery refused: bad signature")
		outcome(http.StatusUnauthorized, "bad-signature")
		return
	}
	if !json.Valid(body) {
		log.Warn("delivery refused: malformed JSON")
		outcome(http.StatusBadRequest, "malformed")
		return
	}
	if !handled[event] {
		outcome(http.StatusAccepted, "ignored")
		return
	}
	if event == "ping" {
		outcome(http.StatusOK, "ping")
		return
	}
	parsed, err := github.ParseWebHook(event, body)
	if err != nil {
		log.Warn("delivery refused: payload does not decode", "error", err)
		outcome(http.StatusBadRequest, "malformed")
		return
	}
	intents, err := h.Router.Route(parsed)
	if err != nil {
		log.Warn("delivery refused", "error", err)
		outcome(http.StatusBadRequest, "malformed")
		return
	}
	for _, it := range intents {
		if err := h.Queue.Add(it); err != nil {
			log.Error("delivery not queued", "error", err)
			outcome(http.StatusServiceUnavailable, "queue-full")
			return
		}
		log.Info("delivery queued", "intent", it.Kind.String(), "key", it.Key())
	}
	if len(intents) == 0 {
		outcome(http.StatusAccepted, "ignored")
		return
	}
	outcome(http.StatusAccepted, "queued")
}
