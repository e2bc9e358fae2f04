package db

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// TestEveryConnectionPlansStably: both pools' connections open with the
// planner's stability guarantee on, so a cached statement is not compiled
// again for each new value bound to it.
func TestEveryConnectionPlansStably(t *testing.T) {
	before := stablePlanConnections()
	d, _ := newTestDB(t)
	ctx := context.Background()
	var n int
	if err := d.read.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if _, err := d.write.ExecContext(ctx, `UPDATE audit_head SET last_id = last_id WHERE singleton = 1`); err != nil {
		t.Fatal(err)
	}
	// The writer and at least one reader (opened by the migrations and the
	// query above).
	if got := stablePlanConnections() - before; got < 2 {
		t.Fatalf("%d connections opened with stable plans, want at least 2", got)
	}
}

// TestMallocArenasLimited: on glibc the allocator takes the arena limit
// that keeps SQLite's freed memory from spreading over an arena per thread.
func TestMallocArenasLimited(t *testing.T) {
	if !glibc() {
		t.Skip("the arena limit is a glibc setting")
	}
	if !limitMallocArenas() {
		t.Fatal("glibc refused the malloc arena limit")
	}
}

// TestReturnCMemoryGivesFreeMemoryBack: memory freed in the middle of the C
// allocator's heap, which glibc keeps for itself, goes back to the system
// within a few checks of returnCMemory.
func TestReturnCMemoryGivesFreeMemoryBack(t *testing.T) {
	if mallocFree() < 0 {
		t.Skip("the C allocator cannot say what it holds free here")
	}
	anon := func() int64 {
		b, err := os.ReadFile("/proc/self/status")
		if err != nil {
			t.Skip("no /proc/self/status")
		}
		for line := range strings.Lines(string(b)) {
			if rest, ok := strings.CutPrefix(line, "RssAnon:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
				return kb << 10
			}
		}
		t.Skip("no RssAnon")
		return 0
	}
	// 16 MB in small blocks, each page written so that it is resident;
	// then all freed but the last block, which keeps the arena's top in
	// use, so that glibc cannot give the rest back on its own.
	const n, size = 4096, 4096
	blocks := make([]unsafe.Pointer, 0, n)
	for range n {
		p := cAlloc(size)
		unsafe.Slice((*byte)(p), size)[0] = 1
		blocks = append(blocks, p)
	}
	for _, p := range blocks[:n-1] {
		cFree(p)
	}
	defer cFree(blocks[n-1])
	held := anon()

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { returnCMemory(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(5 * cMemoryCheckEvery)
	for anon() > held-8<<20 {
		if time.Now().After(deadline) {
			t.Fatalf("RSS (anonymous) %d MB after freeing 16 MB, still %d MB after %v", held>>20, anon()>>20, 5*cMemoryCheckEvery)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
