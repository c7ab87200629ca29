package main

import (
	"math"
	"sync/atomic"
	"testing"
)

func TestWatchProgress(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		answered int64
		want     int
	}{
		{"none", 0, 0},
		{"half", 500, 2},
		{"all at once", 1000, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var n atomic.Int64
			p := watchProgress(&n, 1000, func(string) {})
			n.Store(tt.answered)
			q := p.stop()
			if len(q) != tt.want {
				t.Fatalf("quarters = %v, want %d of them", q, tt.want)
			}
			for _, v := range q {
				if v <= 0 || math.IsInf(v, 0) || math.IsNaN(v) {
					t.Errorf("quarter rate %v, want a finite positive rate", v)
				}
			}
		})
	}
}

func TestParseStatTicks(t *testing.T) {
	for _, tc := range []struct {
		line string
		want int64
		bad  bool
	}{
		{"4242 (hooklab) S 1 4242 4242 0 -1 4194560 1234 0 0 0 150 37 0 0 20 0 9 0 100 0 0", 187, false},
		{"7 (a b) c)) R 1 7 7 0 -1 0 0 0 0 0 5 6 0 0 20 0 1 0 1 0 0", 11, false},
		{"7 (x R 1", 0, true},
		{"7 (x) R 1 2 3", 0, true},
		{"7 (x) S 1 7 7 0 -1 0 0 0 0 0 nan 6 0", 0, true},
	} {
		got, err := parseStatTicks([]byte(tc.line))
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("parseStatTicks(%q) = %d, %v; want %d (error: %v)", tc.line, got, err, tc.want, tc.bad)
		}
	}
}

func TestMedianInt(t *testing.T) {
	for _, tc := range []struct {
		in   []int64
		want int64
	}{{nil, 0}, {[]int64{5}, 5}, {[]int64{9, 1, 5}, 5}, {[]int64{4, 1, 3, 2}, 3}} {
		if got := medianInt(tc.in); got != tc.want {
			t.Errorf("medianInt(%v) = %d, want %d", tc.in, got, tc.want)
		}
	}
}
