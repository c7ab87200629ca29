package ui

import (
	"testing"

	"github.com/hooklab/hooklab/inspect"
)

// TestFormatLineTarget: a tail line has a target whatever the exchange
// was, and what a sender or a HAR file wrote into the URL cannot drive
// the terminal tail prints to, nor split the line.
func TestFormatLineTarget(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		s    inspect.Summary
		want string // the line after its time
	}{
		{
			name: "plain",
			s:    inspect.Summary{Method: "POST", URL: "http://h/b/x/hook?x=1", Path: "/b/x/hook", Status: 200, RequestSize: 7},
			want: "POST    /b/x/hook?x=1 200 7B 0.00ms",
		},
		{
			// A CONNECT has no path: its target is the host it tunnelled to.
			name: "connect",
			s:    inspect.Summary{Method: "CONNECT", URL: "http://127.0.0.1:3000", Path: "", Status: 200},
			want: "CONNECT 127.0.0.1:3000 200 0B 0.00ms",
		},
		{
			// A forward proxy's absolute-form request without a path
			// (GET http://h?x=1) went to /, as its request to the
			// upstream did: the host is no path.
			name: "absolute form without a path",
			s:    inspect.Summary{Method: "GET", URL: "http://example.com?x=1", Path: "", Status: 200},
			want: "GET     /?x=1 200 0B 0.00ms",
		},
		{
			// A URL url.Parse refuses (a HAR file's _hooklab.url_base64 can
			// hold any bytes) is the summary's path as it is.
			name: "escape sequences",
			s:    inspect.Summary{Method: "GET", URL: "http://h/x\x1b]0;PWNED\a\x1b[41mRED", Path: "http://h/x\x1b]0;PWNED\a\x1b[41mRED", Status: 200},
			want: "GET     http://h/x%1B]0;PWNED%07%1B[41mRED 200 0B 0.00ms",
		},
		{
			// C1 controls (U+009B is CSI) and bytes that are not UTF-8 pass
			// Go's server in a query.
			name: "C1 and not UTF-8 in the query",
			s:    inspect.Summary{Method: "GET", URL: "http://h/x?a=\u009b31m&b=\x9b&c=é", Path: "/x", Status: 200},
			want: "GET     /x?a=%C2%9B31m&b=%9B&c=é 200 0B 0.00ms",
		},
		{
			name: "newline",
			s:    inspect.Summary{Method: "GET", URL: "http://h/a\nb", Path: "http://h/a\nb"},
			want: "GET     http://h/a%0Ab - 0B 0.00ms",
		},
		{
			// Only a URL imported from a HAR file can hold a space, which
			// would split the line's fields.
			name: "space in the query",
			s:    inspect.Summary{Method: "GET", URL: "http://h/with space?q=a b", Path: "/with%20space", Status: 200},
			want: "GET     /with%20space?q=a%20b 200 0B 0.00ms",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.s.Time = "2026-12-01T00:00:00Z"
			got := FormatLine(tc.s)
			if len(got) < 13 || got[13:] != tc.want {
				t.Errorf("FormatLine = %q, want %q after the time", got, tc.want)
			}
		})
	}
}
