// Command parsecheck parses each file named on argv with Alloy's own parser (github.com/grafana/alloy/syntax)
// and prints one JSON line per file: whether it parses and, when not, the first error's position and message.
// tests/stackkit/alloy/test_syntax_differential.py builds it and holds stackkit/alloy/syntax.py against it.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/grafana/alloy/syntax/diag"
	"github.com/grafana/alloy/syntax/parser"
)

type result struct {
	Path     string `json:"path"`
	Accepted bool   `json:"accepted"`
	Line     int    `json:"line,omitempty"`
	Col      int    `json:"col,omitempty"`
	Message  string `json:"message,omitempty"`
}

func check(path string) result {
	data, err := os.ReadFile(path)
	if err != nil {
		return result{Path: path, Message: err.Error()}
	}
	_, err = parser.ParseFile(path, data)
	if err == nil {
		return result{Path: path, Accepted: true}
	}
	var diagnostics diag.Diagnostics
	if errors.As(err, &diagnostics) && len(diagnostics) > 0 {
		first := diagnostics[0]
		return result{Path: path, Line: first.StartPos.Line, Col: first.StartPos.Column, Message: first.Message}
	}
	return result{Path: path, Message: err.Error()}
}

func main() {
	out := json.NewEncoder(os.Stdout)
	for _, path := range os.Args[1:] {
		if err := out.Encode(check(path)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}
