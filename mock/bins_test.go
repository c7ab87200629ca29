package mock_test

import (
	"context"
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
