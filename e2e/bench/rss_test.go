package bench

import (
	"bufio"
	"os"
	"runtime/metrics"
	"strconv"
	"strings"
	"time"

	"paydesk/db"
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

// phaseSampler samples memory every 5 ms through a phase. It keeps the
// peak of the Go heap that survived a collection (/gc/heap/live:bytes):
// what the soft memory limit must hold in that phase, unlike the heap in
// use at its end, which includes garbage. And it keeps what RSS was made
// of at its highest sample (VmHWM can only say how high it went). With a
// profile path, it also writes a heap profile each time the live peak
// grows by a MiB, so the last one written shows what the heap held at its
// peak.
type phaseSampler struct {
	stop    chan struct{}
	done    chan struct{}
	profile string
	// Written by run, read after done.
	livePeak uint64
	atPeak   memorySample
}

// memorySample is one look at the process's memory, in bytes.
type memorySample struct {
	rss, anon, goHeld, sqlite int64
}

// other is anonymous memory that is neither Go's nor SQLite's: the C
// allocator's own, threads' stacks.
func (m memorySample) other() int64 { return m.anon - m.goHeld - m.sqlite }

var sampledMetrics = []string{"/gc/heap/live:bytes", "/memory/classes/total:bytes", "/memory/classes/heap/released:bytes"}

func samplePhase(profile string) *phaseSampler {
	f := &phaseSampler{stop: make(chan struct{}), done: make(chan struct{}), profile: profile}
	go f.run()
	return f
}

func (f *phaseSampler) run() {
	defer close(f.done)
	sample := make([]metrics.Sample, len(sampledMetrics))
	for i, name := range sampledMetrics {
		sample[i].Name = name
	}
	page := int64(os.Getpagesize())
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	var profiled uint64
	for {
		metrics.Read(sample)
		if live := sample[0].Value.Uint64(); live > f.livePeak {
			f.livePeak = live
			if f.profile != "" && live >= profiled+1<<20 {
				profiled = live
				writeLastGCHeapProfile(f.profile)
			}
		}
		if resident, shared, ok := statm(); ok && resident*page > f.atPeak.rss {
			f.atPeak = memorySample{rss: resident * page, anon: (resident - shared) * page,
				goHeld: int64(sample[1].Value.Uint64() - sample[2].Value.Uint64()), sqlite: db.SQLiteMemory()}
		}
		select {
		case <-f.stop:
			return
		case <-tick.C:
		}
	}
}

// end stops sampling.
func (f *phaseSampler) end() {
	close(f.stop)
	<-f.done
}

// statm reads the resident and shared (file-backed) pages of this process.
func statm() (resident, shared int64, ok bool) {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, 0, false
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return 0, 0, false
	}
	resident, err1 := strconv.ParseInt(f[1], 10, 64)
	shared, err2 := strconv.ParseInt(f[2], 10, 64)
	return resident, shared, err1 == nil && err2 == nil
}
