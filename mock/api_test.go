package mock_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/hooklab/hooklab/rules"
)

// TestRulesAPI: GET /api/rules lists every rule with where it is defined and
// how often it matched; a failed reload keeps the old config live and shows
// the error; a good one clears it.
func TestRulesAPI(t *testing.T) {
	t.Parallel()
	h := newHarness(t, loadExample(t), nil)

	for i := 0; i < 2; i++ {
		h.post(t, "/stripe/acct/events", `{"type":"payment_intent.succeeded","id":"evt"}`)
	}
	for i := 0; i < 3; i++ {
		h.post(t, "/b/"+[]string{"a", "b", "c"}[i]+"/flaky", ``)
	}
	h.post(t, "/zendesk/tickets", `{}`)
	h.post(t, "/nothing", `{}`)

	type row struct {
		name, kind, source string
		hits               int64
	}
	check := func(step string, want []row) {
		t.Helper()
		s := h.rules(t)
		var got []row
		for _, r := range s.Rules {
			got = append(got, row{r.Name, r.Kind, r.Source, r.Hits})
		}
		if len(got) != len(want) {
			t.Fatalf("%s: rules %v, want %v", step, got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("%s: rule %d is %v, want %v", step, i, got[i], want[i])
			}
		}
	}
	example := []row{
		{"stripe-ok", "mock", exampleFile + ":2", 2},
		{"flaky", "mock", exampleFile + ":12", 3},
		{"slow", "mock", exampleFile + ":17", 0},
		{"zendesk", "verify", exampleFile + ":21", 1},
	}
	check("example", example)

	s := h.rules(t)
	if s.Error != nil || s.File == nil || *s.File != exampleFile {
		t.Errorf("error %v file %v; want no error and %s", s.Error, s.File, exampleFile)
	}
	if strings.Contains(string(s.Config), exampleSecret) || !strings.Contains(string(s.Config), rules.Redacted) {
		t.Errorf("config shown with the secret unredacted: %s", s.Config)
	}

	// A failed reload: the error shows, the old rules stay and still answer.
	bad := &rules.Errors{List: []rules.Error{{File: exampleFile, Line: 9, Col: 15, Msg: `status: want an HTTP status between 200 and 599, got 2000`}}}
	h.Engine.Apply(nil, bad)
	s = h.rules(t)
	if s.Error == nil || !strings.HasPrefix(*s.Error, exampleFile+":9:15: status") {
		t.Errorf("error after a failed reload: %v", s.Error)
	}
	if a := h.do(t, http.MethodPost, "/b/d/flaky", nil, nil); a.Status != 503 {
		t.Errorf("the old config no longer answers: %d %s", a.Status, a.Body)
	}
	example[1].hits++
	check("after a failed reload", example)

	h.Engine.Apply(nil, errors.New("read config: file does not exist"))
	if s := h.rules(t); s.Error == nil || !strings.Contains(*s.Error, "does not exist") {
		t.Errorf("error after the file went: %v", s.Error)
	}

	// A good reload clears the error; a kept name keeps its count.
	next := parseConfig(t, "next.yaml", `mocks:
  - name: fresh
    match: {path: /fresh}
    respond: {body: new}

  - name: flaky
    match: {path: /flaky}
    respond: {body: steady}
`)
	h.Engine.Apply(next, nil)
	if a := h.do(t, http.MethodPost, "/b/e/flaky", nil, nil); string(a.Body) != "steady" {
		t.Errorf("the new config does not answer: %d %s", a.Status, a.Body)
	}
	s = h.rules(t)
	if s.Error != nil || s.File == nil || *s.File != "next.yaml" {
		t.Errorf("after a good reload: error %v file %v", s.Error, s.File)
	}
	check("after a good reload", []row{
		{"fresh", "mock", "next.yaml:2", 0},
		{"flaky", "mock", "next.yaml:6", 5},
	})
}

// TestRulesAPIWithoutConfig: no config is an empty list, not an error.
func TestRulesAPIWithoutConfig(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, nil)
	s := h.rules(t)
	if s.File != nil || s.Error != nil || len(s.Rules) != 0 || s.Rules == nil {
		t.Errorf("without a config: %+v", s)
	}
	h.reset(t)
}
