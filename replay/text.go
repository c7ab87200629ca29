package replay

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// maxLCSCells bounds the line-diff table; beyond it the differing middle
// is diffed by myers, or shown as removed and added whole.
const maxLCSCells = 4 << 20

// contextLines is how many unchanged lines surround each hunk.
const contextLines = 3

type lineOp struct {
	kind byte // ' ', '-', '+'
	text string
	a, b int // 1-based line numbers in old and new (0 when absent)
}

// Limits of a text diff, which a result carries to every websocket client
// and keeps for as many runs as the API keeps: it stays small whatever the
// bodies.
const (
	// maxTextDiff is the size of a text body beyond which bodies are
	// compared by size and hash instead of line by line.
	maxTextDiff = 1 << 20
	// maxUnified caps a diff; what is left out is counted in a last line,
	// "… diff cut here: N bytes more".
	maxUnified = 64 << 10
	// maxDiffLine caps each line of a diff; what is left out of a line is
	// counted at its end, " … N bytes more".
	maxDiffLine = 1 << 10
)

// cutRoom is kept free for the line that says where a diff was cut.
const cutRoom = len("… diff cut here: 18446744073709551615 bytes more\n")

// unified returns a line diff of a and b in unified format (hunks only,
// without file headers), within maxDiffLine and maxUnified.
func unified(a, b string) string { return unifiedLimit(a, b, maxDiffLine, maxUnified) }

// unifiedLimit is unified with each line cut after maxLine bytes (at a
// character boundary) and the diff after at most maxTotal bytes (at a
// line's end; maxTotal is at least cutRoom), each cut saying how many bytes
// it left out.
func unifiedLimit(a, b string, maxLine, maxTotal int) string {
	al, bl := splitLines(a), splitLines(b)
	ops := diffLines(al, bl)
	out := diffWriter{room: maxTotal - cutRoom, maxLine: maxLine}
	for i := 0; i < len(ops); {
		if ops[i].kind == ' ' {
			i++
			continue
		}
		// A hunk: from contextLines before the change to contextLines after
		// the last change that is not more than 2*contextLines away.
		start := max(i-contextLines, 0)
		end := i
		for j := i; j < len(ops); j++ {
			if ops[j].kind != ' ' {
				end = j
			} else if j-end > 2*contextLines {
				break
			}
		}
		end = min(end+contextLines, len(ops)-1)
		var aStart, aLen, bStart, bLen int
		for _, op := range ops[start : end+1] {
			if op.kind != '+' {
				if aStart == 0 {
					aStart = op.a
				}
				aLen++
			}
			if op.kind != '-' {
				if bStart == 0 {
					bStart = op.b
				}
				bLen++
			}
		}
		out.line(0, fmt.Sprintf("@@ -%d,%d +%d,%d @@", aStart, aLen, bStart, bLen))
		for _, op := range ops[start : end+1] {
			out.line(op.kind, op.text)
		}
		i = end + 1
	}
	return out.done()
}

// diffWriter writes the lines of a diff within its limits.
type diffWriter struct {
	b       strings.Builder
	room    int // bytes left for lines
	maxLine int
	left    int // bytes of the lines left out (as they would have been)
}

// line writes kind and text as one line, text cut after maxLine bytes; a
// hunk header has kind 0 and is never cut. Once a line does not fit, it and
// all after it are only counted.
func (w *diffWriter) line(kind byte, text string) {
	n := len(text) + 1
	if kind != 0 {
		n++
	}
	if w.left > 0 {
		w.left += n
		return
	}
	text, marker := strings.CutSuffix(text, noEOL)
	suffix := ""
	if marker {
		suffix = noEOL
	}
	shown, tail := text, suffix
	if kind != 0 && len(text) > w.maxLine {
		cut := w.maxLine
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		shown, tail = text[:cut], fmt.Sprintf(" … %d bytes more", len(text)-cut)+suffix
	}
	m := n - len(text) - len(suffix) + len(shown) + len(tail)
	if m > w.room {
		w.left = n
		return
	}
	w.room -= m
	if kind != 0 {
		w.b.WriteByte(kind)
	}
	w.b.WriteString(shown)
	w.b.WriteString(tail)
	w.b.WriteByte('\n')
}

// done returns the diff, ending with a line that says how much was left
// out when anything was.
func (w *diffWriter) done() string {
	if w.left > 0 {
		fmt.Fprintf(&w.b, "… diff cut here: %d bytes more\n", w.left)
	}
	return w.b.String()
}

// describeText sums up a text body that is not diffed line by line.
func describeText(b []byte) string {
	return fmt.Sprintf("%d bytes, %d lines, %s", len(b), bytes.Count(b, []byte("\n")), hashOf(b))
}

// firstDiffLine returns the number of the first line where a and b differ
// (1-based), for two bodies that differ.
func firstDiffLine(a, b []byte) int {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return bytes.Count(a[:i], []byte("\n")) + 1
}

// noEOL marks a last line without a newline, as diff and git write it, so
// that bodies differing only there show how.
const noEOL = "\n\\ No newline at end of file"

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	lines := strings.Split(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	} else {
		lines[len(lines)-1] += noEOL
	}
	return lines
}

// diffLines returns the edit script from a to b: the common prefix and
// suffix, and a longest-common-subsequence diff of the middle when it is
// small enough.
func diffLines(a, b []string) []lineOp {
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	var ops []lineOp
	for i := 0; i < pre; i++ {
		ops = append(ops, lineOp{' ', a[i], i + 1, i + 1})
	}
	am, bm := a[pre:len(a)-suf], b[pre:len(b)-suf]
	if (len(am)+1)*(len(bm)+1) > maxLCSCells {
		if mid, ok := myers(am, bm, pre); ok {
			ops = append(ops, mid...)
		} else {
			for i, l := range am {
				ops = append(ops, lineOp{'-', l, pre + i + 1, 0})
			}
			for i, l := range bm {
				ops = append(ops, lineOp{'+', l, 0, pre + i + 1})
			}
		}
	} else {
		// lcs[i][j] is the LCS length of am[i:] and bm[j:].
		n, m := len(am), len(bm)
		lcs := make([]int32, (n+1)*(m+1))
		at := func(i, j int) int32 { return lcs[i*(m+1)+j] }
		for i := n - 1; i >= 0; i-- {
			for j := m - 1; j >= 0; j-- {
				if am[i] == bm[j] {
					lcs[i*(m+1)+j] = at(i+1, j+1) + 1
				} else {
					lcs[i*(m+1)+j] = max(at(i+1, j), at(i, j+1))
				}
			}
		}
		i, j := 0, 0
		for i < n || j < m {
			switch {
			case i < n && j < m && am[i] == bm[j]:
				ops = append(ops, lineOp{' ', am[i], pre + i + 1, pre + j + 1})
				i, j = i+1, j+1
			case i < n && (j == m || at(i+1, j) >= at(i, j+1)):
				ops = append(ops, lineOp{'-', am[i], pre + i + 1, 0})
				i++
			default:
				ops = append(ops, lineOp{'+', bm[j], 0, pre + j + 1})
				j++
			}
		}
	}
	for k := 0; k < suf; k++ {
		ops = append(ops, lineOp{' ', a[len(a)-suf+k], len(a) - suf + k + 1, len(b) - suf + k + 1})
	}
	return ops
}

// maxMyersEdits bounds the edits myers looks for: its trace grows with
// their square.
const maxMyersEdits = 1024

// myers returns the edit script from a to b (line numbers offset by off)
// by Myers' O((N+M)D) algorithm, for bodies too long for the LCS table
// that differ in at most maxMyersEdits lines; ok is false beyond that.
func myers(a, b []string, off int) (ops []lineOp, ok bool) {
	n, m := len(a), len(b)
	// v[k] is the furthest x on diagonal k (k = x - y), at index k+vOff.
	vOff := maxMyersEdits + 1
	v := make([]int32, 2*vOff+1)
	// trace[d] holds v[-d-1 .. d+1] as it was before step d.
	var trace [][]int32
	for d := 0; d <= maxMyersEdits; d++ {
		trace = append(trace, slices.Clone(v[vOff-d-1:vOff+d+2]))
		for k := -d; k <= d; k += 2 {
			var x int
			if k == -d || (k != d && v[vOff+k-1] < v[vOff+k+1]) {
				x = int(v[vOff+k+1]) // down: an insertion
			} else {
				x = int(v[vOff+k-1]) + 1 // right: a deletion
			}
			y := x - k
			for x < n && y < m && a[x] == b[y] {
				x, y = x+1, y+1
			}
			v[vOff+k] = int32(x)
			if x >= n && y >= m {
				return myersBacktrack(a, b, off, trace), true
			}
		}
	}
	return nil, false
}

func myersBacktrack(a, b []string, off int, trace [][]int32) []lineOp {
	var rev []lineOp
	x, y := len(a), len(b)
	for d := len(trace) - 1; d >= 0; d-- {
		v := trace[d]
		at := func(k int) int { return int(v[k+d+1]) }
		k := x - y
		var prevK int
		if k == -d || (k != d && at(k-1) < at(k+1)) {
			prevK = k + 1
		} else {
			prevK = k - 1
		}
		prevX := at(prevK)
		prevY := prevX - prevK
		if d == 0 {
			prevX, prevY = 0, 0
		}
		for x > prevX && y > prevY {
			rev = append(rev, lineOp{' ', a[x-1], off + x, off + y})
			x, y = x-1, y-1
		}
		if d > 0 {
			if x == prevX {
				rev = append(rev, lineOp{'+', b[y-1], 0, off + y})
				y--
			} else {
				rev = append(rev, lineOp{'-', a[x-1], off + x, 0})
				x--
			}
		}
	}
	slices.Reverse(rev)
	return rev
}
