package config

import (
	"strings"
	"testing"
)

func TestRepos_NamesTheKey(t *testing.T) {
	for _, tt := range []struct{ requests, tenants, want string }{
		{"acme/stores", "acme/tenants", ""},
		{"acme", "acme/tenants", "github.repo:"},
		{"acme/stores", "tenants", "tenantsRepo.repo:"},
	} {
		c := &Config{}
		c.GitHub.Repo, c.TenantsRepo.Repo = tt.requests, tt.tenants
		req, ten, err := c.Repos()
		switch {
		case tt.want == "" && (err != nil || req.String() != tt.requests || ten.String() != tt.tenants):
			t.Errorf("Repos(%q, %q) = %v, %v, %v", tt.requests, tt.tenants, req, ten, err)
		case tt.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.want)):
			t.Errorf("Repos(%q, %q): error %v, want one naming %s", tt.requests, tt.tenants, err, tt.want)
		}
	}
}
