package rules_test

import (
	"slices"
	"testing"

	"github.com/hooklab/hooklab/rules"
)

func TestSortByPlace(t *testing.T) {
	msgs := []string{
		"other.yaml:1:1: elsewhere",
		"h.yaml:10:3: ten",
		"h.yaml:8: eight, no column: a: b",
		"h.yaml:8:21: eight twenty-one",
		"no place at all",
		"h.yaml:8:5: eight five",
		"h.yaml:2:1: two",
	}
	rules.SortByPlace("h.yaml", msgs)
	want := []string{
		"h.yaml:2:1: two",
		"h.yaml:8: eight, no column: a: b",
		"h.yaml:8:5: eight five",
		"h.yaml:8:21: eight twenty-one",
		"h.yaml:10:3: ten",
		"other.yaml:1:1: elsewhere",
		"no place at all",
	}
	if !slices.Equal(msgs, want) {
		t.Errorf("sorted\n%q\nwant\n%q", msgs, want)
	}
}
