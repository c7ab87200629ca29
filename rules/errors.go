package rules

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Error is one problem found in a config file, with its position and the
// rule it is in.
type Error struct {
	File string
	Line int // 1-based; 0 when unknown
	Col  int // 1-based; 0 when unknown
	// Rule names the rule (or webhook, trigger, proxy...) the problem is
	// in, as its errors begin: `mock "a"`, "proxy api"; "" for none.
	Rule string
	Msg  string
}

// Error formats the problem as "file:line:col: msg", or "file:line:col:
// rule: msg" when it is in a rule.
func (e Error) Error() string {
	if e.Rule != "" {
		return fmt.Sprintf("%s:%d:%d: %s: %s", e.File, e.Line, e.Col, e.Rule, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

// Errors is every problem found while loading a config file. Load and Parse
// return it (as a *Errors) when the file is invalid.
type Errors struct {
	List []Error
}

// MaxShown is how many problems Errors.Error spells out: a file whose
// every rule repeats one mistake (a key from another tool's schema) gave
// thousands of lines, the first few of which say it all.
const MaxShown = 20

// Error formats each problem as "file:line:col: msg", one per line, the
// first MaxShown of them and then a line counting the rest. List keeps
// them all.
func (e *Errors) Error() string {
	var b strings.Builder
	for i, err := range e.List {
		if i == MaxShown {
			fmt.Fprintf(&b, "\n... and %d more problems (%d in all)", len(e.List)-MaxShown, len(e.List))
			break
		}
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(err.Error())
	}
	return b.String()
}

// Join returns the problems of errs (nil ones skipped) as one error: those
// of each *Errors, Parse's first and then the other sections' owners', as
// one *Errors in file order, any other error after them (errors.Join); nil
// when there are none. An error in one section then hides none in another.
// A problem at a place where an earlier one of errs found one is left out:
// it follows from that one (a key whose ${NAME} the environment does not
// set is refused by Parse, and then by the section's owner as a name),
// but names that one's rule when that one names none (Parse does not know
// the names of the sections it leaves to their owners).
func Join(errs ...error) error {
	var list []Error
	var other []error
	type pos struct {
		file      string
		line, col int
	}
	found := map[pos]int{} // where in list
	for _, err := range errs {
		es, ok := err.(*Errors)
		if !ok && err != nil {
			other = append(other, err)
		}
		if es == nil {
			continue
		}
		n := len(list)
		for _, e := range es.List {
			at, seen := found[pos{e.File, e.Line, e.Col}]
			switch {
			case !seen:
				list = append(list, e)
			case list[at].Rule == "":
				list[at].Rule = e.Rule
			}
		}
		for i, e := range list[n:] {
			found[pos{e.File, e.Line, e.Col}] = n + i
		}
	}
	if len(list) == 0 && len(other) == 0 {
		return nil
	}
	if len(list) > 0 {
		joined := &Errors{List: list}
		joined.sort()
		other = append([]error{joined}, other...)
	}
	if len(other) == 1 {
		return other[0]
	}
	return errors.Join(other...)
}

// sort orders the problems by file position.
func (e *Errors) sort() {
	slices.SortStableFunc(e.List, func(a, b Error) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
	})
}

// Suggest returns ` (did you mean "x"?)` when one of known is close to word
// (edit distance, adjacent transpositions counting as one), or "". Config
// sections decoded outside this package use it for the same messages.
func Suggest(word string, known []string) string { return suggest(word, known) }

// UnknownKey is what follows `unknown key "word"` in a message: Suggest's
// suggestion when one of known is close, else the keys there are, so that
// a key written from memory is found without the schema at hand.
func UnknownKey(word string, known []string) string {
	if s := suggest(word, known); s != "" {
		return s
	}
	return "; the keys are " + strings.Join(known, ", ")
}

// suggest is Suggest.
func suggest(word string, known []string) string {
	if best := closest(word, known); best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return ""
}

// closest is the word of known nearest to word, when it is near enough
// to be what was meant (a third of word's length at most); "" when none is.
func closest(word string, known []string) string {
	best, bestDist := "", -1
	for _, k := range known {
		d := editDistance(strings.ToLower(word), k)
		if bestDist < 0 || d < bestDist {
			best, bestDist = k, d
		}
	}
	limit := max(1, len(word)/3)
	if bestDist < 0 || bestDist > limit {
		return ""
	}
	return best
}

// editDistance is the optimal string alignment distance between a and b, in
// bytes: insertions, deletions, substitutions and transpositions of adjacent
// bytes each cost 1, so "macth" is 1 away from "match".
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// SortByPlace sorts msgs ("file:line[:col]: ...", as warnings are written)
// into file order, stably: those of file by line and column, any other
// after them as they came.
func SortByPlace(file string, msgs []string) {
	place := func(m string) (line, col int, ok bool) {
		rest, found := strings.CutPrefix(m, file+":")
		if !found {
			return 0, 0, false
		}
		l, rest, _ := strings.Cut(rest, ":")
		line, err := strconv.Atoi(l)
		if err != nil {
			return 0, 0, false
		}
		if c, _, found := strings.Cut(rest, ":"); found {
			col, _ = strconv.Atoi(c) // none: 0, before any column
		}
		return line, col, true
	}
	slices.SortStableFunc(msgs, func(a, b string) int {
		la, ca, oka := place(a)
		lb, cb, okb := place(b)
		switch {
		case oka != okb:
			if oka {
				return -1
			}
			return 1
		case !oka:
			return 0
		}
		return cmp.Or(cmp.Compare(la, lb), cmp.Compare(ca, cb))
	})
}
