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
//
// Nothing of a request reaches a metric label, a log field or memory as
// it came: the headers are not signed (GitHub's signature covers the body
// alone), so the event is logged and counted as one of the names in
// handled or "other", and the delivery ID only when it has the shape of
// GitHub's (deliveryID). Nothing is kept of a delivery whose signature
// does not verify.
type Handler struct {
	Secret []byte
	// Previous, when set, is the secret a rotation is retiring: a delivery
	// signed with it is accepted too, so none is lost between the new
	// secret reaching the service and reaching GitHub's App settings.
	// Which one verified is counted (purrvision_webhook_signatures_total),
	// so an operator knows when GitHub has stopped using the old one.
	Previous []byte
	Router   *Router
	Queue    *Queue
	Metrics  *Metrics
}

// ServeHTTP logs with the logger of the request context (logctx).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	event := r.Header.Get("X-GitHub-Event")
	label := eventLabel(event)
	_, log := logctx.With(r.Context(), "delivery", deliveryID(r.Header.Get("X-GitHub-Delivery")), "event", label)
	outcome := func(code int, result string) {
		h.Metrics.delivery(label, result)
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
	which, ok := h.verify(r.Header.Get("X-Hub-Signature-256"), body)
	if !ok {
		log.Warn("delivery refused: bad signature")
		outcome(http.StatusUnauthorized, "bad-signature")
		return
	}
	h.Metrics.signature(which)
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

// verify checks the body's signature against the current secret, then
// the one being retired; which is "current" or "previous".
func (h *Handler) verify(signature string, body []byte) (which string, ok bool) {
	if len(h.Secret) > 0 && github.ValidateSignature(signature, body, h.Secret) == nil {
		return "current", true
	}
	if len(h.Previous) > 0 && github.ValidateSignature(signature, body, h.Previous) == nil {
		return "previous", true
	}
	return "", false
}

// eventLabel is the event's name when Purrvision handles it, "none"
// without one, and "other" for any other: the one value of the event a
// metric or a log line takes.
func eventLabel(event string) string {
	switch {
	case event == "":
		return "none"
	case handled[event]:
		return event
	}
	return "other"
}

// maxDeliveryID bounds a delivery ID worth logging; GitHub's are GUIDs
// (36 characters).
const maxDeliveryID = 64

// deliveryID is the X-GitHub-Delivery header when it has the shape of
// GitHub's (hex digits and dashes, at most maxDeliveryID), "invalid"
// otherwise: a log line carries no text of an attacker's choosing.
func deliveryID(h string) string {
	if h == "" {
		return "none"
	}
	if len(h) > maxDeliveryID {
		return "invalid"
	}
	for _, c := range h {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' || c == '-') {
			return "invalid"
		}
	}
	return h
}
