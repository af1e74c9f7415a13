//go:build tools

// Package tools records the controller this module builds.
package tools

import _ "github.com/fluxcd/kustomize-controller"
