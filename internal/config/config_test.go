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
		{name: "flux account the lockdown's default", append: "flux: {serviceAccountName: default}\n", want: `flux.serviceAccountName: "default" is the account the lockdown`},
		{name: "flux account Flux's own", append: "flux: {serviceAccountName: kustomize-controller}\n", want: `flux.serviceAccountName: "kustomize-controller" is Flux's own controller account`},
		{name: "flux account the tenants one", append: "flux: {serviceAccountName: purrvision-tenants}\n", want: `flux.serviceAccountName: "purrvision-tenants" is the account of the tenants Kustomizations`},
		{name: "flux namespace with a dot", append: "flux: {namespace: flux.system}\n", want: `flux.namespace: "flux.system" is not a Kubernetes namespace name`},
		{name: "flux namespace that injects YAML", append: "flux: {namespace: \"flux-system\\n---\"}\n", want: "flux.namespace"},
		{name: "bad source secret", append: "flux: {sourceSecret: Tenants_Key}\n", want: "flux.sourceSecret"},
		{name: "source secret that injects YAML", append: "flux: {sourceSecret: \"key}\\n- x\"}\n", want: "flux.sourceSecret"},
		{name: "tenants URL scp-like", append: "tenantsRepo: {url: \"git@github.com:example/tenants.git\"}\n", want: "tenantsRepo.url: \"git@github.com:example/tenants.git\" is not a URL"},
		{name: "tenants URL a path", append: "tenantsRepo: {url: /srv/git/tenants.git}\n", want: "is not an https or ssh URL"},
		{name: "tenants URL file", append: "tenantsRepo: {url: \"file:///srv/git/tenants.git\"}\n", want: "is not an https or ssh URL"},
		{name: "tenants URL without host", append: "tenantsRepo: {url: \"https:///tenants.git\"}\n", want: "has no host"},
		{name: "tenants URL that injects YAML", append: "tenantsRepo: {url: \"https://github.com/a/b.git\\n  secretRef: {name: x}\"}\n", want: "tenantsRepo.url"},
		{name: "tenants branch with ..", append: "tenantsRepo: {branch: \"main..x\"}\n", want: "tenantsRepo.branch"},
		{name: "tenants branch like a flag", append: "tenantsRepo: {branch: \"-main\"}\n", want: "tenantsRepo.branch"},
		{name: "tenants branch with a space", append: "tenantsRepo: {branch: \"ma in\"}\n", want: "tenantsRepo.branch"},
		{name: "tenants branch that injects YAML", append: "tenantsRepo: {branch: \"main\\n  tag: x\"}\n", want: "tenantsRepo.branch"},
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

// TestParse_FluxNamesTaken: the names `purrvision flux` writes into the
// tenants source and its RBAC, as operators give them.
func TestParse_FluxNamesTaken(t *testing.T) {
	for _, doc := range []string{
		"flux: {namespace: gitops, sourceName: shop-tenants, serviceAccountName: shop-stores, sourceSecret: tenants-deploy-key}\ntenantsRepo: {url: \"ssh://git@github.com/acme/tenants.git\", branch: release/2026}\n",
		"tenantsRepo: {url: \"https://git.example.com:8443/acme/tenants.git\", branch: main}\n",
		"tenantsRepo: {url: \"http://127.0.0.1:3000/tenants.git\"}\n",
	} {
		if _, err := config.Parse([]byte(minimal + doc)); err != nil {
			t.Errorf("Parse(%q): %v", doc, err)
		}
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
