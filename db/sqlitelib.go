package db

// What Paydesk sets in the SQLite library that go-sqlite3 compiles into this
// binary, and in the C allocator it uses, for the whole process.

/*
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

// Declared rather than included: the SQLite that runs is the one
// github.com/mattn/go-sqlite3 compiles into this binary, and these are its
// symbols.
typedef struct sqlite3 sqlite3;
extern int sqlite3_db_config(sqlite3 *, int, ...);
extern int sqlite3_auto_extension(void (*)(void));
extern long long sqlite3_memory_used(void);

#define PAYDESK_DBCONFIG_ENABLE_QPSG 1007

static int paydesk_stable_connections = 0;

static int paydesk_stable_plans(sqlite3 *db, char **err, const void *api) {
	int on = 0;
	int rc = sqlite3_db_config(db, PAYDESK_DBCONFIG_ENABLE_QPSG, 1, &on);
	if (rc == 0 && on == 1) {
		__atomic_add_fetch(&paydesk_stable_connections, 1, __ATOMIC_RELAXED);
	}
	return rc;
}

static int paydesk_register_stable_plans(void) {
	return sqlite3_auto_extension((void (*)(void))paydesk_stable_plans);
}

static int paydesk_stable_count(void) {
	return __atomic_load_n(&paydesk_stable_connections, __ATOMIC_RELAXED);
}

// 1 when the allocator took the limit, 0 where there is no such setting.
static int paydesk_limit_arenas(int n) {
#if defined(__GLIBC__) && defined(M_ARENA_MAX)
	return mallopt(M_ARENA_MAX, n);
#else
	return 0;
#endif
}

// What the C allocator holds free in all its arenas, in bytes; -1 where
// it cannot say.
static long long paydesk_malloc_free(void) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
	struct mallinfo2 mi = mallinfo2();
	return (long long)mi.fordblks;
#else
	return -1;
#endif
}

static void paydesk_malloc_trim(void) {
#ifdef __GLIBC__
	malloc_trim(0);
#endif
}

static int paydesk_glibc(void) {
#ifdef __GLIBC__
	return 1;
#else
	return 0;
#endif
}
*/
import "C"

import (
	"context"
	"fmt"
	"time"
	"unsafe"
)

// useStablePlans turns on SQLite's query planner stability guarantee for
// every connection opened from now on, in this process.
//
// Without it SQLite marks a statement to be compiled again whenever a new
// value is bound to a parameter that could have changed its plan: a
// LIMIT ?, a LIKE ?, or any "col = ?" compared while the planner weighs a
// partial index (which every join does). The statement cache then holds
// statements that re-parse on nearly every run: a payout read by id with
// its maker's name took 55 µs, 7 µs with stable plans. Our plans are
// fixed by the indexes the plan test checks, not by the values bound.
//
// SQLite keeps the registration process-wide and ignores a repeat, so
// each Open may call it.
func useStablePlans() error {
	if rc := C.paydesk_register_stable_plans(); rc != 0 {
		return fmt.Errorf("db: stable query plans: sqlite error %d", int(rc))
	}
	return nil
}

// stablePlanConnections is how many connections this process opened with
// the stability guarantee on (for tests).
func stablePlanConnections() int { return int(C.paydesk_stable_count()) }

// SQLiteMemory is what SQLite itself has allocated in this process, in
// bytes: every connection's page cache, prepared statements and schema.
// It is memory outside the Go heap, so the Go memory limit does not see it.
func SQLiteMemory() int64 { return int64(C.sqlite3_memory_used()) }

// mallocArenas caps glibc's malloc arenas (limitMallocArenas).
const mallocArenas = 2

// limitMallocArenas keeps the C allocator to mallocArenas arenas. glibc
// gives each thread that finds the others busy an arena of its own, up to
// eight per core, and each keeps the memory freed into it. SQLite's
// allocations come from whichever thread Go runs the call on, so under
// load they spread over every arena: at the end of the bench's bulk phase
// the anonymous memory that is neither Go's nor SQLite's went from about
// 22 MB to 12 MB, at the same speed. Elsewhere than glibc this does
// nothing. It reports whether the allocator took the
// limit.
func limitMallocArenas() bool { return C.paydesk_limit_arenas(mallocArenas) == 1 }

// glibc reports whether the C library is glibc (for tests).
func glibc() bool { return C.paydesk_glibc() == 1 }

// Returning the C allocator's free memory (returnCMemory).
const (
	cMemoryCheckEvery = time.Second
	cMemoryTrimAbove  = 4 << 20
	cMemoryMoved      = 1 << 20
)

// mallocFree is what the C allocator holds free, in bytes; -1 where it
// cannot say (not glibc, or older than 2.33).
func mallocFree() int64 { return int64(C.paydesk_malloc_free()) }

// returnCMemory gives the C allocator's free memory back to the system
// once a second when it holds more than cMemoryTrimAbove free, until ctx
// ends. glibc keeps what SQLite frees for reuse, and it frees only the top
// of an arena on its own: after the bench's background dispatch (1,000
// payouts, reads from many threads) 6 MB of the process's RSS was such
// free memory, and it stayed until the end. Go's part has its soft limit
// and the scavenger; this is the same for C's part. A trim took 0.05 to
// 1.1 ms in the bench and holds the allocator meanwhile, so a SQLite call
// that needs memory then may wait that long, at most once a second.
func returnCMemory(ctx context.Context) {
	if mallocFree() < 0 {
		return
	}
	t := time.NewTicker(cMemoryCheckEvery)
	defer t.Stop()
	// A trim leaves the chunks it returned counted as free, so what is
	// free after a trim is the mark: trim again only when that moved.
	var trimmedAt int64
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if free := mallocFree(); free > cMemoryTrimAbove && max(free-trimmedAt, trimmedAt-free) > cMemoryMoved {
			C.paydesk_malloc_trim()
			trimmedAt = mallocFree()
		}
	}
}

// cAlloc and cFree reach the C allocator (for tests: cgo is not allowed in
// test files).
func cAlloc(n int) unsafe.Pointer { return C.malloc(C.size_t(n)) }
func cFree(p unsafe.Pointer)      { C.free(p) }
