package replay

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// A result whose URL still carries a password (as an older server gives
// it) is written with the password redacted, whatever its outcome.
func TestWriteResultRedactsURLPassword(t *testing.T) {
	t.Parallel()
	const u = "http://bob:hunter2pw@127.0.0.1:3000/hooks"
	for _, r := range []Result{
		{Method: "POST", URL: u, Status: 200, Outcome: Same},
		{Method: "POST", URL: u, Outcome: Failed, Error: "refused"},
		{Method: "POST", URL: u, Status: 500, RecordedStatus: 200, Outcome: Differ, Changes: []Change{{Path: "status", Kind: Changed, Old: "200", New: "500"}}},
	} {
		var b strings.Builder
		if err := WriteResult(&b, r, true); err != nil {
			t.Fatal(err)
		}
		if out := b.String(); strings.Contains(out, "hunter2pw") || !strings.Contains(out, "http://bob:REDACTED@127.0.0.1:3000/hooks") {
			t.Errorf("%s result written as:\n%s", r.Outcome, out)
		}
	}
}

// What a replay's text output quotes from the traffic (a body line, a
// header, a URL, an error) cannot drive the terminal it is printed to:
// control characters other than tab and newline, C1 controls and bytes
// that are not UTF-8 are written as escapes.
func TestWriteResultEscapesControls(t *testing.T) {
	t.Parallel()
	hostile := "\x1b]0;owned\x07\x1b[2J\u009b31m\xff\r"
	for _, r := range []Result{
		{Method: "POST", URL: "http://127.0.0.1:3000/a" + hostile, Status: 200, Outcome: Same},
		{Method: "POST", URL: "http://127.0.0.1:3000/a", Outcome: Failed, Error: "upstream said " + hostile},
		{Method: "POST", URL: "http://127.0.0.1:3000/a", Status: 500, RecordedStatus: 200, Outcome: Differ,
			Changes: []Change{
				{Path: "header X-" + hostile, Kind: Changed, Old: "a" + hostile, New: "b\tc"},
				{Path: "body", Kind: Changed, Unified: "@@ -1,1 +1,1 @@\n-old" + hostile + "\n+new\n"},
			},
			Notes: []string{"note " + hostile}},
	} {
		var b strings.Builder
		if err := WriteResult(&b, r, true); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		if bad := terminalControl(out); bad >= 0 {
			t.Errorf("%s result has a terminal control at byte %d:\n%q", r.Outcome, bad, out)
		}
		if !strings.Contains(out, `\x1b]0;owned\a\x1b[2J\u009b31m\xff\r`) {
			t.Errorf("%s result does not show the escaped bytes:\n%s", r.Outcome, out)
		}
	}
	var b strings.Builder
	r := Result{Outcome: Differ, Changes: []Change{{Path: "body", Kind: Changed, Old: "a\tb", New: "ünïcode ✓"}}}
	if err := WriteResult(&b, r, true); err != nil {
		t.Fatal(err)
	}
	if out := b.String(); !strings.Contains(out, "-a\tb\n+ünïcode ✓\n") {
		t.Errorf("tab or UTF-8 text was escaped:\n%s", out)
	}
}

// terminalControl returns the index of the first byte of s a terminal would
// act on (a control other than tab and newline, a C1 control, a byte that
// is not UTF-8), or -1.
func terminalControl(s string) int {
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
			return i
		case r == '\t' || r == '\n':
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			return i
		}
	}
	return -1
}

func FuzzWriteResult(f *testing.F) {
	f.Add("POST", "http://127.0.0.1/\x1b[2J", "-a\x9b\n+b\xff", "\u009b")
	f.Add("GET", "/", "", "")
	f.Fuzz(func(t *testing.T, method, url, unified, text string) {
		r := Result{Method: method, URL: url, Status: 500, RecordedStatus: 200, Outcome: Differ, Error: text, Notes: []string{text},
			Changes: []Change{{Path: text, Kind: Changed, Old: text, New: text}, {Path: "body", Unified: unified}}}
		for _, o := range []string{Same, Failed, Differ} {
			r.Outcome = o
			var b strings.Builder
			if err := WriteResult(&b, r, true); err != nil {
				t.Fatal(err)
			}
			if bad := terminalControl(b.String()); bad >= 0 {
				t.Fatalf("%s: terminal control at byte %d: %q", o, bad, b.String())
			}
		}
	})
}
