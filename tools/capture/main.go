// Command capture regenerates the golden files under golden/ from real Go.
//
// Usage (normally through tools/regen-golden):
//
//	cd tools && go run ./capture -out ../golden [-gopeer PATH] [-j N]
//
// gob assigns type ids process-wide in first-use order, so every value case
// and every transcript is produced by a FRESH process: capture re-executes
// itself with a hidden subcommand and collects the child's stdout:
//
//	capture one-case NAME                      -> JSON envelope of golden/gob/NAME.json
//	capture one-transcript NAME -gopeer PATH   -> JSON of golden/transcripts/NAME.json
//
// one-transcript in turn starts `gopeer function --handler H` as a separate
// fresh process (the Lambda function) and talks to it through a TCP tee proxy.
// Without -gopeer, capture builds tools/gopeer into a temporary directory.
package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"sync"

	"lambdalegacy/tools/internal/cases"
)

const awsLambdaGoModule = "github.com/aws/aws-lambda-go"

func main() {
	if len(os.Args) >= 3 && os.Args[1] == "one-case" {
		if err := oneCase(os.Args[2]); err != nil {
			fmt.Fprintln(os.Stderr, "capture one-case:", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) >= 3 && os.Args[1] == "one-transcript" {
		fs := flag.NewFlagSet("one-transcript", flag.ExitOnError)
		gopeer := fs.String("gopeer", "", "path of the gopeer binary")
		_ = fs.Parse(os.Args[3:])
		if err := oneTranscript(os.Args[2], *gopeer); err != nil {
			fmt.Fprintln(os.Stderr, "capture one-transcript:", err)
			os.Exit(1)
		}
		return
	}
	out := flag.String("out", "", "golden directory to (re)generate")
	gopeer := flag.String("gopeer", "", "gopeer binary (default: go build lambdalegacy/tools/gopeer into a temp dir)")
	jobs := flag.Int("j", runtime.NumCPU(), "parallel child processes")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "usage: capture -out DIR [-gopeer PATH] [-j N]")
		os.Exit(2)
	}
	if err := regenerate(*out, *gopeer, *jobs); err != nil {
		fmt.Fprintln(os.Stderr, "capture:", err)
		os.Exit(1)
	}
}

// awsLambdaGoVersion is the aws-lambda-go version this binary was built with.
func awsLambdaGoVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == awsLambdaGoModule {
				if d.Replace != nil {
					return d.Replace.Version
				}
				return d.Version
			}
		}
	}
	return "unknown"
}

// writeJSON writes v as indented JSON (no HTML escaping) plus a newline.
func writeJSON(path string, v interface{}) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

func runChild(args ...string) ([]byte, error) {
	cmd := exec.Command(os.Args[0], args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

func regenerate(out, gopeer string, jobs int) error {
	if jobs < 1 {
		jobs = 1
	}
	if gopeer == "" {
		tmp, err := os.MkdirTemp("", "capture-gopeer-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		gopeer = filepath.Join(tmp, "gopeer")
		build := exec.Command("go", "build", "-trimpath", "-o", gopeer, "lambdalegacy/tools/gopeer")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("building gopeer: %v", err)
		}
	}
	if abs, err := filepath.Abs(gopeer); err == nil {
		gopeer = abs
	}
	gobDir := filepath.Join(out, "gob")
	trDir := filepath.Join(out, "transcripts")
	// Wipe everything generated before (README.md is kept).
	for _, p := range []string{gobDir, trDir, filepath.Join(out, "index.json")} {
		if err := os.RemoveAll(p); err != nil {
			return err
		}
	}
	for _, d := range []string{gobDir, trDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}

	type job struct {
		name string
		run  func() error
	}
	var todo []job
	for _, c := range cases.All {
		name := c.Name
		todo = append(todo, job{"case " + name, func() error { return writeCase(gobDir, name) }})
	}
	for _, s := range scenarios {
		name := s.name
		todo = append(todo, job{"transcript " + name, func() error {
			b, err := runChild("one-transcript", name, "-gopeer", gopeer)
			if err != nil {
				return err
			}
			var raw json.RawMessage = b
			return writeJSON(filepath.Join(trDir, name+".json"), raw)
		}})
	}

	var mu sync.Mutex
	var errs []string
	ch := make(chan job)
	var wg sync.WaitGroup
	for i := 0; i < jobs; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range ch {
				if err := j.run(); err != nil {
					mu.Lock()
					errs = append(errs, fmt.Sprintf("%s: %v", j.name, err))
					mu.Unlock()
				}
			}
		}()
	}
	for _, j := range todo {
		ch <- j
	}
	close(ch)
	wg.Wait()
	if len(errs) > 0 {
		sort.Strings(errs)
		return errors.New(strings.Join(errs, "\n"))
	}

	index := struct {
		GoVersion   string   `json:"go_version"`
		AwsLambdaGo string   `json:"aws_lambda_go"`
		Cases       []string `json:"cases"`
		Scenarios   []string `json:"scenarios"`
	}{GoVersion: runtime.Version(), AwsLambdaGo: awsLambdaGoVersion()}
	for _, c := range cases.All {
		index.Cases = append(index.Cases, c.Name)
	}
	for _, s := range scenarios {
		index.Scenarios = append(index.Scenarios, s.name)
	}
	return writeJSON(filepath.Join(out, "index.json"), index)
}

// writeCase runs `capture one-case NAME` and writes golden/gob/NAME.json
// (and NAME.bin for cases holding large byte slices).
func writeCase(gobDir, name string) error {
	b, err := runChild("one-case", name)
	if err != nil {
		return err
	}
	var env caseEnvelope
	if err := json.Unmarshal(b, &env); err != nil {
		return fmt.Errorf("bad child output: %v", err)
	}
	f := env.File
	if env.Large {
		var bin bytes.Buffer
		lengths := []int{}
		for _, w := range *f.Writes {
			raw, err := hex.DecodeString(w)
			if err != nil {
				return err
			}
			bin.Write(raw)
			lengths = append(lengths, len(raw))
		}
		f.Writes = nil
		f.WritesFile = name + ".bin"
		f.WriteLengths = lengths
		if err := os.WriteFile(filepath.Join(gobDir, f.WritesFile), bin.Bytes(), 0o644); err != nil {
			return err
		}
	}
	return writeJSON(filepath.Join(gobDir, name+".json"), f)
}
