package statuspage_test

import (
	"strings"
	"testing"

	"github.com/purrvision/purrvision/internal/statuspage"
)

// TestPage_GitHubSettings: the section says the settings are as setup
// writes them, or lists each drifted setting with the command that fixes
// them, or why the check could not run, with when it was checked; text
// from GitHub in a setting's name (a label's description) is escaped.
func TestPage_GitHubSettings(t *testing.T) {
	for _, tt := range []struct {
		name   string
		s      statuspage.GitHubSettings
		want   []string
		absent []string
	}{
		{name: "not checked yet", want: []string{"<h2>GitHub settings</h2>", "Not checked yet"}},
		{name: "in sync", s: statuspage.GitHubSettings{Checked: at},
			want:   []string{"As <code>purrvision setup</code> writes them (checked 2026-11-25 12:00 UTC)."},
			absent: []string{`class="drift"`, "differ"}},
		{name: "drifted", s: statuspage.GitHubSettings{Checked: at, Drift: []string{
			"acme/tenants main: required approving reviews 0, want 1",
			`acme/stores label "store-request": description "<script>alert(1)</script>", want "A store request"`,
		}}, want: []string{`<section id="github-settings" class="drift" role="status">`,
			"2 settings differ from what <code>purrvision setup</code> writes (checked 2026-11-25 12:00 UTC)",
			"<code>purrvision setup --config purrvision.yaml --dry-run</code>",
			"<li>acme/tenants main: required approving reviews 0, want 1</li>",
			"description &#34;&lt;script&gt;alert(1)&lt;/script&gt;&#34;"},
			absent: []string{"<script>alert(1)"}},
		{name: "one drifted", s: statuspage.GitHubSettings{Checked: at, Drift: []string{"acme/tenants main: not protected"}},
			want: []string{"1 setting differs from what"}},
		{name: "could not run", s: statuspage.GitHubSettings{Checked: at, Problem: "administration: read on acme/tenants is needed to read the protection of <b>main</b>"},
			want:   []string{"Unknown: the check at 2026-11-25 12:00 UTC did not run: administration: read on acme/tenants is needed to read the protection of &lt;b&gt;main&lt;/b&gt;."},
			absent: []string{"<b>main</b>", "As <code>purrvision setup</code> writes them"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.s
			body := getURL(t, &statuspage.Handler{Source: stores, Settings: statuspage.SettingsFunc(func() statuspage.GitHubSettings { return s })}, "/")
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
	if body := getURL(t, &statuspage.Handler{Source: stores}, "/"); strings.Contains(body, "GitHub settings") {
		t.Error("a page without a check shows the section")
	}
}
