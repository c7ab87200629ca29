package replay

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

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
	_, err := io.WriteString(w, b.String())
	return err
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
