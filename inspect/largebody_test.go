package inspect

import "testing"

func TestLargeBodyPlacesFor(t *testing.T) {
	for _, tc := range []struct {
		limit int64
		want  int
	}{
		{0, 1}, {64 << 10, 1}, {10 << 20, 1}, {16 << 20, 1}, {16<<20 + 1, 2},
		{100 << 20, 7}, {256 << 20, 16}, {1 << 30, 16},
	} {
		if got := LargeBodyPlacesFor(tc.limit); got != tc.want {
			t.Errorf("LargeBodyPlacesFor(%d) = %d, want %d", tc.limit, got, tc.want)
		}
	}
}
