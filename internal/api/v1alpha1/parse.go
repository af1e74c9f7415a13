package v1alpha1

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// MaxRequestBytes bounds the size of a StoreRequest document.
const MaxRequestBytes = 64 << 10

// ErrInvalid marks every error Parse returns, so callers can tell bad input
// from failures of their own.
var ErrInvalid = errors.New("invalid store request")

// ParseError is an input error with the place it was found.
type ParseError struct {
	// Field is the path of the offending field, empty for the whole document.
	Field string
	// Line is the 1-based line of the problem, 0 when unknown.
	Line int
	Msg  string
}

func (e *ParseError) Error() string {
	switch {
	case e.Field != "" && e.Line > 0:
		return fmt.Sprintf("%s (line %d): %s", e.Field, e.Line, e.Msg)
	case e.Field != "":
		return fmt.Sprintf("%s: %s", e.Field, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return e.Msg
}

func (e *ParseError) Unwrap() error { return ErrInvalid }

// Parse decodes one StoreRequest document strictly: at most MaxRequestBytes,
// valid UTF-8, a single document, no anchors or aliases, no duplicate keys,
// no unknown fields and only scalar values where scalars are expected. It
// checks the document's shape and type fields; Validate in the renderer
// checks the values against the config.
func Parse(data []byte) (*StoreRequest, error) {
	if len(data) > MaxRequestBytes {
		return nil, &ParseError{Msg: fmt.Sprintf("the request is %d bytes; keep it under %d bytes", len(data), MaxRequestBytes)}
	}
	if !utf8.Valid(data) {
		return nil, &ParseError{Msg: "the request is not valid UTF-8; save it as UTF-8 text"}
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, &ParseError{Msg: "the request is empty; write a StoreRequest document"}
	}

	// Walk the node tree before decoding anything, so an alias bomb is
	// refused before it can be expanded.
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		return nil, yamlError(err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, yamlError(err)
		}
		return nil, &ParseError{Line: extra.Line, Msg: "found a second YAML document; send one StoreRequest per file"}
	}
	if err := checkNode(&doc, ""); err != nil {
		return nil, err
	}

	var req StoreRequest
	strict := yaml.NewDecoder(bytes.NewReader(data))
	strict.KnownFields(true)
	if err := strict.Decode(&req); err != nil {
		return nil, yamlError(err)
	}
	if req.APIVersion != APIVersion {
		return nil, &ParseError{Field: "apiVersion", Msg: fmt.Sprintf("%q is not supported; use %q", req.APIVersion, APIVersion)}
	}
	if req.Kind != Kind {
		return nil, &ParseError{Field: "kind", Msg: fmt.Sprintf("%q is not supported; use %q", req.Kind, Kind)}
	}
	return &req, nil
}

// checkNode refuses anchors, aliases, tags that change a value's type and
// duplicate keys, naming the path where it found them.
func checkNode(n *yaml.Node, path string) error {
	if n.Anchor != "" {
		return &ParseError{Field: path, Line: n.Line, Msg: "YAML anchors (&) are not allowed; write the value out"}
	}
	switch n.Kind {
	case yaml.AliasNode:
		return &ParseError{Field: path, Line: n.Line, Msg: "YAML aliases (*) are not allowed; write the value out"}
	case yaml.DocumentNode, yaml.SequenceNode:
		for i, c := range n.Content {
			p := path
			if n.Kind == yaml.SequenceNode {
				p = fmt.Sprintf("%s[%d]", path, i)
			}
			if err := checkNode(c, p); err != nil {
				return err
			}
		}
	case yaml.MappingNode:
		seen := make(map[string]bool, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode || k.Tag == "!!merge" {
				return &ParseError{Field: path, Line: k.Line, Msg: "only plain keys are allowed"}
			}
			p := k.Value
			if path != "" {
				p = path + "." + k.Value
			}
			if seen[k.Value] {
				return &ParseError{Field: p, Line: k.Line, Msg: "the key appears twice; keep one"}
			}
			seen[k.Value] = true
			if err := checkNode(k, p); err != nil {
				return err
			}
			if err := checkNode(v, p); err != nil {
				return err
			}
		}
	case yaml.ScalarNode:
		if n.Style&yaml.TaggedStyle != 0 && n.Tag != "!!str" {
			return &ParseError{Field: path, Line: n.Line, Msg: fmt.Sprintf("the tag %s is not allowed; write a plain value", n.Tag)}
		}
	}
	return nil
}

func yamlError(err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		// yaml.v3 reports every problem of the decode; the first is enough
		// and already names the line.
		return &ParseError{Msg: te.Errors[0] + "; remove or correct that field"}
	}
	return &ParseError{Msg: fmt.Sprintf("the request is not valid YAML: %v", err)}
}
