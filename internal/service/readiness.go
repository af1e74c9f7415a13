package service

import (
	"fmt"
	"net/http"
	"sync/atomic"
)

// Readiness is what GET /readyz answers: 200 "ok" when ready, 503 with
// the reason when not (starting while GitHub does not answer, shutting
// down).
type Readiness struct {
	reason atomic.Pointer[string] // nil when ready
}

// NewReadiness is not ready, for reason.
func NewReadiness(reason string) *Readiness {
	r := &Readiness{}
	r.NotReady(reason)
	return r
}

// NotReady records why the service is not ready.
func (r *Readiness) NotReady(reason string) { r.reason.Store(&reason) }

// Ready marks the service ready.
func (r *Readiness) Ready() { r.reason.Store(nil) }

// IsReady reports whether the service is ready, and why not.
func (r *Readiness) IsReady() (bool, string) {
	if p := r.reason.Load(); p != nil {
		return false, *p
	}
	return true, ""
}

// ServeHTTP serves GET /readyz.
func (r *Readiness) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	if ok, why := r.IsReady(); !ok {
		http.Error(w, "not ready: "+why, http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ok")
}
