package config_test

import (
	"strings"
	"testing"

	"github.com/purrvision/purrvision/internal/config"
)

const minimal = `
baseDomain: shop.example.com
sops:
  ageRecipients: [age1rv96dzpfc27y4xnmt47jsq32xcuxfzus4hc8jyqlcujf9dyrr9dq5vt4qp]
plans:
  small: {cpu: "1", memory: 1Gi, storage: 5Gi, pods: 4}
chart:
  version: 0.1.0
  source: {url: "https://example.com/charts.git", tag: v0.1.0}
`

// TestParse_FluxAccountDefault: the per-store Kustomizations act as the
// account flux/tenants ships, unless the config names another.
func TestParse_FluxAccountDefault(t *testing.T) {
	cfg, err := config.Parse([]byte(minimal))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if got := cfg.Flux.ServiceAccountName; got != config.StoresServiceAccount {
		t.Errorf("flux.serviceAccountName = %q, want purrvision-stores", got)
	}
	cfg, err = config.Parse([]byte(minimal + "flux: {serviceAccountName: own-applier}\n"))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if got := cfg.Flux.ServiceAccountName; got != "own-applier" {
		t.Errorf("flux.serviceAccountName = %q, want own-applier", got)
	}
}

func TestParse_Defaults(t *testing.T) {
	cfg, err := config.Parse([]byte(minimal))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	checks := map[string][2]string{
		"tenantsRepo.branch":    {cfg.TenantsRepo.Branch, "main"},
		"tenantsRepo.path":      {cfg.TenantsRepo.Path, "tenants"},
		"ingress.namespace":     {cfg.Ingress.Namespace, "ingress-nginx"},
		"chart.source.kind":     {cfg.Chart.Source.Kind, config.SourceGit},
		"chart.source.path":     {cfg.Chart.Source.Path, "./charts/woocommerce"},
		"flux.namespace":        {cfg.Flux.Namespace, "flux-system"},
		"flux.sourceName":       {cfg.Flux.SourceName, "tenants"},
		"flux.decryptionSecret": {cfg.Flux.DecryptionSecret, "sops-age"},
		"clusters[0].name":      {cfg.Clusters[0].Name, "default"},
		"github.apiURL":         {cfg.GitHub.APIURL, "https://api.github.com/"},
		"listen":                {cfg.Listen, ":8080"},
		"network.dns.namespace": {cfg.Network.DNS.Namespace, "kube-system"},
		// Unset stays unset: the service learns the bot's login from
		// GitHub; a default would name whatever App took the name.
		"github.botLogin": {cfg.GitHub.BotLogin, ""},
	}
	for key, c := range checks {
		if c[0] != c[1] {
			t.Errorf("%s = %q, want %q", key, c[0], c[1])
		}
	}
	if len(cfg.Network.InternalCIDRs) == 0 {
		t.Error("network.internalCIDRs has no default")
	}
}

func TestParse_Errors(t *testing.T) {
	tests := []struct {
		name    string
		replace [2]string
		append  string
		want    string
	}{
		{name: "unknown key", append: "colour: red\n", want: "colour"},
		{name: "no base domain", replace: [2]string{"baseDomain: shop.example.com", ""}, want: "baseDomain: required"},
		{name: "bad base domain", replace: [2]string{"shop.example.com", "Shop_Example"}, want: "baseDomain"},
		{name: "no recipients", replace: [2]string{"[age1rv96dzpfc27y4xnmt47jsq32xcuxfzus4hc8jyqlcujf9dyrr9dq5vt4qp]", "[]"}, want: "sops.ageRecipients: required"},
		{name: "bad recipient", replace: [2]string{"age1rv96dzpfc27y4xnmt47jsq32xcuxfzus4hc8jyqlcujf9dyrr9dq5vt4qp", "age1nope"}, want: "sops.ageRecipients[0]"},
		{name: "zero cpu", replace: [2]string{`cpu: "1"`, `cpu: "0"`}, want: "plans.small.cpu"},
		{name: "tiny memory", replace: [2]string{"memory: 1Gi", "memory: 64Mi"}, want: "plans.small.memory"},
		{name: "one pod", replace: [2]string{"pods: 4", "pods: 1"}, want: "plans.small.pods"},
		{name: "bad quantity", replace: [2]string{"storage: 5Gi", "storage: lots"}, want: "quantities must match"},
		{name: "no chart version", replace: [2]string{"version: 0.1.0", "version: \"\""}, want: "chart.version"},
		{name: "git chart unpinned", replace: [2]string{"tag: v0.1.0", "tag: \"\""}, want: "tag or commit"},
		{name: "unknown source kind", replace: [2]string{"source: {", "source: {kind: Bucket, "}, want: "chart.source.kind"},
		{name: "oci url for git", replace: [2]string{"https://example.com/charts.git", "oci://example.com/charts"}, want: "chart.source.url"},
		{name: "image without repository", replace: [2]string{"  source: {", "  image: {tag: v1}\n  source: {"}, want: "chart.image.repository: required"},
		{name: "image repository with a tag", replace: [2]string{"  source: {", "  image: {repository: \"mirror/woo:v1\", tag: v1}\n  source: {"}, want: "chart.image.repository: \"mirror/woo:v1\" is not an image repository"},
		{name: "image repository with a scheme", replace: [2]string{"  source: {", "  image: {repository: \"https://mirror/woo\", tag: v1}\n  source: {"}, want: "chart.image.repository"},
		{name: "image unpinned", replace: [2]string{"  source: {", "  image: {repository: mirror/woo}\n  source: {"}, want: "chart.image: pin the image"},
		{name: "image latest", replace: [2]string{"  source: {", "  image: {repository: mirror/woo, tag: latest}\n  source: {"}, want: "chart.image.tag: \"latest\" is not a pinned tag"},
		{name: "image bad digest", replace: [2]string{"  source: {", "  image: {repository: mirror/woo, digest: \"sha256:abc\"}\n  source: {"}, want: "chart.image.digest"},
		{name: "path traversal", append: "tenantsRepo: {path: ../etc}\n", want: "tenantsRepo.path"},
		{name: "bad interval", append: "flux: {interval: soon}\n", want: "flux.interval"},
		{name: "bad flux account", append: "flux: {serviceAccountName: Kustomize_Controller}\n", want: "flux.serviceAccountName"},
		{name: "duplicate cluster", append: "clusters: [{name: a}, {name: a}]\n", want: "listed twice"},
		{name: "token and app", append: "github: {token: x, app: {id: 1, installationID: 2, privateKeyFile: k}}\n", want: "github.app.id"},
		{name: "bad repo", append: "github: {repo: justaname}\n", want: "github.repo"},
		{name: "bad ingress label", append: "ingress: {podLabels: {\"bad key!\": x}}\n", want: "ingress.podLabels"},
		{name: "bad cidr", append: "network: {internalCIDRs: [10.0.0.0]}\n", want: "network.internalCIDRs[0]"},
		{name: "status page not a URL", append: "statusPage: {url: stores.example.com}\n", want: `statusPage.url: "stores.example.com" is not an http or https URL`},
		{name: "status page with a query", append: "statusPage: {url: \"https://stores.example.com/?x=1\"}\n", want: "statusPage.url: \"https://stores.example.com/?x=1\" must have no query or fragment"},
		{name: "status page too long", append: "statusPage: {url: https://stores.example.com/" + strings.Repeat("a", 200) + "}\n", want: "longer than 200 characters"},
		{name: "status page breaks Markdown", append: "statusPage: {url: \"https://stores.example.com/a)b\"}\n", want: "percent-encode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := minimal
			if tt.replace[0] != "" {
				if !strings.Contains(doc, tt.replace[0]) {
					t.Fatalf("test is broken: %q not in the document", tt.replace[0])
				}
				doc = strings.Replace(doc, tt.replace[0], tt.replace[1], 1)
			}
			doc += tt.append
			_, err := config.Parse([]byte(doc))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse() error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestParse_StatusPageURL(t *testing.T) {
	cfg, err := config.Parse([]byte(minimal + "statusPage: {url: \"https://stores.example.com/status/\"}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.StatusPage.URL != "https://stores.example.com/status/" {
		t.Errorf("statusPage.url = %q", cfg.StatusPage.URL)
	}
}

func TestValidate_PlatformTeam(t *testing.T) {
	for _, tt := range []struct {
		team string
		ok   bool
	}{{"acme/platform", true}, {"", true}, {"platform", false}, {"acme/a/b", false}} {
		c := config.Config{}
		c.GitHub.PlatformTeam = tt.team
		err := c.Validate()
		bad := err != nil && strings.Contains(err.Error(), "github.platformTeam")
		if bad == tt.ok {
			t.Errorf("%q: %v", tt.team, err)
		}
	}
}

func TestValidate_SetupAppID(t *testing.T) {
	for _, tt := range []struct {
		name       string
		app, setup int64
		ok         bool
		want       int64
	}{
		{"neither", 0, 0, true, 0},
		{"with a token", 0, 7, true, 7},
		{"with the App", 7, 0, true, 7},
		{"the App's own", 7, 7, true, 7},
		{"another App", 7, 8, false, 7},
		{"negative", 0, -1, false, -1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := config.Config{}
			c.GitHub.App.ID, c.GitHub.SetupAppID = tt.app, tt.setup
			err := c.Validate()
			bad := err != nil && strings.Contains(err.Error(), "github.setupAppID")
			if bad == tt.ok {
				t.Errorf("validate: %v", err)
			}
			if got := c.GitHub.CheckAppID(); got != tt.want {
				t.Errorf("CheckAppID = %d, want %d", got, tt.want)
			}
		})
	}
}
