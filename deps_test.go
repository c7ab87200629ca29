package main

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImportDirections enforces DESIGN.md: inspect and rules import nothing
// of ours; feature packages import only those two; ui imports only inspect.
func TestImportDirections(t *testing.T) {
	t.Parallel()
	const module = "github.com/hooklab/hooklab/"
	allowed := map[string][]string{
		"inspect": {},
		"rules":   {},
		"mock":    {"inspect", "rules"},
		"proxy":   {"inspect", "rules"},
		"emit":    {"inspect", "rules"},
		"replay":  {"inspect", "rules"},
		"ui":      {"inspect"},
	}
	checked := 0
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		top := strings.Split(filepath.ToSlash(path), "/")[0]
		ok, governed := allowed[top]
		if !governed {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		checked++
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			ours, isOurs := strings.CutPrefix(p, module)
			if !isOurs {
				continue
			}
			dep := strings.Split(ours, "/")[0]
			if dep == top {
				continue // a sub-package of its own
			}
			permitted := false
			for _, a := range ok {
				permitted = permitted || a == dep
			}
			if !permitted {
				t.Errorf("%s imports %s: %s may import only %v of ours", path, p, top, ok)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked == 0 {
		t.Fatal("no package files checked")
	}
}
