package cases

import (
	"encoding/gob"
	"errors"
	"fmt"
	"time"
)

// Types used by the golden value cases. Everything the cases encode is
// declared here (or imported from aws-lambda-go / net/rpc), so that
// capture (which encodes) and gopeer gobdecode (which decodes) agree on the
// Go types. Wire names of named types are their reflect Name(); %T prints
// them as "cases.X".

// Point is the worked example of encoding/gob's doc.go.
type Point struct {
	X, Y int
}

// Inner is a small struct reused as a field type.
type Inner struct {
	A int
	B string
}

// AllKinds has one field of every reflect kind gob knows about, plus a
// channel and a func field (which gob ignores like unexported fields).
type AllKinds struct {
	Bool       bool
	Int        int
	Int8       int8
	Int16      int16
	Int32      int32
	Int64      int64
	Uint       uint
	Uint8      uint8
	Uint16     uint16
	Uint32     uint32
	Uint64     uint64
	Uintptr    uintptr
	Float32    float32
	Float64    float64
	Complex64  complex64
	Complex128 complex128
	String     string
	Bytes      []byte
	Slice      []int
	Array      [2]int
	Map        map[string]int
	Ptr        *int
	Iface      interface{}
	Struct     Inner
	Chan       chan int
	Func       func()
}

// Mixed is PROTOCOL.md's struct{a int; B int; C chan int; D int}: only B and
// D are sent, as gob fields 0 and 1.
type Mixed struct {
	a int
	B int
	C chan int
	D int
}

// NewMixed builds a Mixed with every field (including the unexported one) set.
func NewMixed() Mixed {
	return Mixed{a: 1, B: 2, C: make(chan int), D: 4}
}

// Outer holds a struct by value between two other fields.
type Outer struct {
	Name string
	In   Inner
	N    int
}

// PtrHolder has a pointer and a double pointer to a struct.
type PtrHolder struct {
	P  *Inner
	PP **Inner
	N  int
}

// WithEmbedded embeds Inner (gob sends it as a field named "Inner").
type WithEmbedded struct {
	Inner
	C int
}

// Node is a recursive type (a singly linked list).
type Node struct {
	Val  int
	Next *Node
}

// Item is the element type of the []*Item / []Item cases.
type Item struct {
	Name string
	N    int
}

// Holder has a []*Item field.
type Holder struct {
	Items []*Item
}

// MapHolder has a map field.
type MapHolder struct {
	M map[string]int
	N int
}

// Celsius is a named non-struct (float) type.
type Celsius float64

// Names is a named slice type.
type Names []string

// NamedFields uses the named non-struct types as fields.
type NamedFields struct {
	Temp Celsius
	List Names
}

// Circle is registered with gob.Register and sent inside interface fields.
type Circle struct {
	R int
}

// Count is a registered named int, sent inside interface fields.
type Count int

// IfaceHolder has interface fields.
type IfaceHolder struct {
	A interface{}
	B interface{}
	C interface{}
}

// GobThing implements GobEncoder (and also BinaryMarshaler, which gob must
// NOT use because GobEncoder takes precedence).
type GobThing struct {
	a, b byte
}

// NewGobThing returns a GobThing with the given hidden state.
func NewGobThing(a, b byte) GobThing { return GobThing{a: a, b: b} }

func (g GobThing) GobEncode() ([]byte, error) { return []byte{'G', g.a, g.b}, nil }

func (g *GobThing) GobDecode(p []byte) error {
	if len(p) != 3 || p[0] != 'G' {
		return errors.New("GobThing: bad encoding")
	}
	g.a, g.b = p[1], p[2]
	return nil
}

func (g GobThing) MarshalBinary() ([]byte, error) { return []byte{'B', g.a, g.b}, nil }

func (g *GobThing) UnmarshalBinary(p []byte) error {
	return errors.New("GobThing: UnmarshalBinary must not be used")
}

// BinThing implements BinaryMarshaler (and also TextMarshaler, which gob
// never uses).
type BinThing struct {
	v uint16
}

// NewBinThing returns a BinThing holding v.
func NewBinThing(v uint16) BinThing { return BinThing{v: v} }

func (b BinThing) MarshalBinary() ([]byte, error) { return []byte{byte(b.v >> 8), byte(b.v)}, nil }

func (b *BinThing) UnmarshalBinary(p []byte) error {
	if len(p) != 2 {
		return errors.New("BinThing: bad encoding")
	}
	b.v = uint16(p[0])<<8 | uint16(p[1])
	return nil
}

func (b BinThing) MarshalText() ([]byte, error) { return []byte(fmt.Sprintf("bin:%d", b.v)), nil }

func (b *BinThing) UnmarshalText(p []byte) error {
	return errors.New("BinThing: UnmarshalText must not be used")
}

// TextThing implements only TextMarshaler. gob does NOT use TextMarshaler
// (encoding/gob type.go: disabled because of golang.org/issue/6760), so it is
// encoded as a plain struct with its exported field S.
type TextThing struct {
	S string
}

func (t TextThing) MarshalText() ([]byte, error) { return []byte("text:" + t.S), nil }

func (t *TextThing) UnmarshalText(p []byte) error {
	if len(p) < 5 || string(p[:5]) != "text:" {
		return errors.New("TextThing: bad encoding")
	}
	t.S = string(p[5:])
	return nil
}

// MarshalerHolder has one field per marshaler flavour.
type MarshalerHolder struct {
	G GobThing
	B BinThing
	T TextThing
}

// TimeHolder has a time.Time field (time.Time is a GobEncoder).
type TimeHolder struct {
	When time.Time
	N    int
}

// PtrMarshalerHolder has pointers to marshalers: gob gives each pointer type
// of a marshaler a type id of its own (buildTypeInfo), which its definition
// names with an empty name.
type PtrMarshalerHolder struct {
	G    *GobThing
	B    *BinThing
	When *time.Time
}

// Hidden has fields, but none exported: gob refuses to encode it.
type Hidden struct {
	a, b int
}

// NewHidden returns a Hidden with both fields set.
func NewHidden() Hidden { return Hidden{a: 1, b: 2} }

// Empty is a named empty struct.
type Empty struct{}

// First and Second share the field type Inner.
type First struct {
	In Inner
	X  int
}

// Second shares Inner with First.
type Second struct {
	In Inner
	Y  string
}

func init() {
	// gob.Register never assigns type ids; it only records names for
	// interface values. Basic types are pre-registered by gob itself.
	gob.Register(Circle{})
	gob.Register(Count(0))
}
