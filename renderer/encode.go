package renderer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"

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
	m, err := toMap(obj)
	if err != nil {
		return nil, err
	}
	if data, shape, ok := fastYAML(m); ok {
		if err := strictCheckShape(reflect.TypeOf(obj).String()+shape, m, obj); err != nil {
			return nil, err
		}
		return data, nil
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

// strictChecked holds the shapes (type and key paths, see shapeOf) that
// passed strictCheck. Whether a map decodes strictly into a type depends
// on its keys, not on the values the type itself converted into it, so a
// fleet re-render checks each shape once rather than each store.
var strictChecked sync.Map

// strictCheck checks that m, converted from like, decodes strictly back
// into like's type: no field the type does not know.
// toMap converts obj to the map that is written: without status and
// server-set fields.
func toMap(obj any) (map[string]any, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, fmt.Errorf("converting %T: %w", obj, err)
	}
	delete(m, "status")
	if md, ok := m["metadata"].(map[string]any); ok {
		delete(md, "creationTimestamp")
	}
	return m, nil
}

func strictCheck(m map[string]any, like any) error {
	var shape strings.Builder
	shape.WriteString(reflect.TypeOf(like).String())
	shapeOf(&shape, m)
	return strictCheckShape(shape.String(), m, like)
}

// strictCheckShape is strictCheck of m, whose type and shape (shapeOf) are
// key.
func strictCheckShape(key string, m map[string]any, like any) error {
	if _, ok := strictChecked.Load(key); ok {
		return nil
	}
	if err := decodeStrict(m, like); err != nil {
		return err
	}
	strictChecked.Store(key, true)
	return nil
}

// shapeOf writes the structure of v, its keys and the kinds of its
// values, without the values. fastYAML writes the same as it goes.
func shapeOf(b *strings.Builder, v any) {
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sortKeys(keys)
		b.WriteByte('{')
		for _, k := range keys {
			b.WriteString(strconv.Itoa(len(k)))
			b.WriteByte(':')
			b.WriteString(k)
			shapeOf(b, v[k])
			b.WriteByte(',')
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for _, e := range v {
			shapeOf(b, e)
			b.WriteByte(',')
		}
		b.WriteByte(']')
	case string:
		b.WriteByte('s')
	case int64:
		b.WriteByte('i')
	case bool:
		b.WriteByte('b')
	case nil:
		b.WriteByte('n')
	default:
		fmt.Fprintf(b, "%T", v)
	}
}

func decodeStrict(m map[string]any, like any) error {
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
