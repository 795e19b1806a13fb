// Command gopeer is a set of live Go peers for the Python tests.
//
//	gopeer function --handler NAME
//	    A real aws-lambda-go (RPC mode) function: reads _LAMBDA_SERVER_PORT
//	    and calls lambda.Start; serves until killed. Handlers: echo, error,
//	    panic, sleep, crash, context (see function.go).
//
//	gopeer client --port P [--host H] [--method Function.Invoke] [--payload JSON]
//	              [--request-id X] [--deadline-ms N] [--trace-id T]
//	              [--function-arn A] [--cognito-id I] [--cognito-pool-id I]
//	              [--client-context JSON] [--count N] [--conns C]
//	              [--concurrency K] [--quiet] [--wait DURATION]
//	    A Go net/rpc client playing the go1.x service (see client.go).
//
//	gopeer gobdecode --case NAME < stream
//	    Decodes a gob stream on stdin into the Go type(s) of golden case NAME
//	    (tools/internal/cases) and prints the VALUE JSON list (see gobdecode.go).
//
//	gopeer jsonfloat < bits
//	    For each float64 (its bits in hex, one per line), the bytes encoding/json
//	    writes for it (see jsonfloat.go).
//
// Build: cd tools && go build -o /tmp/gopeer ./gopeer
package main

import (
	"fmt"
	"os"
)

func usage() {
	fmt.Fprintln(os.Stderr, "usage: gopeer function|client|gobdecode|jsonfloat [flags]  (gopeer SUBCOMMAND -h for flags)")
	os.Exit(2)
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	args := os.Args[2:]
	switch os.Args[1] {
	case "function":
		runFunction(args)
	case "client":
		os.Exit(runClient(args))
	case "gobdecode":
		os.Exit(runGobDecode(args))
	case "jsonfloat":
		os.Exit(runJSONFloat(args))
	default:
		usage()
	}
}
