// Command benchgob times Go's encoding/gob on aws-lambda-go's RPC messages, the reference that
// benchmarks/codec.py sets gobrpc against.
//
//	benchgob [-rounds N] [-min-time D] [-clock wall|cpu] [-payload-size B]
//
// Stdout is one JSON object (see report): per case, the bytes Go wrote (hex for small messages,
// SHA-256 for large ones, so that the Python side can check it encodes the same bytes) and the
// nanoseconds per operation of each round.
//
// What is timed is what net/rpc does on every call after a connection's first: Encode on a warm
// per-stream gob.Encoder (type definitions already sent once) writing to io.Discard (net/rpc's
// bufio.Writer hands a large message straight to the connection), and Decode on a warm
// gob.Decoder into a fresh value, reading through gob's own bufio.Reader from a source that
// replays the value message forever. "Cold" is the first message of a new connection: a new
// Encoder sends the definitions and the value, a new Decoder reads them.
//
// gob hands out type ids process-wide in first-use order, so the cases are first encoded once
// each, in table order, before anything is timed: the Python side does the same with one
// TypeRegistry and must then produce identical bytes.
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/lambda/messages"
)

// maxHexBytes: streams up to this size are reported in full (hex); larger ones by digest only.
const maxHexBytes = 4096

// benchCase is one message to time; fresh returns a new value to decode into.
type benchCase struct {
	name  string
	value interface{}
	fresh func() interface{}
	cold  bool
}

type caseResult struct {
	Name          string    `json:"name"`
	PayloadBytes  int       `json:"payload_bytes"`
	ColdStreamHex string    `json:"cold_stream_hex,omitempty"`
	ColdStreamSHA string    `json:"cold_stream_sha256"`
	MessageHex    string    `json:"message_hex,omitempty"`
	MessageSHA    string    `json:"message_sha256"`
	MessageLen    int       `json:"message_len"`
	EncodeNs      []float64 `json:"encode_ns"`
	DecodeNs      []float64 `json:"decode_ns"`
	ColdNs        []float64 `json:"cold_ns,omitempty"`
}

type report struct {
	GoVersion string       `json:"go_version"`
	GOARCH    string       `json:"goarch"`
	Clock     string       `json:"clock"`
	MinTimeNs int64        `json:"min_time_ns"`
	Cases     []caseResult `json:"cases"`
}

// payload is the large payload: a fixed byte pattern that benchmarks/codec.py rebuilds.
func payload(size int) []byte {
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return b
}

func smallRequest() *messages.InvokeRequest {
	return &messages.InvokeRequest{
		Payload:            []byte(`{"name":"go1.x"}`),
		RequestId:          "8476a536-e9f4-11e8-9739-2dfe598c3fcd",
		XAmznTraceId:       "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1",
		Deadline:           messages.InvokeRequest_Timestamp{Seconds: 1700000000, Nanos: 123456789},
		InvokedFunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:hello",
	}
}

func cases(size int) []benchCase {
	big := payload(size)
	bigRequest := smallRequest()
	bigRequest.Payload = big
	newRequest := func() interface{} { return new(messages.InvokeRequest) }
	newResponse := func() interface{} { return new(messages.InvokeResponse) }
	return []benchCase{
		{"InvokeRequest small", smallRequest(), newRequest, true},
		{"InvokeResponse small", &messages.InvokeResponse{Payload: []byte(`{"message":"Hello, go1.x!"}`)}, newResponse, true},
		{"InvokeResponse error", &messages.InvokeResponse{Error: &messages.InvokeResponse_Error{
			Message: "name 'x' is not defined",
			Type:    "NameError",
			StackTrace: []*messages.InvokeResponse_Error_StackFrame{
				{Path: "/var/task/handler.py", Line: 12, Label: "handler"},
				{Path: "/var/task/lib/util.py", Line: 40, Label: "compute"},
			},
		}}, newResponse, true},
		{"InvokeRequest 6 MB", bigRequest, newRequest, false},
		{"InvokeResponse 6 MB", &messages.InvokeResponse{Payload: big}, newResponse, false},
	}
}

// replay is an io.Reader that yields head once, then loop over and over: a warm stream.
type replay struct {
	head, loop []byte
	pos        int
	inHead     bool
}

func (r *replay) Read(p []byte) (int, error) {
	src := r.loop
	if r.inHead {
		src = r.head
	}
	n := copy(p, src[r.pos:])
	r.pos += n
	if r.pos == len(src) {
		r.pos, r.inHead = 0, false
	}
	return n, nil
}

// clocks: "wall" is what testing.B reports; "cpu" is the process's CPU time (user + system, all
// threads, so gob's share of the garbage collector's work counts), which a shared machine's load
// disturbs far less.
var clocks = map[string]func() time.Duration{
	"wall": func() time.Duration { return time.Duration(time.Now().UnixNano()) },
	"cpu": func() time.Duration {
		var ru syscall.Rusage
		must(syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	},
}

// perOp runs op(n) with n growing until one run takes at least minTime on clock now
// (testing.B's method) and returns nanoseconds per operation of that run.
func perOp(now func() time.Duration, minTime time.Duration, op func(n int)) float64 {
	n := 1
	for {
		start := now()
		op(n)
		elapsed := now() - start
		if elapsed >= minTime {
			return float64(elapsed.Nanoseconds()) / float64(n)
		}
		grow := 100 * n
		if elapsed > 0 {
			grow = int(1.2 * float64(n) * float64(minTime) / float64(elapsed))
		}
		n = max(n+1, min(grow, 100*n))
	}
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchgob:", err)
		os.Exit(1)
	}
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// capture encodes c twice on one fresh encoder: the cold stream, then the warm value message.
func capture(c benchCase) (cold, warm []byte) {
	var buf bytes.Buffer
	enc := gob.NewEncoder(&buf)
	must(enc.Encode(c.value))
	cold = bytes.Clone(buf.Bytes())
	buf.Reset()
	must(enc.Encode(c.value))
	return cold, bytes.Clone(buf.Bytes())
}

func timeCase(c benchCase, cold, warm []byte, now func() time.Duration, minTime time.Duration, res *caseResult) {
	enc := gob.NewEncoder(io.Discard)
	must(enc.Encode(c.value))
	res.EncodeNs = append(res.EncodeNs, perOp(now, minTime, func(n int) {
		for i := 0; i < n; i++ {
			must(enc.Encode(c.value))
		}
	}))

	dec := gob.NewDecoder(&replay{head: cold, loop: warm, inHead: true})
	must(dec.Decode(c.fresh()))
	res.DecodeNs = append(res.DecodeNs, perOp(now, minTime, func(n int) {
		for i := 0; i < n; i++ {
			must(dec.Decode(c.fresh()))
		}
	}))

	if c.cold {
		res.ColdNs = append(res.ColdNs, perOp(now, minTime, func(n int) {
			var buf bytes.Buffer
			for i := 0; i < n; i++ {
				buf.Reset()
				must(gob.NewEncoder(&buf).Encode(c.value))
				must(gob.NewDecoder(&buf).Decode(c.fresh()))
			}
		}))
	}
}

func main() {
	rounds := flag.Int("rounds", 3, "timed rounds per measurement")
	minTime := flag.Duration("min-time", 200*time.Millisecond, "shortest timed run per round")
	size := flag.Int("payload-size", 6*1024*1024, "bytes in the large payload (Lambda's 6 MB cap)")
	clock := flag.String("clock", "wall", "what ns/op measure: wall or cpu")
	flag.Parse()
	now, ok := clocks[*clock]
	if !ok {
		fmt.Fprintf(os.Stderr, "benchgob: -clock must be wall or cpu, not %q\n", *clock)
		os.Exit(2)
	}

	all := cases(*size)
	out := report{
		GoVersion: runtime.Version(),
		GOARCH:    runtime.GOARCH,
		Clock:     *clock,
		MinTimeNs: minTime.Nanoseconds(),
	}
	streams := make([][2][]byte, len(all))
	for i, c := range all {
		cold, warm := capture(c)
		streams[i] = [2][]byte{cold, warm}
		res := caseResult{
			Name:          c.name,
			ColdStreamSHA: digest(cold),
			MessageSHA:    digest(warm),
			MessageLen:    len(warm),
		}
		switch v := c.value.(type) {
		case *messages.InvokeRequest:
			res.PayloadBytes = len(v.Payload)
		case *messages.InvokeResponse:
			res.PayloadBytes = len(v.Payload)
		}
		if len(cold) <= maxHexBytes {
			res.ColdStreamHex = hex.EncodeToString(cold)
			res.MessageHex = hex.EncodeToString(warm)
		}
		out.Cases = append(out.Cases, res)
	}
	for r := 0; r < *rounds; r++ {
		for i, c := range all {
			timeCase(c, streams[i][0], streams[i][1], now, *minTime, &out.Cases[i])
		}
	}
	must(json.NewEncoder(os.Stdout).Encode(out))
}
