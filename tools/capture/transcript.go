package main

import (
	"bytes"
	"encoding/gob"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/rpc"
	"os"
	"os/exec"
	"reflect"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambda/messages"

	"lambdalegacy/tools/internal/cases"
)

// ---------------------------------------------------------------------------
// Output layout of golden/transcripts/<scenario>.json (see golden/README.md).

type transcriptFile struct {
	Scenario          string            `json:"scenario"`
	Description       string            `json:"description"`
	GoVersion         string            `json:"go_version"`
	AwsLambdaGo       string            `json:"aws_lambda_go"`
	Handler           string            `json:"handler"`
	Connections       []connectionFile  `json:"connections"`
	FunctionExitCode  *int              `json:"function_exit_code"`
	LanguageDependent []string          `json:"language_dependent"`
	FunctionEnv       map[string]string `json:"function_env"` // besides _LAMBDA_SERVER_PORT
}

type connectionFile struct {
	ClientToServer string     `json:"client_to_server"`
	ServerToClient string     `json:"server_to_client"`
	ServerClosed   bool       `json:"server_closed"`
	Calls          []callFile `json:"calls"`
}

type callFile struct {
	Seq            *uint64         `json:"seq"`
	ServiceMethod  string          `json:"service_method"`
	RawRequest     string          `json:"raw_request,omitempty"`
	RequestType    string          `json:"request_type"`
	Request        json.RawMessage `json:"request"`
	ResponseHeader json.RawMessage `json:"response_header,omitempty"`
	ResponseType   string          `json:"response_type"`
	Response       json.RawMessage `json:"response"`
	Error          string          `json:"error"`
	ClientBytes    [2]int          `json:"client_bytes"`
	ServerBytes    [2]int          `json:"server_bytes"`
}

// ---------------------------------------------------------------------------
// Scenarios.

type scenario struct {
	name        string
	description string
	handler     string
	langDep     []string
	conns       []func(c *session) error // one script per connection, run in order
}

const (
	farDeadline = 4102444800 // 2100-01-01T00:00:00Z
	functionArn = "arn:aws:lambda:us-east-1:123456789012:function:golden"
	traceID     = "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1"
)

func invokeReq(id int, payload string) *messages.InvokeRequest {
	return &messages.InvokeRequest{
		Payload:            []byte(payload),
		RequestId:          fmt.Sprintf("req-%d", id),
		XAmznTraceId:       traceID,
		Deadline:           messages.InvokeRequest_Timestamp{Seconds: farDeadline},
		InvokedFunctionArn: functionArn,
	}
}

// InvokeRequest is aws-lambda-go's messages.InvokeRequest (same name and fields, so the same
// definition on the wire) with Deadline held by pointer: gob leaves a nil pointer field out.
type InvokeRequest struct {
	Payload               []byte
	RequestId             string
	XAmznTraceId          string
	Deadline              *messages.InvokeRequest_Timestamp
	InvokedFunctionArn    string
	CognitoIdentityId     string
	CognitoIdentityPoolId string
	ClientContext         []byte
}

func pingThenInvoke(payload string) func(c *session) error {
	return func(c *session) error {
		if err := c.ping(); err != nil {
			return err
		}
		return c.invoke(invokeReq(1, payload))
	}
}

// steps runs the script steps in order, stopping at the first harness error.
func steps(fs ...func(c *session) error) func(c *session) error {
	return func(c *session) error {
		for _, f := range fs {
			if err := f(c); err != nil {
				return err
			}
		}
		return nil
	}
}

func ping(c *session) error { return c.ping() }

func invokeStep(id int, payload string) func(c *session) error {
	return func(c *session) error { return c.invoke(invokeReq(id, payload)) }
}

func callStep(method string) func(c *session) error {
	return func(c *session) error { return c.call(method, &messages.PingRequest{}, &messages.PingResponse{}) }
}

var scenarios = []scenario{
	{"ping", "one Function.Ping (seq 0) on a fresh connection", "echo", nil,
		[]func(*session) error{ping}},
	{"invoke_ok", `Ping, then Invoke {"hello":"world"} on the echo handler (the first Invoke reply defines InvokeResponse, Error, the slice, then StackFrame: ids 66, 67, 69, 68 with Go >= 1.21)`, "echo", nil,
		[]func(*session) error{pingThenInvoke(`{"hello":"world"}`)}},
	// A Go error value carries no frames; an exception in another language carries its traceback.
	{"handler_error", `Ping, then Invoke on a handler returning errors.New("boom")`, "error",
		[]string{"InvokeResponse.Error.StackTrace"},
		[]func(*session) error{pingThenInvoke(`{}`)}},
	{"panic", `Ping, then Invoke on a handler calling panic("oops"): Error with stack trace and ShouldExit`, "panic",
		[]string{"InvokeResponse.Error.StackTrace"},
		[]func(*session) error{pingThenInvoke(`{}`)}},
	{"empty_payload", "Ping, then Invoke with an empty Payload on the echo handler (json EOF error)", "echo", nil,
		[]func(*session) error{pingThenInvoke(``)}},
	{"many_invokes", `Ping, then 5 Invokes {"i":0}..{"i":4} on one connection`, "echo", nil,
		[]func(*session) error{steps(ping, invokeStep(0, `{"i":0}`), invokeStep(1, `{"i":1}`), invokeStep(2, `{"i":2}`),
			invokeStep(3, `{"i":3}`), invokeStep(4, `{"i":4}`))}},
	{"second_connection", "two connections to the same function process, one after the other, each Ping + Invoke (definitions re-sent with the same ids)", "echo", nil,
		[]func(*session) error{pingThenInvoke(`{"conn":1}`), pingThenInvoke(`{"conn":2}`)}},
	{"unknown_method", "Ping, Function.Nope (unknown method, PingRequest body), then Invoke", "echo", nil,
		[]func(*session) error{steps(ping, callStep("Function.Nope"), invokeStep(1, `{"after":"nope"}`))}},
	{"unknown_service", "Ping, Nope.Ping (unknown service), then Invoke", "echo", nil,
		[]func(*session) error{steps(ping, callStep("Nope.Ping"), invokeStep(1, `{"after":"nope"}`))}},
	{"ill_formed", `Ping, "NoDot" (ill-formed service/method), then Invoke`, "echo", nil,
		[]func(*session) error{steps(ping, callStep("NoDot"), invokeStep(1, `{"after":"nodot"}`))}},
	{"error_first", "Function.Nope as the very first call (the error body struct{} takes server id 66), then Ping and Invoke", "echo", nil,
		[]func(*session) error{steps(callStep("Function.Nope"), ping, invokeStep(1, `{"after":"nope"}`))}},
	{"bad_client_context", "Ping, then Invoke with ClientContext `{ not json }` (SyntaxError, handler not called)", "echo", nil,
		[]func(*session) error{steps(ping, func(c *session) error {
			r := invokeReq(1, `{"a":1}`)
			r.ClientContext = []byte(`{ not json }`)
			return c.invoke(r)
		})}},
	{"cognito_and_client_context", "Ping, then Invoke with every InvokeRequest field set on the context handler", "context", nil,
		[]func(*session) error{steps(ping, func(c *session) error {
			r := invokeReq(1, `{"k":"v"}`)
			r.Deadline.Nanos = 123456789
			r.CognitoIdentityId = "us-east-1:11111111-2222-3333-4444-555555555555"
			r.CognitoIdentityPoolId = "us-east-1:66666666-7777-8888-9999-000000000000"
			r.ClientContext = []byte(`{"client":{"installation_id":"inst-1","app_title":"Golden","app_version_code":"1","app_package_name":"com.example.golden"},"env":{"locale":"en_US","b":"2"},"custom":{"k":"v","n":{"x":1}}}`)
			return c.invoke(r)
		})}},
	{"deadline_passed", "Ping, then Invoke with Deadline 1 s after the epoch on the context handler (handler still runs, context already expired)", "context", nil,
		[]func(*session) error{steps(ping, func(c *session) error {
			r := invokeReq(1, `{}`)
			r.Deadline = messages.InvokeRequest_Timestamp{Seconds: 1}
			return c.invoke(r)
		})}},
	{"deadline_left_out", "Ping, then Invoke whose body leaves Deadline out (a Go client's InvokeRequest holding it by pointer, nil: gob omits the field) on the context handler: Go decodes the zero Timestamp", "context", nil,
		[]func(*session) error{steps(
			func(c *session) error {
				return c.rawCall("Function.Ping", 0, messages.PingRequest{}, &messages.PingResponse{})
			},
			func(c *session) error {
				r := invokeReq(1, `{}`)
				return c.rawCall("Function.Invoke", 1, &InvokeRequest{
					Payload: r.Payload, RequestId: r.RequestId, XAmznTraceId: r.XAmznTraceId,
					InvokedFunctionArn: r.InvokedFunctionArn,
				}, &messages.InvokeResponse{})
			})}},
	{"body_decode_error", "raw gob: Request{Function.Invoke, 0} with an int body (42): error reply, connection stays open; then Ping (seq 1)", "echo", nil,
		[]func(*session) error{steps(
			func(c *session) error { return c.rawCall("Function.Invoke", 0, 42, &messages.InvokeResponse{}) },
			func(c *session) error {
				return c.rawCall("Function.Ping", 1, messages.PingRequest{}, &messages.PingResponse{})
			})}},
	{"header_decode_error", `raw gob: Ping (seq 0), then a complete garbage message 04 "junk" where a header is expected: the server closes without replying`, "echo", nil,
		[]func(*session) error{steps(
			func(c *session) error {
				return c.rawCall("Function.Ping", 0, messages.PingRequest{}, &messages.PingResponse{})
			},
			func(c *session) error { return c.rawGarbage([]byte("\x04junk")) })}},
	{"crash", "Ping, then Invoke on a handler calling os.Exit(3): the connection drops, the Go client gets unexpected EOF", "crash", nil,
		[]func(*session) error{pingThenInvoke(`{}`)}},
}

func findScenario(name string) (scenario, bool) {
	for _, s := range scenarios {
		if s.name == name {
			return s, true
		}
	}
	return scenario{}, false
}

// ---------------------------------------------------------------------------
// TCP tee proxy: client -> proxy -> function, recording both directions.

type connRecord struct {
	mu           sync.Mutex
	c2s, s2c     []byte
	clientClosed bool // the script is closing the client side
	serverClosed bool // the server closed before the client did
	done         chan struct{}
	serverEOF    chan struct{}
	err          error
}

func (r *connRecord) lens() (int, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.c2s), len(r.s2c)
}

type proxy struct {
	ln       net.Listener
	target   string
	accepted chan *connRecord
}

func newProxy(target string) (*proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &proxy{ln: ln, target: target, accepted: make(chan *connRecord)}
	go p.acceptLoop()
	return p, nil
}

func (p *proxy) acceptLoop() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		rec := &connRecord{done: make(chan struct{}), serverEOF: make(chan struct{})}
		server, err := dialRetry(p.target, 10*time.Second)
		if err != nil {
			rec.err = err
			client.Close()
			close(rec.done)
			close(rec.serverEOF)
			p.accepted <- rec
			continue
		}
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { // client -> server
			defer wg.Done()
			pump(client, server, func(b []byte) {
				rec.mu.Lock()
				rec.c2s = append(rec.c2s, b...)
				rec.mu.Unlock()
			})
			server.(*net.TCPConn).CloseWrite()
		}()
		go func() { // server -> client
			defer wg.Done()
			pump(server, client, func(b []byte) {
				rec.mu.Lock()
				rec.s2c = append(rec.s2c, b...)
				rec.mu.Unlock()
			})
			rec.mu.Lock()
			if !rec.clientClosed {
				rec.serverClosed = true
			}
			rec.mu.Unlock()
			close(rec.serverEOF)
			client.(*net.TCPConn).CloseWrite()
		}()
		go func() {
			wg.Wait()
			client.Close()
			server.Close()
			close(rec.done)
		}()
		p.accepted <- rec
	}
}

// pump copies src to dst, recording every chunk BEFORE forwarding it.
func pump(src, dst net.Conn, record func([]byte)) {
	buf := make([]byte, 64*1024)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			record(buf[:n])
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func dialRetry(addr string, limit time.Duration) (net.Conn, error) {
	deadline := time.Now().Add(limit)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			return c, nil
		}
		if time.Now().After(deadline) {
			return nil, err
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// ---------------------------------------------------------------------------
// One client connection through the proxy.

type session struct {
	nc     net.Conn
	rec    *connRecord
	client *rpc.Client  // Go net/rpc client (scripted calls)
	enc    *gob.Encoder // raw gob (malformed traffic)
	dec    *gob.Decoder // raw gob
	calls  []callFile
	seq    uint64
}

func typeName(v interface{}) string {
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Name() != "" {
		return t.Name()
	}
	return t.String()
}

func valueJSON(v interface{}) json.RawMessage {
	w := &cases.Walker{}
	b, err := cases.MarshalJSON(w.Value(reflect.ValueOf(v)))
	if err != nil {
		panic(err)
	}
	return b
}

var nullJSON = json.RawMessage("null")

func (s *session) ping() error {
	return s.call("Function.Ping", &messages.PingRequest{}, &messages.PingResponse{})
}

func (s *session) invoke(req *messages.InvokeRequest) error {
	return s.call("Function.Invoke", req, &messages.InvokeResponse{})
}

// call performs one Go net/rpc call and records it. RPC errors are data, not
// harness errors.
func (s *session) call(method string, req, resp interface{}) error {
	if s.enc != nil {
		return errors.New("script mixes raw gob and rpc.Client on one connection")
	}
	if s.client == nil {
		s.client = rpc.NewClient(s.nc)
	}
	c0, s0 := s.rec.lens()
	seq := s.seq
	s.seq++
	err := s.client.Call(method, req, resp)
	c1, s1 := s.rec.lens()
	cf := callFile{
		Seq: &seq, ServiceMethod: method,
		RequestType: typeName(req), Request: valueJSON(req),
		ResponseType: typeName(resp), Response: nullJSON,
		ClientBytes: [2]int{c0, c1}, ServerBytes: [2]int{s0, s1},
	}
	if err != nil {
		cf.Error = err.Error()
	} else {
		cf.Response = valueJSON(resp)
	}
	s.calls = append(s.calls, cf)
	return nil
}

func (s *session) rawInit() error {
	if s.client != nil {
		return errors.New("script mixes raw gob and rpc.Client on one connection")
	}
	if s.enc == nil {
		s.enc = gob.NewEncoder(s.nc)
		s.dec = gob.NewDecoder(s.nc)
	}
	return nil
}

// rawCall writes rpc.Request{method, seq} and body with a plain gob.Encoder,
// then reads the reply header and body with a plain gob.Decoder (the body
// into resp on success, discarded on error).
func (s *session) rawCall(method string, seq uint64, body interface{}, resp interface{}) error {
	if err := s.rawInit(); err != nil {
		return err
	}
	c0, s0 := s.rec.lens()
	if err := s.enc.Encode(&rpc.Request{ServiceMethod: method, Seq: seq}); err != nil {
		return err
	}
	if err := s.enc.Encode(body); err != nil {
		return err
	}
	var h rpc.Response
	cf := callFile{
		Seq: &seq, ServiceMethod: method,
		RequestType: typeName(body), Request: valueJSON(body),
		ResponseType: typeName(resp), Response: nullJSON,
	}
	if err := s.dec.Decode(&h); err != nil {
		cf.Error = err.Error()
	} else {
		cf.ResponseHeader = valueJSON(h)
		cf.Error = h.Error
		if h.Error != "" {
			var eb struct{}
			if err := s.dec.Decode(&eb); err != nil {
				return fmt.Errorf("decoding error body: %v", err)
			}
			cf.ResponseType, cf.Response = "struct {}", valueJSON(eb)
		} else {
			if err := s.dec.Decode(resp); err != nil {
				return fmt.Errorf("decoding body: %v", err)
			}
			cf.Response = valueJSON(resp)
		}
	}
	c1, s1 := s.rec.lens()
	cf.ClientBytes, cf.ServerBytes = [2]int{c0, c1}, [2]int{s0, s1}
	s.calls = append(s.calls, cf)
	return nil
}

// rawGarbage writes raw bytes and waits for the server to answer or close.
func (s *session) rawGarbage(b []byte) error {
	if err := s.rawInit(); err != nil {
		return err
	}
	c0, s0 := s.rec.lens()
	if _, err := s.nc.Write(b); err != nil {
		return err
	}
	cf := callFile{RawRequest: hex.EncodeToString(b), Request: nullJSON, Response: nullJSON}
	var h rpc.Response
	if err := s.dec.Decode(&h); err != nil {
		cf.Error = err.Error()
	} else {
		cf.ResponseHeader = valueJSON(h)
		cf.Error = h.Error
	}
	select {
	case <-s.rec.serverEOF:
	case <-time.After(5 * time.Second):
	}
	c1, s1 := s.rec.lens()
	cf.ClientBytes, cf.ServerBytes = [2]int{c0, c1}, [2]int{s0, s1}
	s.calls = append(s.calls, cf)
	return nil
}

func (s *session) close() {
	s.rec.mu.Lock()
	s.rec.clientClosed = true
	s.rec.mu.Unlock()
	if s.client != nil {
		s.client.Close()
	} else {
		s.nc.Close()
	}
}

// ---------------------------------------------------------------------------

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// functionEnv is the whole environment of the function process, apart from _LAMBDA_SERVER_PORT;
// transcripts record it so that a replay can start its function the same way.
var functionEnv = map[string]string{
	"AWS_LAMBDA_FUNCTION_NAME":        "golden",
	"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
	"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
	"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/golden",
	"AWS_LAMBDA_LOG_STREAM_NAME":      "2023/11/14/[$LATEST]00000000000000000000000000000000",
	"TZ":                              "UTC",
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func oneTranscript(name, gopeer string) error {
	sc, ok := findScenario(name)
	if !ok {
		return fmt.Errorf("unknown scenario %q", name)
	}
	if gopeer == "" {
		return errors.New("-gopeer is required")
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	fn := exec.Command(gopeer, "function", "--handler", sc.handler)
	fn.Env = []string{fmt.Sprintf("_LAMBDA_SERVER_PORT=%d", port)}
	for _, k := range sortedKeys(functionEnv) {
		fn.Env = append(fn.Env, k+"="+functionEnv[k])
	}
	var fnStderr bytes.Buffer
	fn.Stdout, fn.Stderr = io.Discard, &fnStderr
	if err := fn.Start(); err != nil {
		return err
	}
	exited := make(chan int, 1)
	go func() {
		_ = fn.Wait()
		exited <- fn.ProcessState.ExitCode()
	}()
	var exitCode *int
	defer func() {
		if exitCode == nil {
			_ = fn.Process.Kill()
			<-exited
		}
	}()

	px, err := newProxy(fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return err
	}
	defer px.ln.Close()

	out := transcriptFile{
		Scenario: sc.name, Description: sc.description,
		GoVersion: runtime.Version(), AwsLambdaGo: awsLambdaGoVersion(),
		Handler: sc.handler, Connections: []connectionFile{}, LanguageDependent: sc.langDep,
		FunctionEnv: functionEnv,
	}
	if out.LanguageDependent == nil {
		out.LanguageDependent = []string{}
	}
	for i, script := range sc.conns {
		nc, err := net.Dial("tcp", px.ln.Addr().String())
		if err != nil {
			return err
		}
		var rec *connRecord
		select {
		case rec = <-px.accepted:
		case <-time.After(15 * time.Second):
			return errors.New("proxy did not accept")
		}
		if rec.err != nil {
			return fmt.Errorf("connecting to the function: %v (function stderr: %s)", rec.err, fnStderr.String())
		}
		_ = nc.SetDeadline(time.Now().Add(20 * time.Second))
		s := &session{nc: nc, rec: rec}
		if err := script(s); err != nil {
			return fmt.Errorf("connection %d: %v", i, err)
		}
		s.close()
		select {
		case <-rec.done:
		case <-time.After(10 * time.Second):
			return fmt.Errorf("connection %d did not finish", i)
		}
		rec.mu.Lock()
		out.Connections = append(out.Connections, connectionFile{
			ClientToServer: hex.EncodeToString(rec.c2s),
			ServerToClient: hex.EncodeToString(rec.s2c),
			ServerClosed:   rec.serverClosed,
			Calls:          s.calls,
		})
		rec.mu.Unlock()
	}
	// Did the function exit on its own (crash handler)?
	wait := 100 * time.Millisecond
	if sc.handler == "crash" {
		wait = 5 * time.Second
	}
	select {
	case code := <-exited:
		exitCode = &code
	case <-time.After(wait):
	}
	out.FunctionExitCode = exitCode
	enc := json.NewEncoder(os.Stdout)
	enc.SetEscapeHTML(false)
	return enc.Encode(out)
}
