package rules

import "testing"

func TestParseSize(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int64{
		"512": 512, "0": 0, "1KiB": 1024, "10MiB": 10 << 20, "1.5k": 1536, "2MB": 2e6, "1GiB": 1 << 30,
		" 64 kib ": 64 << 10, "2.01MB": 2010000, "0.1KB": 100, "+5": 5, "3B": 3, "1gb": 1e9, "9223372036854775807": 1<<63 - 1,
		"1TiB": 1 << 40, "2t": 2 << 40, "3TB": 3e12,
	} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "ten", "-1", "5XB", "KiB", "1.2.3MB", "1 KB or so", "9223372036854775807KiB", "1e30GB", "99999999999GiB"} {
		if v, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) = %d, want an error", bad, v)
		}
	}
}
