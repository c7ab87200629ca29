package inspect

import "testing"

func TestDropCookie(t *testing.T) {
	for _, tc := range []struct{ line, want string }{
		{"hooklab_auth=x", ""},
		{"a=1; hooklab_auth=x; b=2", "a=1; b=2"},
		{"hooklab_auth=x;b=2", "b=2"},
		{" hooklab_auth = x ; b=2;", "b=2"},
		{"a=1;b=2", "a=1;b=2"},                           // not there: untouched
		{"hooklab_auth2=x; a=1", "hooklab_auth2=x; a=1"}, // another name
		{"a=hooklab_auth=x", "a=hooklab_auth=x"},         // a value
	} {
		if got := dropCookie(tc.line, AuthCookie); got != tc.want {
			t.Errorf("dropCookie(%q) = %q, want %q", tc.line, got, tc.want)
		}
	}
}
