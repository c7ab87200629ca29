package rules

import (
	"encoding/json"
	"slices"
	"testing"
)

func TestSchemaIsValidJSON(t *testing.T) {
	t.Parallel()
	var s map[string]any
	if err := json.Unmarshal(Schema(), &s); err != nil {
		t.Fatal(err)
	}
	if s["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
		t.Errorf("$schema = %v", s["$schema"])
	}
}

// TestSchemaKeysMatchParser checks that the schema lists exactly the keys the
// parser accepts, for every kind of object.
func TestSchemaKeysMatchParser(t *testing.T) {
	t.Parallel()
	var s struct {
		Properties map[string]any `json:"properties"`
		Defs       map[string]struct {
			Properties map[string]any `json:"properties"`
			OneOf      []struct {
				Properties map[string]any `json:"properties"`
			} `json:"oneOf"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(Schema(), &s); err != nil {
		t.Fatal(err)
	}
	kinds := []string{"config", "mock", "respond", "rate_limit", "verify", "settings", "match", "condition", "json_condition"}
	for _, kind := range kinds {
		var props map[string]any
		if kind == "config" {
			props = s.Properties
		} else {
			def, ok := s.Defs[kind]
			if !ok {
				t.Errorf("schema has no $defs/%s", kind)
				continue
			}
			props = def.Properties
			for _, alt := range def.OneOf {
				if alt.Properties != nil {
					props = alt.Properties
				}
			}
		}
		var schemaKeys []string
		for k := range props {
			schemaKeys = append(schemaKeys, k)
		}
		slices.Sort(schemaKeys)
		parserKeys := slices.Sorted(slices.Values(knownKeys(kind)))
		if !slices.Equal(schemaKeys, parserKeys) {
			t.Errorf("%s: schema keys %v, parser keys %v", kind, schemaKeys, parserKeys)
		}
	}
}
