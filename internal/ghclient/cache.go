package ghclient

import (
	"bytes"
	"container/list"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
)

// cacheTransport makes repeated GETs conditional, as GitHub asks of
// clients that poll: it keeps the ETag and body of each 200 answer, sends
// the ETag back as If-None-Match, and on 304 Not Modified answers with the
// body it kept. A 304 costs nothing of the primary rate limit.
//
// Entries are keyed by URL and a hash of the request's headers
// (Authorization, Accept and any other), so one token's answers are never
// served to another, whatever GitHub's Vary says. The cache is bounded in bytes and forgets the least recently
// used entries first; an answer bigger than an eighth of it is not kept.
type cacheTransport struct {
	next     http.RoundTripper
	maxBytes int

	mu      sync.Mutex
	size    int
	lru     *list.List // of *cacheEntry, most recently used first
	entries map[cacheKey]*list.Element
}

type cacheKey struct {
	url     string
	headers [sha256.Size]byte
}

type cacheEntry struct {
	key    cacheKey
	etag   string
	header http.Header
	body   []byte
}

func (e *cacheEntry) size() int {
	n := len(e.body) + len(e.key.url) + len(e.key.headers) + len(e.etag)
	for k, vs := range e.header {
		n += len(k)
		for _, v := range vs {
			n += len(v)
		}
	}
	return n
}

func newCacheTransport(next http.RoundTripper, maxBytes int) *cacheTransport {
	return &cacheTransport{next: next, maxBytes: maxBytes, lru: list.New(), entries: map[cacheKey]*list.Element{}}
}

// headers a 304 does not update on the kept answer: they describe the
// body, which the 304 does not carry.
var bodyHeaders = map[string]bool{"Content-Length": true, "Content-Encoding": true, "Content-Type": true, "Transfer-Encoding": true}

func (t *cacheTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet || req.Header.Get("If-None-Match") != "" || req.Header.Get("If-Modified-Since") != "" || req.Header.Get("Range") != "" {
		return t.next.RoundTrip(req)
	}
	key := cacheKey{url: req.URL.String(), headers: headersHash(req.Header)}
	kept := t.get(key)
	if kept != nil {
		req = req.Clone(req.Context())
		req.Header.Set("If-None-Match", kept.etag)
	}
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	switch {
	case resp.StatusCode == http.StatusNotModified && kept != nil:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		header := kept.header.Clone()
		for k, vs := range resp.Header {
			if !bodyHeaders[k] {
				header[k] = vs
			}
		}
		return &http.Response{
			Status: "200 OK", StatusCode: http.StatusOK, Proto: resp.Proto, ProtoMajor: resp.ProtoMajor, ProtoMinor: resp.ProtoMinor,
			Header: header, Body: io.NopCloser(bytes.NewReader(kept.body)), ContentLength: int64(len(kept.body)), Request: resp.Request,
		}, nil
	case resp.StatusCode == http.StatusOK && resp.Header.Get("ETag") != "" && !strings.Contains(resp.Header.Get("Cache-Control"), "no-store"):
		return t.keep(key, resp)
	default:
		t.forget(key)
		return resp, nil
	}
}

// keep reads the answer's body and keeps it, unless it is too big; either
// way the caller reads the whole body.
func (t *cacheTransport) keep(key cacheKey, resp *http.Response) (*http.Response, error) {
	limit := t.maxBytes / 8
	body, err := io.ReadAll(io.LimitReader(resp.Body, int64(limit)+1))
	if err != nil {
		resp.Body.Close()
		return nil, err
	}
	if len(body) > limit {
		t.forget(key)
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(body), resp.Body), resp.Body}
		return resp, nil
	}
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	t.put(&cacheEntry{key: key, etag: resp.Header.Get("ETag"), header: resp.Header.Clone(), body: body})
	return resp, nil
}

func (t *cacheTransport) get(key cacheKey) *cacheEntry {
	t.mu.Lock()
	defer t.mu.Unlock()
	el, ok := t.entries[key]
	if !ok {
		return nil
	}
	t.lru.MoveToFront(el)
	return el.Value.(*cacheEntry)
}

func (t *cacheTransport) put(e *cacheEntry) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.remove(e.key)
	t.entries[e.key] = t.lru.PushFront(e)
	t.size += e.size()
	for t.size > t.maxBytes {
		t.remove(t.lru.Back().Value.(*cacheEntry).key)
	}
}

func (t *cacheTransport) forget(key cacheKey) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.remove(key)
}

// remove drops key's entry; t.mu must be held.
func (t *cacheTransport) remove(key cacheKey) {
	el, ok := t.entries[key]
	if !ok {
		return
	}
	t.lru.Remove(el)
	delete(t.entries, key)
	t.size -= el.Value.(*cacheEntry).size()
}

// headersHash identifies a request by all its headers, names and values.
func headersHash(h http.Header) [sha256.Size]byte {
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	sum := sha256.New()
	for _, k := range names {
		for _, v := range h[k] {
			fmt.Fprintf(sum, "%s:%q\n", k, v)
		}
	}
	var out [sha256.Size]byte
	sum.Sum(out[:0])
	return out
}
