package rules

import (
	"net/url"
	"reflect"
	"strings"
	"testing"
)

// FuzzParseQuery: request.query and request.form (URL-encoded) read what
// url.ParseQuery reads wherever it reads it all, and keep, of what it
// refuses, a % that starts no escape as it came.
func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{"a=1&b=2&a=3", "a=1;b=2", "discount=50%", "x=%zz&y=%41", "=&&=x&k", "a+b=c+d", "%=%", "q=caf%C3%A9", "a=%4", "a=%", "&&"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, _ := parseQuery(s)
		if want, err := url.ParseQuery(s); err == nil && len(want) <= maxQueryPairs && !strings.Contains(s, ";") {
			if len(want) == 0 && got != nil || len(want) > 0 && !reflect.DeepEqual(got, want) {
				t.Fatalf("parseQuery(%q) = %q, url.ParseQuery %q", s, got, want)
			}
		}
		// A pair without a valid escape or a + or a ; reads as it is.
		for _, pair := range strings.Split(s, "&") {
			if pair == "" || strings.ContainsAny(pair, "%+") {
				continue
			}
			k, v, _ := strings.Cut(pair, "=")
			if vs, ok := got[k]; !ok || !containsString(vs, v) {
				if strings.Count(s, "&") < maxQueryPairs {
					t.Fatalf("parseQuery(%q) = %q, missing %q=%q", s, got, k, v)
				}
			}
		}
	})
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
