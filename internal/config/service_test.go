package config_test

import (
	"strings"
	"testing"

	"github.com/purrvision/purrvision/internal/config"
)

// TestService_Refused: service.host and service.monitoringNamespace reach
// YAML through `purrvision flux`; only a host name and a namespace name
// are taken, each error naming the key.
func TestService_Refused(t *testing.T) {
	base := "baseDomain: shop.example.com\nsops: {ageRecipients: [age1rv96dzpfc27y4xnmt47jsq32xcuxfzus4hc8jyqlcujf9dyrr9dq5vt4qp]}\nplans: {small: {cpu: '1', memory: 1Gi, storage: 5Gi, pods: 4}}\nchart: {version: 0.1.0, source: {url: 'https://github.com/p/p.git', tag: t}}\n"
	for _, tt := range []struct{ name, doc, want string }{
		{"a host with a newline", "service: {host: \"p.example.com\\n- x\"}\n", "service.host"},
		{"a URL for a host", "service: {host: 'https://p.example.com/webhook'}\n", "service.host"},
		{"a wildcard host", "service: {host: '*.example.com'}\n", "service.host"},
		{"a monitoring namespace that is no name", "service: {monitoringNamespace: 'mon itoring'}\n", "service.monitoringNamespace"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := config.Parse([]byte(base + tt.doc)); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse: %v, want an error naming %s", err, tt.want)
			}
		})
	}
	cfg := parse(t, base+"service: {host: purrvision.example.com, monitoringNamespace: monitoring}\n")
	if cfg.Service.Host != "purrvision.example.com" || cfg.Service.MonitoringNamespace != "monitoring" {
		t.Errorf("service = %+v", cfg.Service)
	}
}

func TestParseImage(t *testing.T) {
	for _, tt := range []struct {
		ref  string
		want config.ChartImage
		ok   bool
	}{
		{"registry.example.com:5000/purrvision:v1", config.ChartImage{Repository: "registry.example.com:5000/purrvision", Tag: "v1"}, true},
		{"r.example.com/p@sha256:" + strings.Repeat("a", 64), config.ChartImage{Repository: "r.example.com/p", Digest: "sha256:" + strings.Repeat("a", 64)}, true},
		{"r.example.com/p:v1@sha256:" + strings.Repeat("a", 64), config.ChartImage{Repository: "r.example.com/p", Tag: "v1", Digest: "sha256:" + strings.Repeat("a", 64)}, true},
		{"registry.example.com:5000/purrvision", config.ChartImage{}, false},
		{"r.example.com/p:latest", config.ChartImage{}, false},
		{"r.example.com/p:v1\n- name: x", config.ChartImage{}, false},
		{"R.example.com/P:v1", config.ChartImage{}, false},
	} {
		got, err := config.ParseImage(tt.ref)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseImage(%q) = %+v, %v; want %+v, ok %v", tt.ref, got, err, tt.want, tt.ok)
		}
	}
}
