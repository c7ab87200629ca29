package rules

import "testing"

// TestMatcherNumbersInStructuresAndNaN: a whole list or object compares its
// numbers by value too (big integers by their digits: a config list held
// one as digits and the body's as a float, so nothing matched), a key
// given twice in a body counts once, and NaN compares as no number (it
// equalled 42 and passed gte and lte alike).
func TestMatcherNumbersInStructuresAndNaN(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		matcher, body string
		want          bool
	}{
		{`{json: [{path: ids, value: [9007199254740993]}]}`, `{"ids": [9007199254740993]}`, true},
		{`{json: [{path: ids, value: [9007199254740993]}]}`, `{"ids": [9007199254740992]}`, false},
		{`{json: [{path: ids, value: [9007199254740992]}]}`, `{"ids": [9007199254740992]}`, true},
		{`{json: [{path: o, value: {id: 12345678901234567890}}]}`, `{"o": {"id": 12345678901234567890}}`, true},
		{`{json: [{path: o, value: {id: 1, n: [1.5, "a", null, true]}}]}`, `{"o": {"n": [1.5, "a", null, true], "id": 1.0}}`, true},
		{`{json: [{path: o, value: {id: 1}}]}`, `{"o": {"id": 1, "more": 2}}`, false},
		{`{json: [{path: o, value: {id: 1}}]}`, `{"o": {"id": "1"}}`, false},
		{`{json: [{path: o, op: ne, value: [1, 2]}]}`, `{"o": [1, 2]}`, false},
		{`{json_partial: {ids: [9007199254740992]}}`, `{"ids": [9007199254740992]}`, true},
		{`{json: [{path: user, value: {id: 1, role: admin}}]}`, `{"user": {"id": 1, "id": 1}}`, false},
		{`{json: [{path: user, value: {id: 1}}]}`, `{"user": {"id": 1, "id": 1}}`, true},
		{`{json: [{path: user, value: {id: 2}}]}`, `{"user": {"id": 1, "id": 2}}`, true},
		{`{json: [{path: amount, value: 42}]}`, `{"amount": "NaN"}`, false},
		{`{json: [{path: amount, op: lte, value: 100}]}`, `{"amount": "NaN"}`, false},
		{`{json: [{path: amount, op: gte, value: 100}]}`, `{"amount": "nan"}`, false},
		{`{json: [{path: amount, op: in, value: [1, 2, 3]}]}`, `{"amount": "NaN"}`, false},
		{`{json: [{path: amount, value: .nan}]}`, `{"amount": 7}`, false},
	} {
		m := mustMatcher(t, tc.matcher)
		if _, got := m.Match(jsonReq(tc.body)); got != tc.want {
			t.Errorf("%s on %s: %v, want %v", tc.matcher, tc.body, got, tc.want)
		}
	}
}
