package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
)

// runJSONFloat writes, for each line of stdin holding a float64's bits in hex, the bytes
// encoding/json writes for that float64 (as aws-lambda-go marshals a handler's float results),
// or "error: <text>" where json.Marshal refuses it (NaN, infinities).
func runJSONFloat(args []string) int {
	if len(args) != 0 {
		fmt.Fprintln(os.Stderr, "usage: gopeer jsonfloat < bits-in-hex-per-line")
		return 2
	}
	in := bufio.NewScanner(os.Stdin)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for in.Scan() {
		bits, err := strconv.ParseUint(strings.TrimSpace(in.Text()), 16, 64)
		if err != nil {
			fmt.Fprintln(os.Stderr, "gopeer jsonfloat:", err)
			return 2
		}
		text, err := json.Marshal(math.Float64frombits(bits))
		if err != nil {
			fmt.Fprintf(out, "error: %v\n", err)
			continue
		}
		fmt.Fprintf(out, "%s\n", text)
	}
	return 0
}
