package mock_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hooklab/hooklab/inspect"
	"github.com/hooklab/hooklab/mock"
)

func TestMaxBins(t *testing.T) {
	t.Parallel()
	st, err := inspect.OpenSQLite("", inspect.Options{Memory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv := httptest.NewServer(mock.New(mock.Config{Store: st, MaxBins: 3}))
	defer srv.Close()
	post := func(path string) int {
		resp, err := http.Post(srv.URL+path, "text/plain", strings.NewReader("x"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, b := range []string{"a", "b", "c"} {
		if got := post("/b/" + b + "/x"); got != 200 {
			t.Fatalf("bin %s: %d", b, got)
		}
	}
	if got := post("/b/d/x"); got != http.StatusTooManyRequests {
		t.Errorf("a fourth bin: %d, want 429", got)
	}
	if got := post("/b/a/again"); got != 200 {
		t.Errorf("a known bin: %d", got)
	}
	if got := post("/anything"); got != 200 {
		t.Errorf("the default bin: %d", got)
	}
	if _, err := st.Clear(context.Background(), "b"); err != nil {
		t.Fatal(err)
	}
	if got := post("/b/d/x"); got != 200 {
		t.Errorf("a new bin after clearing one: %d", got)
	}
}

// TestBinAfterDoubleSlash: the printed capture URL ends in a slash, so
// "$CAPTURE/b/stripe/hook" sends //b/stripe/hook: that is bin stripe.
func TestBinAfterDoubleSlash(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ path, bin, rest string }{
		{"//b/stripe/hook", "stripe", "/hook"},
		{"///b/stripe/", "stripe", "/"},
		{"/b/stripe/hook", "stripe", "/hook"},
		{"//other/b/x", inspect.DefaultBin, "//other/b/x"},
		{"//", inspect.DefaultBin, "//"},
	} {
		bin, rest, err := mock.SplitBin(tc.path)
		if err != nil || bin != tc.bin || rest != tc.rest {
			t.Errorf("SplitBin(%q) = %q, %q, %v; want %q, %q", tc.path, bin, rest, err, tc.bin, tc.rest)
		}
	}
	st, err := inspect.OpenSQLite("", inspect.Options{Memory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv := httptest.NewServer(mock.New(mock.Config{Store: st}))
	defer srv.Close()
	resp, err := http.Post(srv.URL+"//b/stripe/hook", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ans struct{ Bin string }
	if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil || ans.Bin != "stripe" {
		t.Errorf("answer bin %q, %v; want stripe", ans.Bin, err)
	}
}
