package renderer

import (
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"go.yaml.in/yaml/v2"
)

// fastYAML writes m exactly as yaml.v2's Marshal does, several times
// faster, for the documents the renderer makes: maps, lists, strings,
// integers, booleans and nulls. A fleet re-render spends most of its time
// here. ok is false when m holds anything it leaves to yaml.v2: a float,
// a list in a list, a string yaml.v2 writes on several lines or might
// fold at its 80-column width, a long key. TestFastYAML_AsYAMLv2 and
// FuzzFastYAML hold it to yaml.v2.
//
// It also returns the shape of m as shapeOf writes it, for strictCheck.
func fastYAML(m map[string]any) ([]byte, string, bool) {
	e := emitter{b: make([]byte, 0, 1024), shape: make([]byte, 0, 512), ok: true}
	e.mapping(m, 0, false)
	return e.b, string(e.shape), e.ok
}

type emitter struct {
	b     []byte
	shape []byte
	ok    bool
}

// maxWidth is yaml.v2's best_width: it may break a line with spaces past
// this column.
const maxWidth = 80

// maxKey is below yaml.v2's 128-character limit of a simple key.
const maxKey = 120

func (e *emitter) indent(n int) {
	for range n {
		e.b = append(e.b, ' ')
	}
}

// mapping writes m at indent; inItem: the first key follows a "- ".
func (e *emitter) mapping(m map[string]any, indent int, inItem bool) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sortKeys(keys)
	if digitTies(keys) {
		e.ok = false
		return
	}
	e.shape = append(e.shape, '{')
	defer func() { e.shape = append(e.shape, '}') }()
	for i, k := range keys {
		if !e.ok {
			return
		}
		e.shape = strconv.AppendInt(e.shape, int64(len(k)), 10)
		e.shape = append(e.shape, ':')
		e.shape = append(e.shape, k...)
		if i > 0 || !inItem {
			e.indent(indent)
		}
		ks, ok := scalarString(k)
		if !ok || !printableASCII(k) || len(k) > maxKey {
			e.ok = false
			return
		}
		e.b = append(e.b, ks...)
		e.b = append(e.b, ':')
		e.value(m[k], indent, indent+len(ks)+2)
		e.shape = append(e.shape, ',')
	}
}

// value writes v after "key:", the key at indent; col is where a scalar
// starts.
func (e *emitter) value(v any, indent, col int) {
	switch v := v.(type) {
	case map[string]any:
		if len(v) == 0 {
			e.b = append(e.b, " {}\n"...)
			e.shape = append(e.shape, "{}"...)
			return
		}
		e.b = append(e.b, '\n')
		e.mapping(v, indent+2, false)
	case []any:
		if len(v) == 0 {
			e.b = append(e.b, " []\n"...)
			e.shape = append(e.shape, "[]"...)
			return
		}
		e.b = append(e.b, '\n')
		e.sequence(v, indent)
	default:
		e.b = append(e.b, ' ')
		e.scalar(v, col)
	}
}

func (e *emitter) sequence(s []any, indent int) {
	e.shape = append(e.shape, '[')
	defer func() { e.shape = append(e.shape, ']') }()
	for _, item := range s {
		if !e.ok {
			return
		}
		e.indent(indent)
		e.b = append(e.b, "- "...)
		switch item := item.(type) {
		case map[string]any:
			if len(item) == 0 {
				e.b = append(e.b, "{}\n"...)
				e.shape = append(e.shape, "{},"...)
				continue
			}
			e.mapping(item, indent+2, true)
		case []any:
			e.ok = false
		default:
			e.scalar(item, indent+2)
		}
		e.shape = append(e.shape, ',')
	}
}

// scalar writes v and the line's end; col is the column it starts at.
func (e *emitter) scalar(v any, col int) {
	var s string
	switch v := v.(type) {
	case nil:
		s = "null"
		e.shape = append(e.shape, 'n')
	case bool:
		s = strconv.FormatBool(v)
		e.shape = append(e.shape, 'b')
	case int64:
		s = strconv.FormatInt(v, 10)
		e.shape = append(e.shape, 'i')
	case string:
		e.shape = append(e.shape, 's')
		var ok bool
		if s, ok = scalarString(v); !ok || (strings.ContainsRune(s, ' ') && col+len(s) > maxWidth) {
			e.ok = false
			return
		}
	default:
		e.ok = false
		return
	}
	e.b = append(e.b, s...)
	e.b = append(e.b, '\n')
}

// scalarString is s as yaml.v2 writes it on one line (plain, or quoted
// when it would read as something else); false when yaml.v2 writes it on
// several.
func scalarString(s string) (string, bool) {
	if plainSafe(s) {
		return s, true
	}
	if r, ok := scalarCache.Load(s); ok {
		c := r.(cachedScalar)
		return c.text, c.ok
	}
	out, err := yaml.Marshal(map[string]string{"k": s})
	if err != nil {
		return "", false
	}
	text, found := strings.CutPrefix(string(out), "k: ")
	text, oneLine := strings.CutSuffix(text, "\n")
	c := cachedScalar{text: text, ok: found && oneLine && !strings.Contains(text, "\n")}
	if scalarCacheSize.Add(1) <= maxScalarCache {
		scalarCache.Store(s, c)
	}
	return c.text, c.ok
}

type cachedScalar struct {
	text string
	ok   bool
}

// scalarCache keeps how yaml.v2 writes the strings that are not
// plainSafe; most are the same in every store (label keys, "1Gi", "\"2\"").
// It holds at most maxScalarCache of them, so one-off strings (titles)
// cannot grow it without bound in a long-running service.
var (
	scalarCache     sync.Map
	scalarCacheSize counterInt
)

const maxScalarCache = 4096

type counterInt struct {
	mu sync.Mutex
	n  int
}

func (c *counterInt) Add(d int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n += d
	return c.n
}

// plainSafe reports whether yaml.v2 surely writes s as it is: a letter,
// then letters, digits and "-._/@", and not a word YAML 1.1 reads as a
// boolean or null. It never needs quotes, and has no space to fold at.
func plainSafe(s string) bool {
	if s == "" || len(s) > maxKey || !isASCIILetter(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !isASCIILetter(c) && !(c >= '0' && c <= '9') && c != '-' && c != '.' && c != '_' && c != '/' && c != '@' {
			return false
		}
	}
	switch strings.ToLower(s) {
	case "y", "yes", "n", "no", "true", "false", "on", "off", "null":
		return false
	}
	return true
}

// printableASCII reports whether s is only printable ASCII: a key that
// yaml.v2 surely writes as a simple key when it writes it on one line.
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func isASCIILetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// sortKeys orders map keys as yaml.v2 does (its keyList.Less, for
// strings): letters by code point, a non-letter before a letter, and runs
// of digits by their number.
func sortKeys(keys []string) {
	sort.Slice(keys, func(i, j int) bool { return keyLessString(keys[i], keys[j]) })
}

// digitTies reports whether two keys first differ at two non-letters of
// which one is a digit, or right after a digit. There yaml.v2 compares runs of digits as numbers, which is
// no total order ("x1y" < "x01y" < "x10y" < "x1y"), so its order depends
// on the map's iteration; elsewhere keyLess is a total order.
func digitTies(keys []string) bool {
	var withDigits []string
	for _, k := range keys {
		if strings.ContainsAny(k, "0123456789") {
			withDigits = append(withDigits, k)
		}
	}
	isDigit := func(c byte) bool { return c >= '0' && c <= '9' }
	for i, a := range withDigits {
		for _, b := range withDigits[i+1:] {
			p := 0
			for p < len(a) && p < len(b) && a[p] == b[p] {
				p++
			}
			if p < len(a) && p < len(b) && !isASCIILetter(a[p]) && !isASCIILetter(b[p]) &&
				(isDigit(a[p]) || isDigit(b[p]) || (p > 0 && isDigit(a[p-1]))) {
				return true
			}
		}
	}
	return false
}

// keyLessString is keyLess without converting ASCII keys to runes.
func keyLessString(a, b string) bool {
	if !isASCII(a) || !isASCII(b) {
		return keyLess([]rune(a), []rune(b))
	}
	var ar, br [64]rune
	if len(a) > len(ar) || len(b) > len(br) {
		return keyLess([]rune(a), []rune(b))
	}
	for i := 0; i < len(a); i++ {
		ar[i] = rune(a[i])
	}
	for i := 0; i < len(b); i++ {
		br[i] = rune(b[i])
	}
	return keyLess(ar[:len(a)], br[:len(b)])
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func keyLess(ar, br []rune) bool {
	for i := 0; i < len(ar) && i < len(br); i++ {
		if ar[i] == br[i] {
			continue
		}
		al, bl := unicode.IsLetter(ar[i]), unicode.IsLetter(br[i])
		if al && bl {
			return ar[i] < br[i]
		}
		if al || bl {
			return bl
		}
		var ai, bi int
		var an, bn int64
		if ar[i] == '0' || br[i] == '0' {
			for j := i - 1; j >= 0 && unicode.IsDigit(ar[j]); j-- {
				if ar[j] != '0' {
					an, bn = 1, 1
					break
				}
			}
		}
		for ai = i; ai < len(ar) && unicode.IsDigit(ar[ai]); ai++ {
			an = an*10 + int64(ar[ai]-'0')
		}
		for bi = i; bi < len(br) && unicode.IsDigit(br[bi]); bi++ {
			bn = bn*10 + int64(br[bi]-'0')
		}
		if an != bn {
			return an < bn
		}
		if ai != bi {
			return ai < bi
		}
		return ar[i] < br[i]
	}
	return len(ar) < len(br)
}
