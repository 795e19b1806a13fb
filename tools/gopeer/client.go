package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"net"
	"net/rpc"
	"os"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambda/messages"
)

// gopeer client: a Go net/rpc client playing the go1.x service.
//
// Like docker-lambda, each connection is dialled (retrying every 5 ms) and
// then Function.Ping is called every 5 ms until it succeeds (overall limit
// --wait, default 10s; --retry changes the 5 ms). Then the invokes are made.
//
// Single mode (none of --count/--conns/--concurrency given): one call of
// --method with --payload on one connection; prints one line.
//
// Load mode (any of them given): --count invokes spread round-robin over
// --conns connections with --concurrency calls in flight in total. Invoke i
// sends the payload {"i":i} (--payload is ignored) and request id
// "<--request-id or req>-<i>", and expects an echo of its own payload.
// Prints one line per call (unless --quiet) in completion order, then
//
//	{"ok":N,"mismatched":M,"errors":E}
//
// ok = no error and payload equal to the request payload; errors = RPC error
// or InvokeResponse.Error set; mismatched = neither. Exit status 1 if
// mismatched+errors > 0.
//
// Per-call line:
//
//	{"seq":i,"conn":c,"error":"<rpc error or empty>","payload":"<reply payload as a string>",
//	 "error_message":"","error_type":"","stack_trace":[{"path","line","label"}...],"should_exit":false}
//
// --deadline-ms is an absolute Unix time in ms (0: now + 60 s per call),
// mapped like docker-lambda: Seconds = ms/1000, Nanos = (ms%1000)*1e6.
// --method Function.Ping sends a PingRequest; any other method sends the
// InvokeRequest. Exit status 2 if no connection could be made.
//
// Benchmark modes (used by benchmarks/*.py; keep flags and output stable):
//
// Cold-start mode (--cold-start): prints {"dialing_unix_ns":N} as soon as the
// client runs, then dials and pings connection 0 with the --retry interval
// (use e.g. --retry 1ms) and prints {"first_ping_unix_ns":N} when the first
// Ping is answered, then exits 0. The caller starts the function after
// reading the first line and subtracts its own exec time (Unix ns, same
// clock) from N.
//
// Latency mode (--latency): --count sequential invokes (after --warmup
// unmeasured ones) on connection 0, each with a payload of exactly
// --payload-bytes bytes, the JSON object {"data":"aaa..."} (at least 11
// bytes), and request id "<--request-id or bench>-<i>". Each call is timed
// from just before rpc.Client.Call to its return (the request is built
// before the clock starts); a reply whose payload is not the request's
// (echo handler expected) or that carries an error counts in "errors".
// Prints one line (nearest-rank percentiles, microseconds):
//
//	{"count":N,"payload_bytes":B,"errors":E,"p50_us":F,"p99_us":F,"mean_us":F,"min_us":F,"max_us":F}
//
// with "samples_us":[...] (in call order) added when --samples is given.
// Exit status 1 if errors > 0.

type frameLine struct {
	Path  string `json:"path"`
	Line  int32  `json:"line"`
	Label string `json:"label"`
}

type callLine struct {
	Seq          int         `json:"seq"`
	Conn         int         `json:"conn"`
	Error        string      `json:"error"`
	Payload      string      `json:"payload"`
	ErrorMessage string      `json:"error_message"`
	ErrorType    string      `json:"error_type"`
	StackTrace   []frameLine `json:"stack_trace"`
	ShouldExit   bool        `json:"should_exit"`
}

type clientOpts struct {
	host, port, method, payload, requestID string
	traceID, arn, cognitoID, cognitoPool   string
	clientContext                          string
	deadlineMs                             int64
	wait, retry                            time.Duration
}

// connect dials and pings until a Ping succeeds or the time is up.
func connect(o *clientOpts, until time.Time) (*rpc.Client, error) {
	addr := net.JoinHostPort(o.host, o.port)
	var last error
	for time.Now().Before(until) {
		nc, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			last = err
			time.Sleep(o.retry)
			continue
		}
		c := rpc.NewClient(nc)
		for time.Now().Before(until) {
			err = c.Call("Function.Ping", &messages.PingRequest{}, &messages.PingResponse{})
			if err == nil {
				return c, nil
			}
			last = err
			var se rpc.ServerError
			if !errors.As(err, &se) {
				break // connection broken: redial
			}
			time.Sleep(o.retry)
		}
		c.Close()
		time.Sleep(o.retry)
	}
	if last == nil {
		last = errors.New("timed out")
	}
	return nil, last
}

func (o *clientOpts) request(payload, requestID string) *messages.InvokeRequest {
	ms := o.deadlineMs
	if ms == 0 {
		ms = time.Now().Add(60 * time.Second).UnixMilli()
	}
	return &messages.InvokeRequest{
		Payload:               []byte(payload),
		RequestId:             requestID,
		XAmznTraceId:          o.traceID,
		Deadline:              messages.InvokeRequest_Timestamp{Seconds: ms / 1000, Nanos: (ms % 1000) * 1e6},
		InvokedFunctionArn:    o.arn,
		CognitoIdentityId:     o.cognitoID,
		CognitoIdentityPoolId: o.cognitoPool,
		ClientContext:         []byte(o.clientContext),
	}
}

func doCall(c *rpc.Client, method string, req *messages.InvokeRequest, seq, conn int) callLine {
	line := callLine{Seq: seq, Conn: conn, StackTrace: []frameLine{}}
	if method == "Function.Ping" {
		if err := c.Call(method, &messages.PingRequest{}, &messages.PingResponse{}); err != nil {
			line.Error = err.Error()
		}
		return line
	}
	var resp messages.InvokeResponse
	if err := c.Call(method, req, &resp); err != nil {
		line.Error = err.Error()
		return line
	}
	line.Payload = string(resp.Payload)
	if e := resp.Error; e != nil {
		line.ErrorMessage, line.ErrorType, line.ShouldExit = e.Message, e.Type, e.ShouldExit
		for _, f := range e.StackTrace {
			if f != nil {
				line.StackTrace = append(line.StackTrace, frameLine{f.Path, f.Line, f.Label})
			}
		}
	}
	return line
}

func runClient(args []string) int {
	fs := flag.NewFlagSet("client", flag.ExitOnError)
	o := &clientOpts{}
	fs.StringVar(&o.host, "host", "localhost", "host to dial")
	port := fs.Int("port", 0, "port of the function (required)")
	fs.StringVar(&o.method, "method", "Function.Invoke", "service method")
	fs.StringVar(&o.payload, "payload", "{}", "payload (single mode)")
	fs.StringVar(&o.requestID, "request-id", "", "request id (default req-0; load mode: <id>-<i>)")
	fs.Int64Var(&o.deadlineMs, "deadline-ms", 0, "absolute deadline, Unix ms (0: now+60s)")
	fs.StringVar(&o.traceID, "trace-id", "", "XAmznTraceId")
	fs.StringVar(&o.arn, "function-arn", "arn:aws:lambda:us-east-1:123456789012:function:gopeer", "InvokedFunctionArn")
	fs.StringVar(&o.cognitoID, "cognito-id", "", "CognitoIdentityId")
	fs.StringVar(&o.cognitoPool, "cognito-pool-id", "", "CognitoIdentityPoolId")
	fs.StringVar(&o.clientContext, "client-context", "", "ClientContext (raw JSON text)")
	count := fs.Int("count", 1, "load mode: number of invokes")
	conns := fs.Int("conns", 1, "load mode: number of connections")
	concurrency := fs.Int("concurrency", 1, "load mode: calls in flight")
	quiet := fs.Bool("quiet", false, "load mode: print only the summary line")
	fs.DurationVar(&o.wait, "wait", 10*time.Second, "how long to dial/ping before giving up")
	fs.DurationVar(&o.retry, "retry", 5*time.Millisecond, "interval between dial/ping attempts")
	coldStart := fs.Bool("cold-start", false, "cold-start mode: time to the first Ping answered")
	latency := fs.Bool("latency", false, "latency mode: time --count sequential invokes")
	payloadBytes := fs.Int("payload-bytes", 100, "latency mode: payload size in bytes (>= 11)")
	warmup := fs.Int("warmup", 0, "latency mode: unmeasured invokes first")
	samples := fs.Bool("samples", false, "latency mode: also print every duration")
	_ = fs.Parse(args)
	if *port <= 0 {
		fmt.Fprintln(os.Stderr, "gopeer client: --port is required")
		return 2
	}
	o.port = strconv.Itoa(*port)
	if *coldStart {
		return runColdStart(o)
	}
	if *latency {
		return runLatency(o, *count, *warmup, *payloadBytes, *samples)
	}
	load := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "count" || f.Name == "conns" || f.Name == "concurrency" {
			load = true
		}
	})
	if *count < 0 || *conns < 1 || *concurrency < 1 {
		fmt.Fprintln(os.Stderr, "gopeer client: --count >= 0, --conns >= 1, --concurrency >= 1")
		return 2
	}

	until := time.Now().Add(o.wait)
	clients := make([]*rpc.Client, *conns)
	for i := range clients {
		c, err := connect(o, until)
		if err != nil {
			fmt.Fprintf(os.Stderr, "gopeer client: connection %d: %v\n", i, err)
			return 2
		}
		defer c.Close()
		clients[i] = c
	}
	out := json.NewEncoder(os.Stdout)
	out.SetEscapeHTML(false)

	if !load {
		id := o.requestID
		if id == "" {
			id = "req-0"
		}
		_ = out.Encode(doCall(clients[0], o.method, o.request(o.payload, id), 0, 0))
		return 0
	}

	prefix := o.requestID
	if prefix == "" {
		prefix = "req"
	}
	var mu sync.Mutex
	summary := struct {
		OK         int `json:"ok"`
		Mismatched int `json:"mismatched"`
		Errors     int `json:"errors"`
	}{}
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < *concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				payload := fmt.Sprintf(`{"i":%d}`, i)
				conn := i % len(clients)
				line := doCall(clients[conn], o.method, o.request(payload, fmt.Sprintf("%s-%d", prefix, i)), i, conn)
				mu.Lock()
				switch {
				case line.Error != "" || line.ErrorType != "" || line.ErrorMessage != "":
					summary.Errors++
				case o.method != "Function.Ping" && line.Payload != payload:
					summary.Mismatched++
				default:
					summary.OK++
				}
				if !*quiet {
					_ = out.Encode(line)
				}
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < *count; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	_ = out.Encode(summary)
	if summary.Mismatched+summary.Errors > 0 {
		return 1
	}
	return 0
}

// runColdStart is --cold-start: see the file comment.
func runColdStart(o *clientOpts) int {
	out := json.NewEncoder(os.Stdout)
	_ = out.Encode(map[string]int64{"dialing_unix_ns": time.Now().UnixNano()})
	c, err := connect(o, time.Now().Add(o.wait))
	if err != nil {
		fmt.Fprintf(os.Stderr, "gopeer client: connection 0: %v\n", err)
		return 2
	}
	answered := time.Now().UnixNano()
	c.Close()
	_ = out.Encode(map[string]int64{"first_ping_unix_ns": answered})
	return 0
}

// latencyPayload is a JSON object of exactly n bytes: {"data":"aaa..."}.
func latencyPayload(n int) []byte {
	const frame = len(`{"data":""}`)
	b := make([]byte, 0, n)
	b = append(b, `{"data":"`...)
	for i := 0; i < n-frame; i++ {
		b = append(b, 'a')
	}
	return append(b, `"}`...)
}

// nearestRank is the nearest-rank percentile of sorted samples (fraction 0..1),
// as benchmarks/_report.py computes it.
func nearestRank(sorted []float64, fraction float64) float64 {
	rank := int(math.Ceil(fraction * float64(len(sorted))))
	if rank < 1 {
		rank = 1
	}
	return sorted[rank-1]
}

// runLatency is --latency: see the file comment.
func runLatency(o *clientOpts, count, warmup, payloadBytes int, withSamples bool) int {
	if count < 1 || warmup < 0 || payloadBytes < len(`{"data":""}`) {
		fmt.Fprintln(os.Stderr, "gopeer client: --latency needs --count >= 1, --warmup >= 0, --payload-bytes >= 11")
		return 2
	}
	c, err := connect(o, time.Now().Add(o.wait))
	if err != nil {
		fmt.Fprintf(os.Stderr, "gopeer client: connection 0: %v\n", err)
		return 2
	}
	defer c.Close()
	prefix := o.requestID
	if prefix == "" {
		prefix = "bench"
	}
	payload := latencyPayload(payloadBytes)
	errorCount := 0
	durations := make([]float64, 0, count)
	for i := 0; i < warmup+count; i++ {
		req := o.request(string(payload), fmt.Sprintf("%s-%d", prefix, i))
		var resp messages.InvokeResponse
		start := time.Now()
		err := c.Call("Function.Invoke", req, &resp)
		elapsed := time.Since(start)
		if err != nil || resp.Error != nil || !bytes.Equal(resp.Payload, payload) {
			errorCount++
		}
		if i >= warmup {
			durations = append(durations, float64(elapsed.Nanoseconds())/1e3)
		}
	}
	sorted := append([]float64(nil), durations...)
	sort.Float64s(sorted)
	total := 0.0
	for _, d := range sorted {
		total += d
	}
	report := struct {
		Count        int       `json:"count"`
		PayloadBytes int       `json:"payload_bytes"`
		Errors       int       `json:"errors"`
		P50          float64   `json:"p50_us"`
		P99          float64   `json:"p99_us"`
		Mean         float64   `json:"mean_us"`
		Min          float64   `json:"min_us"`
		Max          float64   `json:"max_us"`
		Samples      []float64 `json:"samples_us,omitempty"`
	}{
		Count: count, PayloadBytes: payloadBytes, Errors: errorCount,
		P50: nearestRank(sorted, 0.50), P99: nearestRank(sorted, 0.99),
		Mean: total / float64(len(sorted)), Min: sorted[0], Max: sorted[len(sorted)-1],
	}
	if withSamples {
		report.Samples = durations
	}
	_ = json.NewEncoder(os.Stdout).Encode(report)
	if errorCount > 0 {
		return 1
	}
	return 0
}
