// Package examples holds the example config and store request, embedded
// for `purrvision dev`.
package examples

import _ "embed"

// Config is examples/purrvision.yaml.
//
//go:embed purrvision.yaml
var Config []byte

// StoreRequest is examples/store-request.yaml.
//
//go:embed store-request.yaml
var StoreRequest []byte
