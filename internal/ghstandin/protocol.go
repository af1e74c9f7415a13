package ghstandin

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// GitHub's protocol around every route: faults, rate-limit headers,
// conditional requests, pagination, and the record of each exchange.

// Exchange is one API call to the stand-in, as made and as answered.
type Exchange struct {
	// Route is the route that served it, as GitHub's description writes
	// it: "GET /repos/{owner}/{repo}/issues/{issue_number}"; "" when no
	// route matched.
	Route string
	// Request is the call; its body was read into RequestBody.
	Request     *http.Request
	RequestBody []byte
	// PathParams are the route's parameters.
	PathParams map[string]string
	Status     int
	Header     http.Header
	Body       []byte
	// Fault is set when the answer is an injected fault, not the route's.
	Fault bool
}

// Record calls f with every exchange from now on, once it is answered. f
// must not call the stand-in.
func (s *Server) Record(f func(Exchange)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recorder = f
}

// The rate limit GitHub grants an installation an hour.
const rateLimit = 5000

// buffer is an answer held until the protocol has seen it.
type buffer struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *buffer) Header() http.Header { return b.header }
func (b *buffer) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}
func (b *buffer) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}

// api serves one route of the table with GitHub's protocol: a share of
// calls fails (a secondary rate limit, 403 or 429 with Retry-After, before
// the call is applied, or a 502 before or after); a GET's answer carries an
// ETag and is 304 without a body when If-None-Match names it; the
// X-RateLimit headers count every call but 304s, as GitHub does; and the
// exchange is recorded.
func (s *Server) api(route string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		reqBody, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"message": "Request body too large", "documentation_url": "https://docs.github.com/rest"})
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(reqBody))
		auth := r.Header.Get("Authorization")

		s.mu.Lock()
		if route != "" {
			s.calls[route]++
		}
		s.auths[auth]++
		refuse := s.takeFailure(route)
		fail := route != "" && refuse == nil && s.faults.Rate > 0 && s.rng.Float64() < s.faults.Rate
		rateLimited := fail && s.rng.Float64() < s.faults.RateLimitShare
		tooMany := rateLimited && s.rng.IntN(2) == 0
		after := fail && !rateLimited && s.rng.IntN(2) == 0
		if fail {
			s.failed++
		}
		date := s.stamp()
		record := s.recorder
		s.mu.Unlock()

		out := &buffer{header: http.Header{}}
		switch {
		case refuse != nil:
			writeJSON(out, refuse.Status, map[string]string{"message": refuse.Message, "documentation_url": "https://docs.github.com/rest"})
		case rateLimited:
			out.header.Set("Retry-After", "1")
			code := http.StatusForbidden
			if tooMany {
				code = http.StatusTooManyRequests
			}
			writeJSON(out, code, map[string]string{
				"message":           "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
				"documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
			})
		case fail && after:
			h(&buffer{header: http.Header{}}, r)
			writeBadGateway(out)
		case fail:
			writeBadGateway(out)
		default:
			h(out, r)
		}
		if out.status == 0 {
			out.status = http.StatusOK
		}
		if r.Method == http.MethodGet && out.status == http.StatusOK && !fail {
			tag := etag(out.body.Bytes())
			out.header.Set("ETag", tag)
			if matches(r.Header.Get("If-None-Match"), tag) {
				out.status = http.StatusNotModified
				out.body.Reset()
				out.header.Del("Content-Type")
			}
		}

		s.mu.Lock()
		if out.status != http.StatusNotModified {
			s.rateUsed[auth]++
		}
		used := s.rateUsed[auth]
		s.mu.Unlock()
		out.header.Set("X-RateLimit-Limit", strconv.Itoa(rateLimit))
		out.header.Set("X-RateLimit-Remaining", strconv.Itoa(max(0, rateLimit-used)))
		out.header.Set("X-RateLimit-Used", strconv.Itoa(used))
		out.header.Set("X-RateLimit-Reset", strconv.FormatInt(s.started.Add(time.Hour).Unix(), 10))
		out.header.Set("X-RateLimit-Resource", "core")
		out.header.Set("X-GitHub-Api-Version", "2022-11-28")
		out.header.Set("X-GitHub-Request-Id", fmt.Sprintf("STANDIN:%d", used))
		out.header.Set("Date", date.UTC().Format(http.TimeFormat))

		for k, v := range out.header {
			w.Header()[k] = v
		}
		w.WriteHeader(out.status)
		_, _ = w.Write(out.body.Bytes())

		if record != nil {
			record(Exchange{
				Route: route, Request: r, RequestBody: reqBody, PathParams: pathParams(route, r),
				Status: out.status, Header: out.header.Clone(), Body: bytes.Clone(out.body.Bytes()), Fault: fail || refuse != nil,
			})
		}
	}
}

// pathParams are the values of a route's {parameters} in a request.
func pathParams(route string, r *http.Request) map[string]string {
	out := map[string]string{}
	for _, seg := range strings.Split(route, "/") {
		if name, ok := strings.CutPrefix(seg, "{"); ok {
			name = strings.TrimSuffix(name, "}")
			out[name] = r.PathValue(name)
		}
	}
	return out
}

// etag is the entity tag of an answer.
func etag(body []byte) string {
	sum := sha256.Sum256(body)
	return `W/"` + hex.EncodeToString(sum[:16]) + `"`
}

// matches is whether an If-None-Match header names tag (weakly, as GitHub
// compares).
func matches(ifNoneMatch, tag string) bool {
	if ifNoneMatch == "" {
		return false
	}
	want := strings.TrimPrefix(tag, "W/")
	for _, t := range strings.Split(ifNoneMatch, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == want {
			return true
		}
	}
	return false
}

func writeBadGateway(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(http.StatusBadGateway)
	_, _ = w.Write([]byte("<html><body><h1>502 Bad Gateway</h1></body></html>"))
}

// writePage answers with the page of all that the request's page and
// per_page ask for, and GitHub's Link header.
func writePage[T any](w http.ResponseWriter, r *http.Request, all []T) {
	page, per := paging(r)
	out, last := paginate(all, page, per)
	linkHeader(w, r, page, last)
	writeJSON(w, http.StatusOK, out)
}

// paging is the page a list asks for: per_page 30 by default, at most 100.
func paging(r *http.Request) (page, per int) {
	page, _ = strconv.Atoi(r.URL.Query().Get("page"))
	per, _ = strconv.Atoi(r.URL.Query().Get("per_page"))
	if page < 1 {
		page = 1
	}
	switch {
	case per < 1:
		per = 30
	case per > 100:
		per = 100
	}
	return page, per
}

func paginate[T any](all []T, page, per int) ([]T, int) {
	last := max(1, (len(all)+per-1)/per)
	start := min((page-1)*per, len(all))
	end := min(start+per, len(all))
	return all[start:end], last
}

// linkHeader sets GitHub's pagination Link header: next and last before
// the last page, first and prev after the first.
func linkHeader(w http.ResponseWriter, r *http.Request, page, last int) {
	at := func(p int) string {
		u := *r.URL
		q := u.Query()
		q.Set("page", strconv.Itoa(p))
		u.RawQuery = q.Encode()
		return "http://" + r.Host + u.String()
	}
	var links []string
	if page < last {
		links = append(links, fmt.Sprintf(`<%s>; rel="next"`, at(page+1)), fmt.Sprintf(`<%s>; rel="last"`, at(last)))
	}
	if page > 1 {
		links = append(links, fmt.Sprintf(`<%s>; rel="first"`, at(1)), fmt.Sprintf(`<%s>; rel="prev"`, at(min(page-1, last))))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
}
