package statuspage_test

import (
	"context"
	"strings"
	"testing"

	"github.com/purrvision/purrvision/internal/statuspage"
)

// TestPage_ServedThrough: the section names the route, its hosts and the
// Service behind it, and what each Gateway said; a missing Service or an
// unreadable route is marked; text from the cluster is escaped; no route,
// no section.
func TestPage_ServedThrough(t *testing.T) {
	route := statuspage.Exposure{Kind: "HTTPRoute", Route: "purrvision/purrvision", Hosts: []string{"hooks.example.com"},
		Service: "purrvision/purrvision", ServiceFound: true, Parents: []string{"Gateway gateway-system/shared: accepted"}, Checked: at}
	missing := route
	missing.ServiceFound = false
	hostile := route
	hostile.Parents = []string{`Gateway gateway-system/shared: not accepted: Bad: <img src=x onerror=alert(1)>`}
	fresh := route
	fresh.Parents = nil
	for _, tt := range []struct {
		name   string
		e      statuspage.Exposure
		want   []string
		absent []string
	}{
		{name: "served", e: route, want: []string{`<section id="served-through">`, "HTTPRoute <code>purrvision/purrvision</code> for <code>hooks.example.com</code>",
			"to the Service <code>purrvision/purrvision</code> (read 2026-11-25 12:00 UTC)", "<li>Gateway gateway-system/shared: accepted</li>"}, absent: []string{"does not exist"}},
		{name: "no Service", e: missing, want: []string{`class="drift"`, "which does not exist"}},
		{name: "no Gateway answered yet", e: fresh, want: []string{"No Gateway has accepted or refused it yet."}},
		{name: "hostile text", e: hostile, want: []string{"&lt;img src=x onerror=alert(1)&gt;"}, absent: []string{"<img src=x"}},
		{name: "unreadable", e: statuspage.Exposure{Kind: "HTTPRoute", Route: "purrvision/purrvision", Problem: "forbidden", Checked: at},
			want: []string{"Unknown: the service's route could not be read at 2026-11-25 12:00 UTC: forbidden."}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := tt.e
			body := getURL(t, &statuspage.Handler{Source: stores, Exposure: statuspage.ExposureFunc(func(context.Context) (statuspage.Exposure, bool) { return e, true })}, "/")
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("page lacks %q", w)
				}
			}
			for _, a := range tt.absent {
				if strings.Contains(body, a) {
					t.Errorf("page shows %q", a)
				}
			}
		})
	}
	none := statuspage.ExposureFunc(func(context.Context) (statuspage.Exposure, bool) { return statuspage.Exposure{}, false })
	if body := getURL(t, &statuspage.Handler{Source: stores, Exposure: none}, "/"); strings.Contains(body, "Served through") {
		t.Error("a page without a route shows the section")
	}
}
