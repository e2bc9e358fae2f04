package bench

import (
	"fmt"
	"io"
	"os"
	"syscall"
	"time"
	"unsafe"
)

// Every measured phase starts with the database file in the OS page cache.
//
// This machine's host takes back page cache that has not been touched for
// a while: with 23 GB free, the file of a 1.4 GB fixture was partly read
// from disk again a few minutes after it was written. Which tables were
// still cached when a phase began then depended on which phases ran
// before it: 1,000 bulk approvals took 250–270 ms when they ran right
// after the fixture, 450–510 ms after the page phase (perf: readahead and
// io_schedule under pread), and 280 ms after the page phase with the file
// read back first. A server with this much memory keeps a 600 MB database
// cached; the figures are about Paydesk's work, not the host's reclaim, so
// each phase starts warm and the report says how much the host had taken.

// cacheState is the database file's residence in the page cache at the
// start of one phase.
type cacheState struct {
	phase    string
	resident float64 // share of the file's pages cached before warming
	size     int64
	took     time.Duration
}

// warmFile reports what share of path's pages the page cache holds, then
// reads the file through it (in 1 MiB pieces: the reads add nothing to this
// process's RSS) so that all of it is.
func warmFile(path string) (cacheState, error) {
	f, err := os.Open(path)
	if err != nil {
		return cacheState{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return cacheState{}, err
	}
	st := cacheState{size: fi.Size()}
	if st.size == 0 {
		return st, nil
	}
	if st.resident, err = residentShare(f, st.size); err != nil {
		return st, err
	}
	t0 := time.Now()
	// Wrapped so that CopyBuffer uses this 1 MiB buffer rather than the
	// file's WriteTo and io.Discard's 8 KiB reads: fewer syscalls for 600 MB.
	if _, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{f}, make([]byte, 1<<20)); err != nil {
		return st, fmt.Errorf("read %s: %w", path, err)
	}
	st.took = time.Since(t0)
	return st, nil
}

// residentShare maps f without touching it and asks the kernel which of
// its pages are cached (mincore).
func residentShare(f *os.File, size int64) (float64, error) {
	m, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return 0, fmt.Errorf("mmap: %w", err)
	}
	defer syscall.Munmap(m)
	page := int64(os.Getpagesize())
	vec := make([]byte, (size+page-1)/page)
	if _, _, errno := syscall.Syscall(syscall.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		return 0, fmt.Errorf("mincore: %w", errno)
	}
	n := 0
	for _, v := range vec {
		n += int(v & 1)
	}
	return float64(n) / float64(len(vec)), nil
}
