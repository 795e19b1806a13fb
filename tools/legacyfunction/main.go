// Command legacyfunction is a go1.x function built with aws-lambda-go v1.17.0, the last release
// before aws-lambda-go learned the Runtime API (v1.18.0 added lambda/invoke_loop.go). It only
// speaks net/rpc on _LAMBDA_SERVER_PORT, like the go1.x zips that teams still own, so it is the
// legacy executable that `lambda-legacy bridge` must run unchanged.
//
//	legacyfunction --handler echo|error|panic|crash
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
	"crash": func(ctx context.Context, ev json.RawMessage) (json.RawMessage, error) {
		os.Exit(3)
		return nil, nil
	},
}

func main() {
	name := flag.String("handler", "echo", "handler: echo, error, panic, crash")
	flag.Parse()
	h, ok := handlers[*name]
	if !ok {
		fmt.Fprintf(os.Stderr, "legacyfunction: unknown handler %q\n", *name)
		os.Exit(2)
	}
	lambda.Start(h) // v1.17.0 listens on localhost:$_LAMBDA_SERVER_PORT and knows nothing else
}
