package proxy

import (
	"encoding/json"
	"maps"
	"slices"
	"testing"

	"github.com/hooklab/hooklab/rules"
)

// TestSchemaKeys: hooklab schema lists exactly the keys the proxies:
// decoder accepts.
func TestSchemaKeys(t *testing.T) {
	t.Parallel()
	var s struct {
		Defs map[string]struct {
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(rules.Schema(), &s); err != nil {
		t.Fatal(err)
	}
	var route struct {
		Properties map[string]struct {
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"properties"`
	}
	b, _ := json.Marshal(s.Defs["route"])
	if err := json.Unmarshal(b, &route); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		def   string
		props map[string]json.RawMessage
		want  []string
	}{
		{"proxy", s.Defs["proxy"].Properties, proxyKeys},
		{"route", s.Defs["route"].Properties, routeOnly},
		{"header_edits", s.Defs["header_edits"].Properties, headersKeys},
		{"simulate_ignore", route.Properties["simulate_ignore"].Properties, ignoreKeys},
	} {
		if got, want := slices.Sorted(maps.Keys(tc.props)), slices.Sorted(slices.Values(tc.want)); !slices.Equal(got, want) {
			t.Errorf("schema %s keys %v; the decoder takes %v", tc.def, got, want)
		}
	}
}
