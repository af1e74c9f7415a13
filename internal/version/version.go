// Package version holds the build's version, stamped with
// -ldflags "-X github.com/purrvision/purrvision/internal/version.Version=v1.2.3".
package version

import "runtime/debug"

// Version is set at build time; "dev" otherwise.
var Version = "dev"

// String returns the version and, when known, the VCS revision.
func String() string {
	v := Version
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " (" + s.Value[:12] + ")"
			}
		}
	}
	return v
}
