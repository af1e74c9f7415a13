package renderer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"

	"go.yaml.in/yaml/v2"
	"k8s.io/apimachinery/pkg/runtime"
	kjson "sigs.k8s.io/json"
)

// encodeObjects writes objects as one YAML stream. Each object is written
// without status and server-set fields, and its JSON form is decoded
// strictly back into its own Go type first, so nothing is written that its
// type does not know.
func encodeObjects(objs ...any) ([]byte, error) {
	var b bytes.Buffer
	for i, obj := range objs {
		data, err := marshalYAML(obj)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			b.WriteString("---\n")
		}
		b.Write(data)
	}
	return b.Bytes(), nil
}

// marshalYAML converts obj to a map, drops what the API server owns, checks
// the map decodes strictly into obj's type and writes it with sorted keys,
// as sigs.k8s.io/yaml does, without its JSON-to-YAML round trip.
func marshalYAML(obj any) ([]byte, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, fmt.Errorf("converting %T: %w", obj, err)
	}
	delete(m, "status")
	if md, ok := m["metadata"].(map[string]any); ok {
		delete(md, "creationTimestamp")
	}
	if err := strictCheck(m, obj); err != nil {
		return nil, err
	}
	data, err := yaml.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encoding %T: %w", obj, err)
	}
	return data, nil
}

func strictCheck(m map[string]any, like any) error {
	data, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encoding %T: %w", like, err)
	}
	fresh := reflect.New(reflect.TypeOf(like).Elem()).Interface()
	strictErrs, err := kjson.UnmarshalStrict(data, fresh)
	if err != nil {
		return fmt.Errorf("decoding %T: %w", like, err)
	}
	if len(strictErrs) > 0 {
		return fmt.Errorf("decoding %T strictly: %v", like, strictErrs)
	}
	return nil
}
