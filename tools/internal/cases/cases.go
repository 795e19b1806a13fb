// Package cases is the table of golden gob value cases shared by
// tools/capture (which encodes each case in a fresh Go process and writes
// golden/gob/<case>.json) and tools/gopeer gobdecode (which decodes a stream
// into the Go types of a case). It also holds the TYPE DESC / VALUE JSON
// walker described in golden/README.md.
package cases

import (
	"math"
	"net/rpc"
	"time"

	"github.com/aws/aws-lambda-go/lambda/messages"
)

// Case is one golden value case: Values are encoded, in order, by ONE
// gob.Encoder in a fresh process.
type Case struct {
	Name        string
	Description string
	Values      func() []interface{}
}

func one(v interface{}) func() []interface{} {
	return func() []interface{} { return []interface{}{v} }
}

func many(vs ...interface{}) func() []interface{} {
	return func() []interface{} { return vs }
}

// FixedTime is the time.Time used by the time case.
var FixedTime = time.Date(2023, time.November, 14, 22, 13, 20, 123456789, time.UTC)

func allKindsNonZero() AllKinds {
	n := 42
	return AllKinds{
		Bool: true, Int: -7, Int8: -8, Int16: 1600, Int32: -320000, Int64: 1 << 40,
		Uint: 7, Uint8: 200, Uint16: 65000, Uint32: 4000000000, Uint64: 1 << 63, Uintptr: 0x1234,
		Float32: 1.5, Float64: 17, Complex64: complex(1, -2), Complex128: complex(0.5, 3),
		String: "str", Bytes: []byte{0, 1, 0xff}, Slice: []int{0, -1, 2}, Array: [2]int{0, 5},
		Map: map[string]int{"k": 1}, Ptr: &n, Iface: 7, Struct: Inner{A: 1, B: "b"},
		Chan: make(chan int), Func: func() {},
	}
}

func invokeRequestFull() messages.InvokeRequest {
	return messages.InvokeRequest{
		Payload:               []byte(`{"hello":"world"}`),
		RequestId:             "8476a536-e9f4-11e8-9739-2dfe598c3fcd",
		XAmznTraceId:          "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1",
		Deadline:              messages.InvokeRequest_Timestamp{Seconds: 1700000000, Nanos: 123456789},
		InvokedFunctionArn:    "arn:aws:lambda:us-east-1:123456789012:function:golden",
		CognitoIdentityId:     "us-east-1:11111111-2222-3333-4444-555555555555",
		CognitoIdentityPoolId: "us-east-1:66666666-7777-8888-9999-000000000000",
		ClientContext:         []byte(`{"Client":{"installation_id":"inst-1","app_title":"Golden","app_version_code":"1","app_package_name":"com.example.golden"},"env":{"locale":"en_US"},"custom":{"k":"v"}}`),
	}
}

func stackFrames() []*messages.InvokeResponse_Error_StackFrame {
	return []*messages.InvokeResponse_Error_StackFrame{
		{Path: "github.com/aws/aws-lambda-go@v1.54.0/lambda/errors.go", Line: 39, Label: "lambdaPanicResponse"},
		{Path: "main/main.go", Line: 12, Label: "handler"},
		{Path: "runtime/asm_amd64.s", Line: 1700, Label: "goexit"},
	}
}

// All is the case table, in the order the cases are listed in golden/index.json.
var All = []Case{
	// --- doc.go
	{"point", "doc.go's worked example Point{22, 33} (bytes must match doc.go)", one(Point{22, 33})},

	// --- top-level singletons of the basic kinds
	{"bool_true", "top-level bool true", one(true)},
	{"bool_false", "top-level bool false (a singleton is sent even when zero)", one(false)},
	{"int_0", "top-level int 0", one(0)},
	{"int_3", "top-level int 3", one(3)},
	{"int_neg1", "top-level int -1", one(-1)},
	{"int_neg64", "top-level int -64 (largest one-byte negative)", one(-64)},
	{"int_64", "top-level int 64 (first two-byte positive)", one(64)},
	{"int_neg129", "top-level int -129", one(-129)},
	{"int8_min", "int8 -128", one(int8(math.MinInt8))},
	{"int8_max", "int8 127", one(int8(math.MaxInt8))},
	{"int16_min", "int16 -32768", one(int16(math.MinInt16))},
	{"int16_max", "int16 32767", one(int16(math.MaxInt16))},
	{"int32_min", "int32 min", one(int32(math.MinInt32))},
	{"int32_max", "int32 max", one(int32(math.MaxInt32))},
	{"int64_min", "int64 min", one(int64(math.MinInt64))},
	{"int64_max", "int64 max", one(int64(math.MaxInt64))},
	{"uint_0", "top-level uint64 0", one(uint64(0))},
	{"uint_127", "uint 127 (largest one-byte uint)", one(uint(127))},
	{"uint_128", "uint 128 (first multi-byte uint)", one(uint(128))},
	{"uint8_max", "uint8 255", one(uint8(math.MaxUint8))},
	{"uint16_max", "uint16 65535", one(uint16(math.MaxUint16))},
	{"uint32_max", "uint32 max", one(uint32(math.MaxUint32))},
	{"uint64_max", "uint64 max", one(uint64(math.MaxUint64))},
	{"uintptr", "uintptr 0xdeadbeef (sent as uint)", one(uintptr(0xdeadbeef))},
	{"float32_1_5", "float32 1.5 (widened to float64)", one(float32(1.5))},
	{"float64_17", "float64 17.0", one(17.0)},
	{"float64_neg_zero", "float64 -0.0 (top-level, so sent)", one(math.Copysign(0, -1))},
	{"float64_pos_inf", "float64 +Inf", one(math.Inf(1))},
	{"float64_neg_inf", "float64 -Inf", one(math.Inf(-1))},
	{"float64_nan", "float64 math.NaN() (bits 7ff8000000000001)", one(math.NaN())},
	{"float32_nan", "float32 NaN with payload (bits 7fc00001), widened to float64", one(math.Float32frombits(0x7fc00001))},
	{"float64_subnormal", "float64 smallest subnormal (bits 0000000000000001)", one(math.SmallestNonzeroFloat64)},
	{"float64_max", "float64 largest finite", one(math.MaxFloat64)},
	{"complex64", "complex64(1.5-2i)", one(complex64(complex(1.5, -2)))},
	{"complex128", "complex128(17+0.25i)", one(complex(17, 0.25))},
	{"string_hi", `string "hi"`, one("hi")},
	{"string_empty", `string ""`, one("")},
	{"string_non_utf8", `string "\xff\xfe" (not UTF-8; gob does not check)`, one("\xff\xfe")},
	{"string_200", "string of 200 ASCII bytes (length as uint ffc8)", one(string(asciiRun(200)))},
	{"bytes_nil", "[]byte(nil) at top level", one([]byte(nil))},
	{"bytes_empty", "[]byte{} at top level", one([]byte{})},
	{"bytes_hi", `[]byte("hi")`, one([]byte("hi"))},
	{"bytes_300k", "[]byte of 300 KiB, Pattern(307200, 7)", func() []interface{} { return []interface{}{Pattern(300*1024, 7)} }},

	// --- structs
	{"all_kinds_zero", "AllKinds{} (every kind as a field, all zero; Array and Struct are still sent)", one(AllKinds{})},
	{"all_kinds_nonzero", "AllKinds with every field non-zero (chan/func ignored)", func() []interface{} { return []interface{}{allKindsNonZero()} }},
	{"unexported_chan_fields", "Mixed{a:1, B:2, C:make(chan int), D:4}: only B and D are sent, as fields 0 and 1", func() []interface{} { return []interface{}{NewMixed()} }},
	{"nested_struct_zero", "Outer{} (nested by-value struct is always sent)", one(Outer{})},
	{"nested_struct_nonzero", "Outer with nested Inner set", one(Outer{Name: "o", In: Inner{A: 3, B: "in"}, N: 9})},
	{"ptr_fields_nil", "PtrHolder with nil pointers", one(PtrHolder{N: 1})},
	{"ptr_fields_empty", "PtrHolder{P: &Inner{}} (non-nil pointer to a zero struct is sent)", one(PtrHolder{P: &Inner{}, N: 1})},
	{"ptr_fields_double", "PtrHolder{PP: **Inner} (double pointer flattened)", func() []interface{} {
		p := &Inner{A: 5, B: "pp"}
		return []interface{}{PtrHolder{PP: &p, N: 1}}
	}},
	{"ptr_top_level", "&Point{1, 2} passed to Encode (dereferenced, same bytes as by value)", one(&Point{1, 2})},
	{"ptr_top_level_nil", "(*Point)(nil) passed to Encode: gob panics", one((*Point)(nil))},
	{"embedded_struct", "WithEmbedded{Inner{1,\"e\"}, 2}: embedded struct is a field named Inner", one(WithEmbedded{Inner: Inner{A: 1, B: "e"}, C: 2})},
	{"linked_list", "recursive Node list 1 -> 2 -> 3", one(Node{Val: 1, Next: &Node{Val: 2, Next: &Node{Val: 3}}})},
	{"ptr_slice_top", "[]*Item at top level (element struct gets an EMPTY name)", one([]*Item{{Name: "a", N: 1}, {Name: "b"}})},
	{"value_slice_top", "[]Item at top level (element struct is named Item)", one([]Item{{Name: "a", N: 1}, {Name: "b"}})},
	{"ptr_slice_field", "Holder{Items []*Item} (slice named []*cases.Item, element unnamed)", one(Holder{Items: []*Item{{Name: "a", N: 1}, {}}})},
	{"ptr_slice_nil_elem", "[]*Item with a nil element: encode error", one([]*Item{{Name: "a"}, nil})},
	{"string_slice", `unnamed []string{"a", ""}`, one([]string{"a", ""})},
	{"array_3int", "[3]int{1, 2, 3}", one([3]int{1, 2, 3})},
	{"array_0int", "[0]int{}", one([0]int{})},
	{"array_2x2string", `[2][2]string{{"a","b"},{"c",""}}`, one([2][2]string{{"a", "b"}, {"c", ""}})},
	{"map_nil_field", "MapHolder{M: nil, N: 1} (nil map omitted)", one(MapHolder{N: 1})},
	{"map_empty_field", "MapHolder{M: map[string]int{}, N: 1} (empty non-nil map sent as count 0)", func() []interface{} { return []interface{}{MapHolder{M: map[string]int{}, N: 1}} }},
	{"map_string_int_one", `map[string]int{"one": 1} at top level`, func() []interface{} { return []interface{}{map[string]int{"one": 1}} }},
	{"map_int_string_three", `map[int]string{1:"a", 2:"b", 3:"c"} (order random)`, func() []interface{} { return []interface{}{map[int]string{1: "a", 2: "b", 3: "c"}} }},
	{"map_struct_values", `map[string]Point{"a":{1,2}, "b":{3,4}} (order random)`, func() []interface{} {
		return []interface{}{map[string]Point{"a": {1, 2}, "b": {3, 4}}}
	}},
	{"named_float", "Celsius(36.6): named float at top level", one(Celsius(36.6))},
	{"named_slice", `Names{"x", "y"}: named slice at top level`, one(Names{"x", "y"})},
	{"named_fields", "NamedFields{Celsius, Names}", one(NamedFields{Temp: -40, List: Names{"p", "q"}})},
	{"interface_fields", "IfaceHolder{A: Circle{2}, B: Count(5), C: nil} (registered types)", one(IfaceHolder{A: Circle{R: 2}, B: Count(5)})},
	{"interface_nil", "IfaceHolder{} (all interfaces nil)", one(IfaceHolder{})},
	{"interface_basic", `IfaceHolder{A: 3, B: "s", C: []byte("b")} (pre-registered basic types)`, one(IfaceHolder{A: 3, B: "s", C: []byte("b")})},
	{"gob_encoder_top", "GobThing at top level (GobEncoder preferred over its MarshalBinary)", func() []interface{} { return []interface{}{NewGobThing(1, 2)} }},
	{"marshaler_fields", "MarshalerHolder{GobEncoder, BinaryMarshaler (preferred over its MarshalText), TextMarshaler (ignored by gob: sent as a plain struct)}", func() []interface{} {
		return []interface{}{MarshalerHolder{G: NewGobThing(3, 4), B: NewBinThing(0x0102), T: TextThing{S: "hey"}}}
	}},
	{"text_marshaler_top", `TextThing{S: "hi"} at top level: gob ignores MarshalText and sends the struct`, one(TextThing{S: "hi"})},
	{"marshaler_fields_zero", "MarshalerHolder{} (zero marshaler fields)", one(MarshalerHolder{})},
	{"time_field", "TimeHolder{When: 2023-11-14T22:13:20.123456789Z (time.Time is a GobEncoder), N: 1}", one(TimeHolder{When: FixedTime, N: 1})},
	{"gob_encoder_ptr_top", "&GobThing at top level: defined under GobThing's id with CommonType {\"\", next id}", func() []interface{} {
		g := NewGobThing(5, 6)
		return []interface{}{&g}
	}},
	{"marshaler_ptr_fields", "PtrMarshalerHolder{*GobThing, *BinThing, *time.Time}: each pointer type takes an id of its own", func() []interface{} {
		g, b, t := NewGobThing(7, 8), NewBinThing(0x0304), FixedTime
		return []interface{}{PtrMarshalerHolder{G: &g, B: &b, When: &t}}
	}},
	{"gob_encoder_then_ptr", "GobThing, then &GobThing (no definition, but an id used up), then Point (one id later)", func() []interface{} {
		g := NewGobThing(3, 4)
		return []interface{}{NewGobThing(1, 2), &g, Point{1, 2}}
	}},
	{"no_exported_fields", "Hidden{a, b}: fields but none exported: encode error", func() []interface{} { return []interface{}{NewHidden()} }},
	{"empty_struct", "struct{}{} (unnamed empty struct, net/rpc's error body)", one(struct{}{})},
	{"named_empty_struct", "Empty{} (named empty struct)", one(Empty{})},

	// --- several values on one encoder
	{"multi_same_struct_twice", "Point{1,2} then Point{3,4} on one encoder (definition sent once)", many(Point{1, 2}, Point{3, 4})},
	{"multi_shared_field_type", "First then Second on one encoder; both have an Inner field (Inner defined once)", many(First{In: Inner{A: 1}, X: 2}, Second{In: Inner{B: "s"}, Y: "y"})},
	{"multi_int_then_struct", "int 7 then Point{5,6} then int 8 on one encoder", many(7, Point{5, 6}, 8)},

	// --- net/rpc headers
	{"rpc_request_seq0", `rpc.Request{ServiceMethod: "Function.Ping", Seq: 0}`, one(rpc.Request{ServiceMethod: "Function.Ping"})},
	{"rpc_request_seq1", `rpc.Request{ServiceMethod: "Function.Invoke", Seq: 1}`, one(rpc.Request{ServiceMethod: "Function.Invoke", Seq: 1})},
	{"rpc_response_error", `rpc.Response{"Function.Nope", 0, "rpc: can't find method Function.Nope"} then its struct{}{} body`, many(
		rpc.Response{ServiceMethod: "Function.Nope", Error: "rpc: can't find method Function.Nope"}, struct{}{})},

	// --- aws-lambda-go messages
	{"lambda_ping_request", "messages.PingRequest{}", one(messages.PingRequest{})},
	{"lambda_ping_response", "messages.PingResponse{}", one(messages.PingResponse{})},
	{"lambda_invoke_request_full", "messages.InvokeRequest with every field set", func() []interface{} { return []interface{}{invokeRequestFull()} }},
	{"lambda_invoke_request_zero", "messages.InvokeRequest{}", one(messages.InvokeRequest{})},
	{"lambda_invoke_request_payload_hi", `messages.InvokeRequest{Payload: "hi"}`, one(messages.InvokeRequest{Payload: []byte("hi")})},
	{"lambda_invoke_response_empty", "messages.InvokeResponse{}", one(messages.InvokeResponse{})},
	{"lambda_invoke_response_ok", `messages.InvokeResponse{Payload: "ok"}`, one(messages.InvokeResponse{Payload: []byte("ok")})},
	{"lambda_invoke_response_error", `InvokeResponse{Error: &{Message: "boom", Type: "errorString"}}`, one(messages.InvokeResponse{
		Error: &messages.InvokeResponse_Error{Message: "boom", Type: "errorString"}})},
	{"lambda_invoke_response_error_stack", "InvokeResponse with Error, 3 StackFrames and ShouldExit", func() []interface{} {
		return []interface{}{messages.InvokeResponse{Error: &messages.InvokeResponse_Error{
			Message: "oops", Type: "string", StackTrace: stackFrames(), ShouldExit: true}}}
	}},
	{"lambda_invoke_response_nil_frame", "InvokeResponse with a nil element in StackTrace: encode error", one(messages.InvokeResponse{
		Error: &messages.InvokeResponse_Error{Message: "oops", Type: "string",
			StackTrace: []*messages.InvokeResponse_Error_StackFrame{{Path: "a.go", Line: 1, Label: "f"}, nil}}})},
	{"lambda_stackframe_then_response", "a standalone InvokeResponse_Error_StackFrame first, then an InvokeResponse with a stack trace (the element struct is then NAMED)", func() []interface{} {
		return []interface{}{
			messages.InvokeResponse_Error_StackFrame{Path: "x.go", Line: 7, Label: "f"},
			messages.InvokeResponse{Error: &messages.InvokeResponse_Error{Message: "m", Type: "t", StackTrace: stackFrames()[:1]}},
		}
	}},
	{"lambda_invoke_response_6mib", "InvokeResponse{Payload: Pattern(6 MiB, 1)}", func() []interface{} {
		return []interface{}{messages.InvokeResponse{Payload: Pattern(6*1024*1024, 1)}}
	}},
}

func asciiRun(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = "abcdefghijklmnopqrstuvwxyz0123456789"[i%36]
	}
	return b
}

// Lookup returns the case with the given name.
func Lookup(name string) (Case, bool) {
	for _, c := range All {
		if c.Name == name {
			return c, true
		}
	}
	return Case{}, false
}
