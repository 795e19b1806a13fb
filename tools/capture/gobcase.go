package main

import (
	"bytes"
	"encoding/gob"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"runtime"

	"lambdalegacy/tools/internal/cases"
)

// caseFile is the layout of golden/gob/<case>.json (see golden/README.md).
type caseFile struct {
	Case           string          `json:"case"`
	Description    string          `json:"description"`
	GoVersion      string          `json:"go_version"`
	Values         json.RawMessage `json:"values"`
	Encodes        [][2]int        `json:"encodes"`
	Writes         *[]string       `json:"writes,omitempty"`
	WritesFile     string          `json:"writes_file,omitempty"`
	WriteLengths   []int           `json:"write_lengths,omitempty"`
	EncodeError    string          `json:"encode_error,omitempty"`
	EncodePanicked bool            `json:"encode_panicked,omitempty"`
	MapOrderRandom bool            `json:"map_order_random"`
	ByteSelection  string          `json:"byte_selection,omitempty"`
}

// caseEnvelope is what `capture one-case` prints; Large asks the parent to
// move the writes into a .bin file.
type caseEnvelope struct {
	File  caseFile `json:"file"`
	Large bool     `json:"large"`
}

// writeRecorder keeps every Write call separately.
type writeRecorder struct {
	writes [][]byte
}

func (r *writeRecorder) Write(p []byte) (int, error) {
	r.writes = append(r.writes, append([]byte(nil), p...))
	return len(p), nil
}

type encodeResult struct {
	writes   [][]byte
	encodes  [][2]int
	err      string
	panicked bool
}

func (r encodeResult) joined() []byte { return bytes.Join(r.writes, nil) }

func encodeOne(enc *gob.Encoder, v interface{}) (err error, panicked bool) {
	defer func() {
		if p := recover(); p != nil {
			err, panicked = fmt.Errorf("%v", p), true
		}
	}()
	return enc.Encode(v), false
}

// encodeAll encodes vals in order on ONE new Encoder, stopping at the first
// error.
func encodeAll(vals []interface{}) encodeResult {
	rec := &writeRecorder{}
	enc := gob.NewEncoder(rec)
	var res encodeResult
	for _, v := range vals {
		start := len(rec.writes)
		err, panicked := encodeOne(enc, v)
		res.encodes = append(res.encodes, [2]int{start, len(rec.writes)})
		if err != nil {
			res.err, res.panicked = err.Error(), panicked
			break
		}
	}
	res.writes = rec.writes
	return res
}

// mapRetries is how many extra encodings are made for cases with random map
// order; the lexicographically smallest byte stream is kept so that the file
// is stable across runs.
const mapRetries = 500

func oneCase(name string) error {
	c, ok := cases.Lookup(name)
	if !ok {
		return fmt.Errorf("unknown case %q", name)
	}
	vals := c.Values()
	// The first Encode calls of this fresh process assign the type ids.
	res := encodeAll(vals)

	w := &cases.Walker{}
	entries := make([]cases.ValueEntry, 0, len(vals))
	for _, v := range vals {
		entries = append(entries, w.Entry(v))
	}
	valuesJSON, err := cases.MarshalJSON(entries)
	if err != nil {
		return err
	}

	selection := ""
	if w.MapOrderRandom {
		// A fresh Encoder in the same process re-sends the same definitions
		// with the same ids; only the map order can differ.
		for i := 0; i < mapRetries; i++ {
			again := encodeAll(vals)
			if again.err != res.err || len(again.writes) != len(res.writes) {
				return fmt.Errorf("re-encoding changed the message structure")
			}
			if bytes.Compare(again.joined(), res.joined()) < 0 {
				res = again
			}
		}
		selection = fmt.Sprintf("lexicographically smallest byte stream of %d encodings (map order is random in Go)", mapRetries+1)
	} else {
		// Self-check: a second Encoder must produce exactly the same writes.
		again := encodeAll(vals)
		if again.err != res.err || len(again.writes) != len(res.writes) || !bytes.Equal(again.joined(), res.joined()) {
			return fmt.Errorf("encoding is not reproducible within the process")
		}
	}

	writes := make([]string, 0, len(res.writes))
	for _, b := range res.writes {
		writes = append(writes, hex.EncodeToString(b))
	}
	env := caseEnvelope{
		File: caseFile{
			Case:           c.Name,
			Description:    c.Description,
			GoVersion:      runtime.Version(),
			Values:         valuesJSON,
			Encodes:        res.encodes,
			Writes:         &writes,
			EncodeError:    res.err,
			EncodePanicked: res.panicked,
			MapOrderRandom: w.MapOrderRandom,
			ByteSelection:  selection,
		},
		Large: w.LargeBytes || len(res.joined()) > cases.LargeBytes,
	}
	return json.NewEncoder(os.Stdout).Encode(env)
}
