package replay

import (
	"strings"
	"testing"
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
