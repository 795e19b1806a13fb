// Command riefunction is a Go Lambda function started with aws-lambda-go's
// lambda.Start and nothing else, so that aws-lambda-go picks its mode from the
// environment: RPC when _LAMBDA_SERVER_PORT is set, the Runtime API when only
// AWS_LAMBDA_RUNTIME_API is. It is the Go reference for Runtime API mode under
// the emulator (tools/gopeer's function refuses to start without
// _LAMBDA_SERVER_PORT).
//
//	riefunction --handler echo    returns the event (Go's encoder compacts it)
//	riefunction --handler error   returns errors.New("boom")   -> "errorString"
//	riefunction --handler panic   panic("oops")                -> "string", then exit
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
)

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
}

func main() {
	name := flag.String("handler", "echo", "handler: echo, error, panic")
	flag.Parse()
	h, ok := handlers[*name]
	if !ok {
		fmt.Fprintf(os.Stderr, "riefunction: unknown handler %q\n", *name)
		os.Exit(2)
	}
	lambda.Start(h)
}
