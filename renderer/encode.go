package renderer

import (
	"bytes"
	"fmt"
	"reflect"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// encodeObjects writes objects as one YAML stream. Each object is written
// without status and server-set fields, then decoded strictly back into its
// own Go type, so nothing is written that its type does not know.
func encodeObjects(objs ...any) ([]byte, error) {
	var b bytes.Buffer
	for i, obj := range objs {
		data, err := marshalYAML(obj)
		if err != nil {
			return nil, err
		}
		if err := strictCheck(data, obj); err != nil {
			return nil, err
		}
		if i > 0 {
			b.WriteString("---\n")
		}
		b.Write(data)
	}
	return b.Bytes(), nil
}

// marshalYAML converts obj to a map, drops what the API server owns and
// writes it with sorted keys.
func marshalYAML(obj any) ([]byte, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, fmt.Errorf("converting %T: %w", obj, err)
	}
	delete(m, "status")
	if md, ok := m["metadata"].(map[string]any); ok {
		delete(md, "creationTimestamp")
	}
	data, err := yaml.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encoding %T: %w", obj, err)
	}
	return data, nil
}

func strictCheck(data []byte, like any) error {
	fresh := reflect.New(reflect.TypeOf(like).Elem()).Interface()
	if err := yaml.UnmarshalStrict(data, fresh); err != nil {
		return fmt.Errorf("decoding %T strictly: %w", like, err)
	}
	return nil
}
