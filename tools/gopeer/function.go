package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
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
	name := fs.String("handler", "echo", "handler: echo, error, panic, sleep, crash, context")
	_ = fs.Parse(args)
	h, ok := handlers[*name]
	if !ok {
		fmt.Fprintf(os.Stderr, "gopeer function: unknown handler %q\n", *name)
		os.Exit(2)
	}
	if os.Getenv("_LAMBDA_SERVER_PORT") == "" {
		fmt.Fprintln(os.Stderr, "gopeer function: _LAMBDA_SERVER_PORT is not set")
		os.Exit(2)
	}
	lambda.Start(h)
}
