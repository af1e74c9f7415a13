//go:build e2e

package e2e_test

import (
	"encoding/base64"

	"github.com/purrvision/purrvision/internal/gitserver"
)

func gitShow(w *world, spec string) ([]byte, error) {
	return gitserver.Git(w.TenantsBare, "show", spec)
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
