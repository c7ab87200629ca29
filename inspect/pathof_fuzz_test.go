package inspect

import "testing"

// FuzzPlainPath: plainPath, pathOf's fast path, answers only where it
// agrees with url.Parse.
func FuzzPlainPath(f *testing.F) {
	for _, s := range []string{
		"http://127.0.0.1:8080/hooks/a?x=1",
		"http://127.0.0.1:8080/b/b1/Path/%C3%9Cn%C3%AFcode?q=%E2%82%AC",
		"https://up.example/api/v1/items;id=7/x@y:z",
		"http://localhost:8080/a%2fb/%zz",
		"http://h:/p", "http://:80/p", "http://h/p#frag", "http://h/a b", "http://[::1]:80/p",
		"http://user@h/p", "1http://h/p", "h+t.t-p://h/p", "http://h/%", "http://h/%4", "http://h/%41",
		"http://h", "http://h?x=/y", "//h/p", "http://h/p\x7f", "http://h:8o/p",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, ok := plainPath(raw)
		if !ok {
			return
		}
		if want := parsedPath(raw); got != want {
			t.Fatalf("plainPath(%q) = %q; url.Parse says %q", raw, got, want)
		}
	})
}

// TestPlainPathTakesTheCommonURL: the fast path does answer for what a
// capture records (else it would save nothing), and pathOf agrees with
// url.Parse either way.
func TestPlainPathTakesTheCommonURL(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		fast bool
	}{
		{"http://127.0.0.1:8080/", true},
		{"http://127.0.0.1:8080/hooks/zendesk?x=1&y=%20", true},
		{"http://localhost:8080/b/bin-1/a%2Fb", true},
		{"https://up.example/api;v=1/~user/x@y:z", true},
		{"http://127.0.0.1:8080/a b", false},
		{"http://127.0.0.1:8080/p#f", false},
		{"http://[::1]:8080/p", false},
		{"http://u:p@h/p", false},
		{"http://h/%zz", false},
		{"/relative/only", false},
	} {
		_, ok := plainPath(tc.raw)
		if ok != tc.fast {
			t.Errorf("plainPath(%q) ok = %v; want %v", tc.raw, ok, tc.fast)
		}
		if got, want := pathOf(tc.raw), parsedPath(tc.raw); got != want {
			t.Errorf("pathOf(%q) = %q; url.Parse says %q", tc.raw, got, want)
		}
	}
}
