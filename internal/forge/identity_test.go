package forge_test

import (
	"sync"
	"testing"

	"github.com/purrvision/purrvision/internal/forge"
)

func TestIdentity_Login(t *testing.T) {
	learned := forge.NewIdentity("")
	learned.Learn("acme-cats[bot]")
	tests := []struct {
		name string
		id   *forge.Identity
		want string
	}{
		{name: "nil is never known", id: nil, want: ""},
		{name: "zero is not known yet", id: &forge.Identity{}, want: ""},
		{name: "empty login leaves it to be learned", id: forge.NewIdentity(""), want: ""},
		{name: "known at once", id: forge.NewIdentity("purrvision[bot]"), want: "purrvision[bot]"},
		{name: "learned", id: learned, want: "acme-cats[bot]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.id.Login(); got != tt.want {
				t.Errorf("Login() = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestIdentity_LearnedWhileRead: the start learns the login while the
// parts read it (go test -race tells a data race); a reader sees it
// unknown or whole, never anything else.
func TestIdentity_LearnedWhileRead(t *testing.T) {
	id := &forge.Identity{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 1000 {
				if got := id.Login(); got != "" && got != "acme-cats[bot]" {
					t.Errorf("Login() = %q while learned", got)
					return
				}
			}
		}()
	}
	id.Learn("acme-cats[bot]")
	wg.Wait()
	if got := id.Login(); got != "acme-cats[bot]" {
		t.Errorf("Login() after Learn = %q", got)
	}
}
