package inspect

import (
	"slices"
	"testing"
)

func TestHeaderTextRoundTrip(t *testing.T) {
	t.Parallel()
	for _, h := range []Headers{
		{},
		{{"Content-Type", "application/json"}},
		{{"X-Empty", ""}, {"X-Empty", ""}},
		{{"X-Odd", `back\slash \n not a newline`}, {"X-Line", "a\nb\r\nc"}},
		{{"bad: name", "v: w"}, {"a:", ": b"}, {"::", "::"}, {`\c`, `\`}},
	} {
		got := parseHeaderText(string(appendHeaderText(nil, h)))
		if !slices.Equal(got, h) {
			t.Errorf("round trip of %q gave %q", h, got)
		}
	}
}

func FuzzHeaderText(f *testing.F) {
	f.Add("Content-Type", "application/json", "X", "")
	f.Add("a: b", "c\nd", `\`, `\\n`)
	f.Fuzz(func(t *testing.T, n1, v1, n2, v2 string) {
		h := Headers{{n1, v1}, {n2, v2}}
		if got := parseHeaderText(storedHeaders(h)); !slices.Equal(got, h) {
			t.Fatalf("round trip of %q gave %q", h, got)
		}
	})
}
