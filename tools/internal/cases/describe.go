package cases

import (
	"bytes"
	"encoding"
	"encoding/gob"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"unicode/utf8"
)

// LargeBytes is the threshold above which a []byte is written in VALUE JSON
// as {"bytes_pattern": {"len": N, "seed": S}} instead of hex. Such slices
// must have been made by Pattern.
const LargeBytes = 64 * 1024

// Pattern returns n bytes where byte i = (i*31 + seed) & 0xff.
func Pattern(n, seed int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte((i*31 + seed) & 0xff)
	}
	return b
}

// ---------------------------------------------------------------------------
// TYPE DESC

// TypeDesc is the JSON description of a reflect.Type (see golden/README.md).
type TypeDesc struct {
	Kind      string       `json:"kind"`
	Name      *string      `json:"name,omitempty"`
	String    string       `json:"string"`
	Len       *int         `json:"len,omitempty"`
	Key       *TypeDesc    `json:"key,omitempty"`
	Elem      *TypeDesc    `json:"elem,omitempty"`
	Fields    *[]FieldDesc `json:"fields,omitempty"`
	Marshaler string       `json:"marshaler,omitempty"`
}

// FieldDesc describes one struct field.
type FieldDesc struct {
	Name     string    `json:"name"`
	Exported bool      `json:"exported"`
	Embedded bool      `json:"embedded,omitempty"`
	Type     *TypeDesc `json:"type"`
}

var (
	gobEncoderType = reflect.TypeOf((*gob.GobEncoder)(nil)).Elem()
	binaryMarsType = reflect.TypeOf((*encoding.BinaryMarshaler)(nil)).Elem()
)

// Marshaler reports which marshaling interface gob uses for the non-pointer
// type t: "GobEncoder", "BinaryMarshaler" or "". Like gob, it accepts a
// method of t or of *t, and prefers GobEncoder. TextMarshaler is never
// reported: gob does not use it (encoding/gob type.go validUserType, the
// TextMarshaler branch is commented out, golang.org/issue/6760). Pointer
// types report "" (their element carries the mark).
func Marshaler(t reflect.Type) string {
	if t.Kind() == reflect.Pointer {
		return ""
	}
	pt := reflect.PointerTo(t)
	for _, c := range []struct {
		name  string
		iface reflect.Type
	}{{"GobEncoder", gobEncoderType}, {"BinaryMarshaler", binaryMarsType}} {
		if t.Implements(c.iface) || pt.Implements(c.iface) {
			return c.name
		}
	}
	return ""
}

func kindName(k reflect.Kind) string {
	switch k {
	case reflect.Pointer:
		return "ptr"
	case reflect.UnsafePointer:
		return "unsafe"
	}
	return k.String()
}

// Describe returns the TYPE DESC of t.
func Describe(t reflect.Type) *TypeDesc {
	return describe(t, map[reflect.Type]bool{})
}

func describe(t reflect.Type, active map[reflect.Type]bool) *TypeDesc {
	if t.Kind() == reflect.Struct && active[t] {
		return &TypeDesc{Kind: "ref", String: t.String()}
	}
	name := t.Name()
	d := &TypeDesc{Kind: kindName(t.Kind()), Name: &name, String: t.String(), Marshaler: Marshaler(t)}
	switch t.Kind() {
	case reflect.Slice, reflect.Pointer, reflect.Chan:
		if t.Kind() != reflect.Chan {
			d.Elem = describe(t.Elem(), active)
		}
	case reflect.Array:
		n := t.Len()
		d.Len = &n
		d.Elem = describe(t.Elem(), active)
	case reflect.Map:
		d.Key = describe(t.Key(), active)
		d.Elem = describe(t.Elem(), active)
	case reflect.Struct:
		active[t] = true
		fs := []FieldDesc{}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			fs = append(fs, FieldDesc{Name: f.Name, Exported: f.IsExported(), Embedded: f.Anonymous, Type: describe(f.Type, active)})
		}
		delete(active, t)
		d.Fields = &fs
	}
	return d
}

// GobName is the name gob.Register gives the concrete type t (the name sent
// with interface values): "pkgpath.Name" for named types, "Name" for
// predeclared ones, t.String() for unnamed types (pointers included).
func GobName(t reflect.Type) string {
	if t.Name() == "" {
		return t.String()
	}
	if t.PkgPath() == "" {
		return t.Name()
	}
	return t.PkgPath() + "." + t.Name()
}

// ---------------------------------------------------------------------------
// VALUE JSON

// Member is one key of an Object.
type Member struct {
	Key   string
	Value interface{}
}

// Object is a JSON object that keeps its key order.
type Object []Member

// MarshalJSON writes the members in order.
func (o Object) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			buf.WriteByte(',')
		}
		k, err := MarshalJSON(m.Key)
		if err != nil {
			return nil, err
		}
		buf.Write(k)
		buf.WriteByte(':')
		v, err := MarshalJSON(m.Value)
		if err != nil {
			return nil, err
		}
		buf.Write(v)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// MarshalJSON is json.Marshal without HTML escaping and without the
// trailing newline.
func MarshalJSON(v interface{}) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Walker converts Go values to VALUE JSON and notes what it saw.
type Walker struct {
	// MapOrderRandom is set when a map with >= 2 entries was walked.
	MapOrderRandom bool
	// LargeBytes is set when a []byte longer than LargeBytes was walked.
	LargeBytes bool
}

// Value returns the VALUE JSON of v (driven by v's static type).
func (w *Walker) Value(v reflect.Value) interface{} {
	t := v.Type()
	if m := Marshaler(t); m != "" {
		// "zero" records reflect's IsZero: gob omits a zero marshaler field without calling it.
		return Object{{"marshaled", hex.EncodeToString(callMarshaler(v, m))}, {"zero", v.IsZero()}}
	}
	switch t.Kind() {
	case reflect.Bool:
		return v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint()
	case reflect.Float32, reflect.Float64:
		return floatBits(v.Float())
	case reflect.Complex64, reflect.Complex128:
		c := v.Complex()
		return []string{floatBits(real(c)), floatBits(imag(c))}
	case reflect.String:
		s := v.String()
		if utf8.ValidString(s) {
			return s
		}
		return Object{{"hex", hex.EncodeToString([]byte(s))}}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return w.bytesValue(v)
		}
		if v.IsNil() {
			return nil
		}
		return w.list(v)
	case reflect.Array:
		return w.list(v)
	case reflect.Map:
		if v.IsNil() {
			return nil
		}
		if v.Len() >= 2 {
			w.MapOrderRandom = true
		}
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return keyLess(keys[i], keys[j]) })
		pairs := make([]interface{}, 0, len(keys))
		for _, k := range keys {
			pairs = append(pairs, []interface{}{w.Value(k), w.Value(v.MapIndex(k))})
		}
		return pairs
	case reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		return w.Value(v.Elem())
	case reflect.Interface:
		if v.IsNil() {
			return nil
		}
		c := v.Elem()
		return Object{{"name", GobName(c.Type())}, {"type", Describe(c.Type())}, {"value", w.Value(c)}}
	case reflect.Struct:
		o := Object{}
		for i := 0; i < t.NumField(); i++ {
			if f := t.Field(i); f.IsExported() {
				o = append(o, Member{f.Name, w.Value(v.Field(i))})
			}
		}
		return o
	case reflect.Chan, reflect.Func, reflect.UnsafePointer:
		if v.IsNil() {
			return nil
		}
		return "non-nil"
	}
	panic(fmt.Sprintf("cases: no VALUE JSON for kind %s", t.Kind()))
}

func (w *Walker) list(v reflect.Value) []interface{} {
	l := make([]interface{}, 0, v.Len())
	for i := 0; i < v.Len(); i++ {
		l = append(l, w.Value(v.Index(i)))
	}
	return l
}

func (w *Walker) bytesValue(v reflect.Value) interface{} {
	b := v.Bytes()
	if len(b) > LargeBytes {
		w.LargeBytes = true
		seed := int(b[0])
		if !bytes.Equal(b, Pattern(len(b), seed)) {
			panic(fmt.Sprintf("cases: []byte of %d bytes was not made by Pattern", len(b)))
		}
		return Object{{"bytes_pattern", Object{{"len", len(b)}, {"seed", seed}}}}
	}
	o := Object{{"bytes", hex.EncodeToString(b)}}
	if v.IsNil() {
		o = append(o, Member{"nil", true})
	}
	return o
}

func floatBits(f float64) string {
	return fmt.Sprintf("%016x", math.Float64bits(f))
}

func keyLess(a, b reflect.Value) bool {
	switch a.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return a.Int() < b.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return a.Uint() < b.Uint()
	case reflect.Float32, reflect.Float64:
		return a.Float() < b.Float()
	case reflect.String:
		return a.String() < b.String()
	}
	return fmt.Sprint(a.Interface()) < fmt.Sprint(b.Interface())
}

// callMarshaler calls the marshal method gob would use on v.
func callMarshaler(v reflect.Value, which string) []byte {
	p := reflect.New(v.Type())
	p.Elem().Set(v)
	var out []byte
	var err error
	switch which {
	case "GobEncoder":
		out, err = p.Interface().(gob.GobEncoder).GobEncode()
	case "BinaryMarshaler":
		out, err = p.Interface().(encoding.BinaryMarshaler).MarshalBinary()
	}
	if err != nil {
		panic(fmt.Sprintf("cases: %s of %s failed: %v", which, v.Type(), err))
	}
	return out
}

// ValueEntry is one element of a case's "values" list.
type ValueEntry struct {
	GoType string      `json:"go_type"`
	Type   *TypeDesc   `json:"type"`
	Value  interface{} `json:"value"`
}

// Entry builds the "values" element for x (the value passed to Encode).
func (w *Walker) Entry(x interface{}) ValueEntry {
	return ValueEntry{GoType: fmt.Sprintf("%T", x), Type: Describe(reflect.TypeOf(x)), Value: w.Value(reflect.ValueOf(x))}
}
