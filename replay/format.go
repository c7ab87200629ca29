package replay

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hooklab/hooklab/inspect"
)

// WriteResult writes one result as a readable unified-style diff. A result
// that is the same gets one line; with verbose=false it gets none. A
// password in the result's URL is written as inspect.Redacted.
//
//	--- recorded 01HX… POST /hooks/stripe 200
//	+++ replayed 01HY… POST http://127.0.0.1:3000/hooks/stripe 500 (12.3 ms)
//	@@ status @@
//	-200
//	+500
//	@@ body data.total @@
//	-3980
//	+3990
func WriteResult(w io.Writer, r Result, verbose bool) error {
	var b strings.Builder
	r.URL = inspect.RedactURL(r.URL) // an older server's results are not
	switch r.Outcome {
	case Same:
		if !verbose {
			return nil
		}
		fmt.Fprintf(&b, "same   %s %s %d (%.1f ms)%s\n", r.Method, r.URL, r.Status, r.DurationMS, idSuffix(r))
	case Failed:
		fmt.Fprintf(&b, "FAILED %s %s%s\n       %s\n", r.Method, r.URL, idSuffix(r), r.Error)
	default:
		fmt.Fprintf(&b, "--- recorded %s %d\n", orDash(r.Original), r.RecordedStatus)
		fmt.Fprintf(&b, "+++ replayed %s %s %s %d (%.1f ms)\n", orDash(r.Replay), r.Method, r.URL, r.Status, r.DurationMS)
		for _, c := range r.Changes {
			fmt.Fprintf(&b, "@@ %s @@\n", c.Path)
			if c.Unified != "" {
				b.WriteString(c.Unified)
				continue
			}
			if c.Kind != Added {
				writeLines(&b, '-', c.Old)
			}
			if c.Kind != Removed {
				writeLines(&b, '+', c.New)
			}
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "  note: %s\n", n)
	}
	_, err := io.WriteString(w, terminalSafe(b.String()))
	return err
}

// terminalSafe returns s with what a terminal would act on written as Go
// escapes (\x1b, \r, \u009b, \xff): control characters other than tab and
// newline, C1 controls and bytes that are not UTF-8. A replay quotes its
// targets' headers and bodies, which can hold anything.
func terminalSafe(s string) string {
	i := 0
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if needsEscape(r, n) {
			break
		}
		i += n
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	b.WriteString(s[:i])
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case needsEscape(r, n):
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

func needsEscape(r rune, size int) bool {
	switch {
	case r == '\t' || r == '\n':
		return false
	case r == utf8.RuneError:
		return size == 1
	default:
		return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0)
	}
}

func writeLines(b *strings.Builder, sign byte, s string) {
	for _, l := range strings.Split(s, "\n") {
		b.WriteByte(sign)
		b.WriteString(l)
		b.WriteByte('\n')
	}
}

func idSuffix(r Result) string {
	if r.Original == "" {
		return ""
	}
	return " [" + r.Original + "]"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// WriteText writes every result that is not the same (all with verbose),
// then the summary line.
func WriteText(w io.Writer, rep *Report, verbose bool) error {
	for _, r := range rep.Results {
		if err := WriteResult(w, r, verbose); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintln(w, rep.Summary.String())
	return err
}

// WriteJSON writes the report as indented JSON: {"summary": …, "results": […]}.
func WriteJSON(w io.Writer, rep *Report) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}
