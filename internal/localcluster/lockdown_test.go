package localcluster

import (
	"slices"
	"testing"
)

// TestFluxControllers_RunLockedDown: the local cluster's Flux controllers
// run with exactly the flags flux/lockdown gives them in production, read
// from the component itself.
func TestFluxControllers_RunLockedDown(t *testing.T) {
	lockdown := []string{"--no-cross-namespace-refs=true", "--default-service-account=default"}
	want := map[string][]string{
		"source-controller":    nil,
		"kustomize-controller": lockdown,
		"helm-controller":      lockdown,
	}
	got, err := LockdownArgs("source-controller", "kustomize-controller", "helm-controller")
	if err != nil {
		t.Fatal(err)
	}
	for name, flags := range want {
		if !slices.Equal(got[name], flags) {
			t.Errorf("flux/lockdown gives %s %q, want %q", name, got[name], flags)
		}
	}
	ctls, err := fluxControllers(Options{Dir: t.TempDir()}, []int{1, 2, 3, 4})
	if err != nil {
		t.Fatal(err)
	}
	if len(ctls) != len(want) {
		t.Fatalf("%d controllers, want %d", len(ctls), len(want))
	}
	for _, k := range ctls {
		args := fluxArgs(k.health, k.extra)
		var flags []string
		for _, a := range args {
			if slices.Contains(lockdown, a) {
				flags = append(flags, a)
			}
		}
		if !slices.Equal(flags, want[k.name]) {
			t.Errorf("the local cluster runs %s with %q, want the lockdown's %q (all: %q)", k.name, flags, want[k.name], args)
		}
	}
}
