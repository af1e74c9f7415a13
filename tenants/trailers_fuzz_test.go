package tenants_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/purrvision/purrvision/tenants"
)

var trailerKey = regexp.MustCompile(`^[A-Za-z][A-Za-z-]*$`)

// FuzzTrailers: whatever the subject, body and values, the trailers written
// by Message are read back by Trailers, and no commit message makes Trailers
// panic. Purrvision finds a store's operation, issue and command in them.
func FuzzTrailers(f *testing.F) {
	f.Add("Provision store cat-cafe", "", "Store", "cat-cafe", "Issue", "acme/stores#1")
	f.Add("Resize", "Store: fake\nIssue: acme/x#9", "Command", "123", "Requested-by", "octocat")
	f.Add("", "\n\n", "Store", "a: b", "Operation", "x\ny")
	f.Fuzz(func(t *testing.T, subject, body, k1, v1, k2, v2 string) {
		_ = tenants.Trailers(subject + "\n" + body)
		if !trailerKey.MatchString(k1) || !trailerKey.MatchString(k2) || k1 == k2 {
			return
		}
		msg := tenants.Message(subject, body, tenants.Trailer{Key: k1, Value: v1}, tenants.Trailer{Key: k2, Value: v2})
		got := tenants.Trailers(msg)
		for _, kv := range [][2]string{{k1, v1}, {k2, v2}} {
			want := strings.ReplaceAll(kv[1], "\n", " ")
			if want == "" {
				continue // Message leaves out empty trailers
			}
			if got[kv[0]] != want {
				t.Fatalf("trailer %s = %q, want %q\nmessage:\n%s", kv[0], got[kv[0]], want, msg)
			}
		}
	})
}
