package replay

import (
	"fmt"
	"strings"
)

// maxLCSCells bounds the line-diff table; beyond it the differing middle
// is shown as removed and added whole.
const maxLCSCells = 4 << 20

// contextLines is how many unchanged lines surround each hunk.
const contextLines = 3

type lineOp struct {
	kind byte // ' ', '-', '+'
	text string
	a, b int // 1-based line numbers in old and new (0 when absent)
}

// unified returns a line diff of a and b in unified format (hunks only,
// without file headers).
func unified(a, b string) string {
	al, bl := splitLines(a), splitLines(b)
	ops := diffLines(al, bl)
	var out strings.Builder
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
		fmt.Fprintf(&out, "@@ -%d,%d +%d,%d @@\n", aStart, aLen, bStart, bLen)
		for _, op := range ops[start : end+1] {
			out.WriteByte(op.kind)
			out.WriteString(op.text)
			out.WriteByte('\n')
		}
		i = end + 1
	}
	return out.String()
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	lines := strings.Split(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
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
		for i, l := range am {
			ops = append(ops, lineOp{'-', l, pre + i + 1, 0})
		}
		for i, l := range bm {
			ops = append(ops, lineOp{'+', l, 0, pre + i + 1})
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
