package bench

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// procStatusKB reads a "Vm…:  1234 kB" line of /proc/self/status.
func procStatusKB(field string) int64 { return procStatusKBOf("/proc/self/status", field) }

// procStatusKBOf reads a "Vm…:  1234 kB" line of a status file in /proc.
func procStatusKBOf(path, field string) int64 {
	f, err := os.Open(path)
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return -1
			}
			return n
		}
	}
	return -1
}

// peakRSSKB is VmHWM: the process's peak resident set since start or since
// the last resetPeakRSS.
func peakRSSKB() int64 { return procStatusKB("VmHWM") }

// rssKB is VmRSS now.
func rssKB() int64 { return procStatusKB("VmRSS") }

// resetPeakRSS sets VmHWM back to the current RSS (Linux ≥ 4.0, writing 5
// to clear_refs), so each phase reports its own peak. It reports whether
// the reset worked.
func resetPeakRSS() bool {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}
