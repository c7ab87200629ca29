package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestJSONBody(t *testing.T) {
	t.Parallel()
	for _, size := range []int{64, 100, 200, 1024, 4096} {
		b := jsonBody(size)
		if len(b) != size {
			t.Errorf("jsonBody(%d) is %d bytes", size, len(b))
		}
		if !json.Valid(b) {
			t.Errorf("jsonBody(%d) is not valid JSON: %s", size, b)
		}
	}
}

func TestRunUnknownCommand(t *testing.T) {
	t.Parallel()
	var out strings.Builder
	err := run(t.Context(), []string{"nope"}, &out, &out)
	if err == nil || !strings.Contains(err.Error(), `unknown command "nope"`) {
		t.Fatalf("run(nope) = %v", err)
	}
	if !strings.Contains(out.String(), "capture") {
		t.Errorf("usage does not list capture:\n%s", out.String())
	}
}
