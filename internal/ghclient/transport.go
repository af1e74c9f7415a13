package ghclient

import (
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// retryTransport retries what GitHub asks to retry: primary and secondary
// rate limits (403 or 429 with Retry-After or X-RateLimit-Remaining: 0),
// for every method since GitHub did not process the request; and 5xx and
// connection errors, for idempotent methods only. A failed POST is left to
// the caller, which re-derives its state before trying again, so a request
// GitHub applied before failing is never made twice.
type retryTransport struct {
	next       http.RoundTripper
	maxRetries int
	maxWait    time.Duration
	backoff    time.Duration
	now        func() time.Time
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	backoff := t.backoff
	for attempt := 0; ; attempt++ {
		if attempt > 0 && req.Body != nil && req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			req.Body = body
		}
		resp, err := t.next.RoundTrip(req)
		if attempt >= t.maxRetries {
			return resp, err
		}
		wait, retry := t.decide(req, resp, err, backoff)
		if !retry {
			return resp, err
		}
		if resp != nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		if err := sleep(req.Context(), wait); err != nil {
			return nil, err
		}
		backoff = min(backoff*2, 10*time.Second)
	}
}

func (t *retryTransport) decide(req *http.Request, resp *http.Response, err error, backoff time.Duration) (time.Duration, bool) {
	idempotent := req.Method != http.MethodPost
	jittered := backoff/2 + rand.N(backoff)
	if err != nil {
		return jittered, idempotent && req.Context().Err() == nil
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusForbidden:
		if d, ok := t.rateLimitWait(resp); ok {
			return min(d, t.maxWait), d <= t.maxWait
		}
		return 0, false
	case resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented:
		return jittered, idempotent
	}
	return 0, false
}

// rateLimitWait reads how long GitHub asks to wait, and whether this is a
// rate limit at all.
func (t *retryTransport) rateLimitWait(resp *http.Response) (time.Duration, bool) {
	if s := resp.Header.Get("Retry-After"); s != "" {
		if secs, err := strconv.Atoi(s); err == nil && secs >= 0 {
			return time.Duration(secs) * time.Second, true
		}
	}
	if resp.Header.Get("X-RateLimit-Remaining") == "0" {
		if reset, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64); err == nil {
			d := time.Unix(reset, 0).Sub(t.now()) + time.Second
			return max(d, time.Second), true
		}
		return time.Minute, true
	}
	return 0, false
}

func sleep(ctx context.Context, d time.Duration) error {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-tm.C:
		return nil
	}
}
