package statuspage

import "time"

// GitHubSettings is the last check of GitHub's settings against what
// `purrvision setup` writes (internal/setup's Monitor, run by the service
// at start and after each resync).
type GitHubSettings struct {
	// Checked is when the last check ran; zero before the first.
	Checked time.Time
	// Drift names each setting GitHub holds otherwise than setup writes
	// ("acme/tenants main: required approving reviews 0, want 1"); the
	// names carry text from GitHub (label names and descriptions) and are
	// escaped like everything else on the page.
	Drift []string
	// Problem is why the last check could not run (a missing permission,
	// the App ID); "" when it ran.
	Problem string
}

// SettingsChecker is the service's check of GitHub's settings.
type SettingsChecker interface {
	GitHubSettings() GitHubSettings
}

// SettingsFunc is a SettingsChecker as a function.
type SettingsFunc func() GitHubSettings

// GitHubSettings implements SettingsChecker.
func (f SettingsFunc) GitHubSettings() GitHubSettings { return f() }
