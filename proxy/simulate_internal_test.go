package proxy

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hooklab/hooklab/inspect"
)

// TestSimulationTruncatedRecordingKeepsOneCount: a recording whose body was
// cut answers any body; the bodies sent are counted as repeats of one
// request, not kept one by one (a copy of each, up to max_body, for the
// simulation's life).
func TestSimulationTruncatedRecordingKeepsOneCount(t *testing.T) {
	t.Parallel()
	rec := func(answer string) *inspect.Exchange {
		return &inspect.Exchange{
			Request:  inspect.Request{Method: "POST", URL: "http://api.example/upload", Body: []byte("start of a big upl"), Size: 1 << 20, Truncated: true},
			Response: &inspect.Response{Status: 200, Body: []byte(answer), Size: int64(len(answer))},
		}
	}
	s, err := NewSimulation("t", []*inspect.Exchange{rec("first"), rec("second")}, SimulateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := range 200 {
		body := fmt.Sprintf("upload %d %s", i, strings.Repeat("x", 1000))
		r := httptest.NewRequest("POST", "http://api.example/upload", strings.NewReader(body))
		e, n := s.lookup(s.prepare(r, []byte(body)), false)
		if e == nil {
			t.Fatalf("request %d: no answer", i)
		}
		if i < 3 {
			got = append(got, fmt.Sprintf("%d:%s", n, e.ex.Response.Body))
		}
	}
	if want := "0:first 1:second 2:second"; strings.Join(got, " ") != want {
		t.Errorf("answers %q, want %q", strings.Join(got, " "), want)
	}
	if n := len(s.served); n != 1 {
		t.Errorf("%d counts kept for 200 bodies, want 1", n)
	}
}
