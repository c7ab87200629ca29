package emit

import (
	"encoding/json"
	"maps"
	"slices"
	"testing"

	"github.com/hooklab/hooklab/rules"
)

// TestSchemaKeys: hooklab schema lists exactly the keys the emitter's
// config decoder accepts, at every level.
func TestSchemaKeys(t *testing.T) {
	t.Parallel()
	var s struct {
		Defs map[string]struct {
			Properties map[string]json.RawMessage `json:"properties"`
			OneOf      []struct {
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"oneOf"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(rules.Schema(), &s); err != nil {
		t.Fatal(err)
	}
	keys := func(props map[string]json.RawMessage) []string { return slices.Sorted(maps.Keys(props)) }
	var rateLimit struct {
		OneOf []struct {
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"oneOf"`
	}
	if err := json.Unmarshal(s.Defs["webhook"].Properties["rate_limit"], &rateLimit); err != nil || len(rateLimit.OneOf) != 2 {
		t.Fatalf("webhook rate_limit: %v", err)
	}
	for _, tc := range []struct {
		def   string
		props map[string]json.RawMessage
		want  []string
	}{
		{"webhook", s.Defs["webhook"].Properties, webhookKeys},
		{"authentication", s.Defs["authentication"].Properties, authKeys},
		{"signing", s.Defs["signing"].Properties, signingKeys},
		{"webhook rate_limit", rateLimit.OneOf[1].Properties, rateLimitKeys},
		{"circuit_breaker", s.Defs["circuit_breaker"].Properties, breakerKeys},
		{"retry", s.Defs["retry"].Properties, retryKeys},
		{"notify", s.Defs["notify"].Properties, notifyKeys},
		{"subscription", s.Defs["subscription"].Properties, subscriptionKeys},
		{"trigger", s.Defs["trigger"].Properties, triggerKeys},
		{"automation", s.Defs["automation"].Properties, automationKeys},
		{"when", s.Defs["when"].Properties, []string{"all", "any", "event"}},
	} {
		if got, want := keys(tc.props), slices.Sorted(slices.Values(tc.want)); !slices.Equal(got, want) {
			t.Errorf("schema %s keys %v; the decoder takes %v", tc.def, got, want)
		}
	}
}
