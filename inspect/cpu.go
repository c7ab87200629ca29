package inspect

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
)

// cpuMeter tells how busy the machine's CPUs were between two readings of
// /proc/stat (Linux). Where there is no such file it knows nothing.
type cpuMeter struct {
	path        string // /proc/stat; a test's file
	total, idle uint64 // at the last reading
}

// idleShare is the share of the machine's CPU time that was idle since the
// last call; ok is false on the first call and where it cannot be told.
func (m *cpuMeter) idleShare() (share float64, ok bool) {
	b, err := os.ReadFile(m.path)
	if err != nil {
		return 0, false
	}
	total, idle, ok := parseCPUStat(b)
	if !ok {
		return 0, false
	}
	dt, di := total-m.total, idle-m.idle
	known := m.total > 0 && total > m.total && idle >= m.idle
	m.total, m.idle = total, idle
	if !known {
		return 0, false
	}
	return float64(di) / float64(dt), true
}

// parseCPUStat reads the machine-wide "cpu" line of /proc/stat: the sum of
// its times, and of idle and iowait (time a CPU had nothing to run).
func parseCPUStat(b []byte) (total, idle uint64, ok bool) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := bytes.Fields(sc.Bytes())
		if len(f) < 5 || string(f[0]) != "cpu" {
			continue
		}
		// user nice system idle iowait irq softirq steal guest guest_nice;
		// guest time is counted in user time already.
		for i, v := range f[1:min(len(f), 9)] {
			n, err := strconv.ParseUint(string(v), 10, 64)
			if err != nil {
				return 0, 0, false
			}
			total += n
			if i == 3 || i == 4 {
				idle += n
			}
		}
		return total, idle, total > 0
	}
	return 0, 0, false
}
