package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// Handlers of `gopeer function --handler NAME`. All take the event as
// json.RawMessage (so an empty Payload fails in aws-lambda-go's JSON decoder
// with "EOF") and answer with JSON:
//
//	echo     returns the event unchanged (Go's JSON encoder compacts it)
//	error    returns errors.New("boom")                 -> Type "errorString"
//	panic    panic("oops")                              -> Type "string", stack trace, ShouldExit
//	sleep    sleeps event.ms milliseconds, then echoes  ({"ms": 100})
//	crash    os.Exit(3) in the middle of the invoke
//	context  returns contextReport (below) as JSON
//	nil      lambda.Start(nil): no handler at all
//	script   does what the event says (scriptEvent below), so that one process
//	         can be driven through several behaviours in a row
var handlers = map[string]interface{}{
	"echo": func(ctx context.Context, ev json.RawMessage) (json.RawMessage, error) {
		return ev, nil
	},
	"error": func(ctx context.Context, ev json.RawMessage) (json.RawMessage, error) {
		return nil, errors.New("boom")
	},
	"panic": func(ctx context.Context, ev json.RawMessage) (json.RawMessage, error) {
		panic("oops")
	},
	"sleep": func(ctx context.Context, ev json.RawMessage) (json.RawMessage, error) {
		var in struct {
			Ms int `json:"ms"`
		}
		if err := json.Unmarshal(ev, &in); err != nil {
			return nil, err
		}
		time.Sleep(time.Duration(in.Ms) * time.Millisecond)
		return ev, nil
	},
	"crash": func(ctx context.Context, ev json.RawMessage) (json.RawMessage, error) {
		os.Exit(3)
		return nil, nil
	},
	"context": func(ctx context.Context, ev json.RawMessage) (contextReport, error) {
		r := contextReport{
			TraceIDEnv:      os.Getenv("_X_AMZN_TRACE_ID"),
			FunctionName:    lambdacontext.FunctionName,
			FunctionVersion: lambdacontext.FunctionVersion,
			MemoryLimitInMB: lambdacontext.MemoryLimitInMB,
			LogGroupName:    lambdacontext.LogGroupName,
			LogStreamName:   lambdacontext.LogStreamName,
		}
		if lc, ok := lambdacontext.FromContext(ctx); ok {
			r.RequestID = lc.AwsRequestID
			r.InvokedFunctionArn = lc.InvokedFunctionArn
			r.CognitoIdentityID = lc.Identity.CognitoIdentityID
			r.CognitoIdentityPoolID = lc.Identity.CognitoIdentityPoolID
			r.ClientContext = lc.ClientContext
		}
		if d, ok := ctx.Deadline(); ok {
			r.DeadlineMs = d.UnixMilli()
		}
		if v, ok := ctx.Value("x-amzn-trace-id").(string); ok {
			r.TraceIDContext = v
		}
		if err := ctx.Err(); err != nil {
			r.ContextErr = err.Error()
		}
		return r, nil
	},
	"script": runScript,
	"nil":    nil, // lambda.Start(nil)
}

// scriptEvent is the event of the script handler. Action:
//
//	echo    returns the event
//	error   returns errors.New("boom")
//	panic   panic("oops") (aws-lambda-go replies with ShouldExit set)
//	sleep   prints "pids <own pid> <child pid or 0>" on stdout, sleeps Ms
//	        milliseconds, then returns the event; with Spawn it first starts
//	        "sleep 60" as a child, which stays in the function's process group
//	crash   os.Exit(Code)
//	count   returns {"pid": <own pid>, "invocations": <script invokes so far>}
//	stdout  writes Bytes bytes ("x", a newline every 100) to stdout and
//	        returns {"written": Bytes}
type scriptEvent struct {
	Action string `json:"action"`
	Ms     int    `json:"ms"`
	Code   int    `json:"code"`
	Bytes  int    `json:"bytes"`
	Spawn  bool   `json:"spawn"`
}

// scriptInvocations counts the script handler's invokes in this process.
var scriptInvocations int

func runScript(ctx context.Context, ev json.RawMessage) (json.RawMessage, error) {
	scriptInvocations++
	var in scriptEvent
	if err := json.Unmarshal(ev, &in); err != nil {
		return nil, err
	}
	switch in.Action {
	case "echo":
		return ev, nil
	case "error":
		return nil, errors.New("boom")
	case "panic":
		panic("oops")
	case "sleep":
		child := 0
		if in.Spawn {
			cmd := exec.Command("sleep", "60")
			if err := cmd.Start(); err != nil {
				return nil, err
			}
			child = cmd.Process.Pid
		}
		fmt.Printf("pids %d %d\n", os.Getpid(), child)
		time.Sleep(time.Duration(in.Ms) * time.Millisecond)
		return ev, nil
	case "crash":
		os.Exit(in.Code)
	case "count":
		return json.Marshal(map[string]int{"pid": os.Getpid(), "invocations": scriptInvocations})
	case "stdout":
		line := append(bytes.Repeat([]byte("x"), 99), '\n')
		w := bufio.NewWriterSize(os.Stdout, 1<<16)
		for left := in.Bytes; left > 0; left -= len(line) {
			if left < len(line) {
				line = line[:left]
			}
			if _, err := w.Write(line); err != nil {
				return nil, err
			}
		}
		if err := w.Flush(); err != nil {
			return nil, err
		}
		return json.Marshal(map[string]int{"written": in.Bytes})
	}
	return nil, fmt.Errorf("unknown action %q", in.Action)
}

// contextReport is what the context handler returns.
type contextReport struct {
	RequestID             string                      `json:"request_id"`
	InvokedFunctionArn    string                      `json:"invoked_function_arn"`
	CognitoIdentityID     string                      `json:"cognito_identity_id"`
	CognitoIdentityPoolID string                      `json:"cognito_identity_pool_id"`
	ClientContext         lambdacontext.ClientContext `json:"client_context"`
	DeadlineMs            int64                       `json:"deadline_ms"`   // ctx.Deadline() in Unix ms
	TraceIDEnv            string                      `json:"trace_id"`      // os.Getenv("_X_AMZN_TRACE_ID")
	TraceIDContext        string                      `json:"trace_id_ctx"`  // ctx.Value("x-amzn-trace-id")
	ContextErr            string                      `json:"context_err"`   // ctx.Err() when the handler ran
	FunctionName          string                      `json:"function_name"` // lambdacontext package vars
	FunctionVersion       string                      `json:"function_version"`
	MemoryLimitInMB       int                         `json:"memory_limit_in_mb"`
	LogGroupName          string                      `json:"log_group_name"`
	LogStreamName         string                      `json:"log_stream_name"`
}

func runFunction(args []string) {
	fs := flag.NewFlagSet("function", flag.ExitOnError)
	name := fs.String("handler", "echo", "handler: echo, error, panic, sleep, crash, context, script")
	_ = fs.Parse(args)
	h, ok := handlers[*name]
	if !ok {
		fmt.Fprintf(os.Stderr, "gopeer function: unknown handler %q\n", *name)
		os.Exit(2)
	}
	// lambda.Start serves net/rpc when _LAMBDA_SERVER_PORT is set, else the Runtime API at
	// AWS_LAMBDA_RUNTIME_API (aws-lambda-go's own Runtime API mode, the Go reference there).
	if os.Getenv("_LAMBDA_SERVER_PORT") == "" && os.Getenv("AWS_LAMBDA_RUNTIME_API") == "" {
		fmt.Fprintln(os.Stderr, "gopeer function: neither _LAMBDA_SERVER_PORT nor AWS_LAMBDA_RUNTIME_API is set")
		os.Exit(2)
	}
	lambda.Start(h)
}
