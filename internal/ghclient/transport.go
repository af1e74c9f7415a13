package ghclient

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/purrvision/purrvision/internal/forge"
)

// retryTransport retries what GitHub asks to retry: primary and secondary
// rate limits, for every method since GitHub did not process the request;
// and 5xx and connection errors, for idempotent methods only. A failed POST
// is left to the caller, which re-derives its state before trying again,
// so a request GitHub applied before failing is never made twice.
//
// A rate limit that asks for a longer wait than maxWait, or that is still
// there after maxRetries, is not slept through: the call fails with a
// *forge.RateLimitError naming the wait, which the work queue and the
// watcher turn into a retry that late.
type retryTransport struct {
	next       http.RoundTripper
	maxRetries int
	maxWait    time.Duration
	backoff    time.Duration
	now        func() time.Time
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	backoff := t.backoff
	guessed := 0 // secondary rate limits that said nothing of how long to wait
	for attempt := 0; ; attempt++ {
		if attempt > 0 && req.Body != nil && req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			req.Body = body
		}
		resp, err := t.next.RoundTrip(req)
		var wait time.Duration
		if limit, ok := rateLimit(resp, t.now()); ok {
			if limit.Secondary && resp.Header.Get("Retry-After") == "" {
				// A minute, then longer each time, as GitHub asks.
				limit.Wait = secondaryWait << min(guessed, 6)
				guessed++
			}
			wait = limit.Wait
			if limit.Wait > t.maxWait || attempt >= t.maxRetries {
				discard(resp)
				return nil, limit
			}
		} else {
			var retry bool
			if wait, retry = t.decide(req, resp, err, backoff); !retry || attempt >= t.maxRetries {
				return resp, err
			}
			backoff = min(backoff*2, 10*time.Second)
		}
		discard(resp)
		if err := sleep(req.Context(), wait); err != nil {
			return nil, err
		}
	}
}

// decide says whether, and after how long, to retry what is not a rate
// limit.
func (t *retryTransport) decide(req *http.Request, resp *http.Response, err error, backoff time.Duration) (time.Duration, bool) {
	idempotent := req.Method != http.MethodPost
	jittered := backoff/2 + rand.N(backoff)
	if err != nil {
		return jittered, idempotent && req.Context().Err() == nil
	}
	if resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented {
		return jittered, idempotent
	}
	return 0, false
}

// secondaryWait is how long to wait on a secondary rate limit that says
// nothing of it: GitHub asks for at least a minute.
const secondaryWait = time.Minute

// rateLimit reads whether resp is a rate limit and how long GitHub asks to
// wait, as GitHub documents it: Retry-After when set; else, with
// X-RateLimit-Remaining at 0, until X-RateLimit-Reset; else a minute for
// a 429 or a 403 whose message is a secondary rate limit. Any other 403 is
// a refusal, not a limit. A 403's body is read and put back.
func rateLimit(resp *http.Response, now time.Time) (*forge.RateLimitError, bool) {
	if resp == nil || (resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusForbidden) {
		return nil, false
	}
	secondary := resp.StatusCode == http.StatusTooManyRequests
	if resp.StatusCode == http.StatusForbidden && resp.Header.Get("X-RateLimit-Remaining") != "0" {
		secondary = strings.Contains(strings.ToLower(string(peek(resp))), "secondary rate limit")
	}
	if s := resp.Header.Get("Retry-After"); s != "" {
		if secs, err := strconv.Atoi(s); err == nil && secs >= 0 {
			return &forge.RateLimitError{Wait: time.Duration(secs) * time.Second, Secondary: secondary}, true
		}
		if at, err := http.ParseTime(s); err == nil {
			return &forge.RateLimitError{Wait: max(at.Sub(now), 0), Secondary: secondary}, true
		}
	}
	if resp.Header.Get("X-RateLimit-Remaining") == "0" {
		wait := time.Minute
		if reset, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64); err == nil {
			wait = max(time.Unix(reset, 0).Sub(now)+time.Second, time.Second)
		}
		return &forge.RateLimitError{Wait: wait}, true
	}
	if secondary {
		return &forge.RateLimitError{Wait: secondaryWait, Secondary: true}, true
	}
	return nil, false
}

// peek reads up to 64 KiB of resp's body and puts it back.
func peek(resp *http.Response) []byte {
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(data), resp.Body), resp.Body}
	if err != nil {
		return nil
	}
	return data
}

func discard(resp *http.Response) {
	if resp == nil {
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
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
