package main

import (
	"bufio"
	"encoding/gob"
	"flag"
	"fmt"
	"io"
	"os"
	"reflect"

	"lambdalegacy/tools/internal/cases"
)

// gopeer gobdecode --case NAME
//
// Reads one gob stream on stdin and decodes, with ONE gob.Decoder, one value
// per element of the case's values list, each into a fresh value of that
// element's Go type (reflect.New of the type passed to Encode). Prints the
// VALUE JSON list (same rules as golden/gob/*.json "values"[i]["value"], map
// pairs sorted by key) as one line on stdout.
//
// Exit status: 0 ok; 1 decode error (message "gobdecode: value I: ERR" on
// stderr, nothing on stdout); 3 the values decoded but more data followed
// (the list is still printed); 2 usage.
func runGobDecode(args []string) int {
	fs := flag.NewFlagSet("gobdecode", flag.ExitOnError)
	name := fs.String("case", "", "golden case name (tools/internal/cases)")
	_ = fs.Parse(args)
	c, ok := cases.Lookup(*name)
	if !ok {
		fmt.Fprintf(os.Stderr, "gobdecode: unknown case %q\n", *name)
		return 2
	}
	dec := gob.NewDecoder(bufio.NewReader(os.Stdin))
	w := &cases.Walker{}
	out := []interface{}{}
	for i, v := range c.Values() {
		dst := reflect.New(reflect.TypeOf(v))
		if err := dec.DecodeValue(dst); err != nil {
			fmt.Fprintf(os.Stderr, "gobdecode: value %d: %v\n", i, err)
			return 1
		}
		out = append(out, w.Value(dst.Elem()))
	}
	b, err := cases.MarshalJSON(out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gobdecode:", err)
		return 1
	}
	fmt.Println(string(b))
	if err := dec.DecodeValue(reflect.Value{}); err != io.EOF {
		fmt.Fprintf(os.Stderr, "gobdecode: trailing data after the values (%v)\n", err)
		return 3
	}
	return 0
}
