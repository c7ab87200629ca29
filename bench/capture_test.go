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
