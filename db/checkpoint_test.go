package db

import (
	"context"
	"encoding/binary"
	"os"
	"testing"
	"time"
)

// TestCheckpointsRunBesideTheWriter: a commit leaves its pages in the log
// (the writer never checkpoints), the background checkpoint copies them
// into the database file soon after, and a stream of large writes does not
// grow the log without bound.
func TestCheckpointsRunBesideTheWriter(t *testing.T) {
	d, _ := newTestDB(t)
	ctx := context.Background()
	var auto int
	if err := d.write.QueryRowContext(ctx, `PRAGMA wal_autocheckpoint`).Scan(&auto); err != nil {
		t.Fatal(err)
	}
	if auto != 0 {
		t.Fatalf("the writer checkpoints every %d pages inside its commits; want 0", auto)
	}
	if _, err := d.write.ExecContext(ctx, `CREATE TABLE bulk (id INTEGER PRIMARY KEY, pad BLOB NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	// Each transaction writes about 3,000 pages (12 MB), past the 1,000 at
	// which SQLite would checkpoint inside the commit; together they pass
	// walRestartPages.
	const perTx, rounds = 3000, 4
	for i := range rounds {
		if _, err := d.write.ExecContext(ctx, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
			INSERT INTO bulk (id, pad) SELECT ? + i, randomblob(4000) FROM n`, perTx, i*perTx); err != nil {
			t.Fatal(err)
		}
	}
	want := int64(rounds * perTx * 4000)
	deadline := time.Now().Add(20 * time.Second)
	for fileSizeOf(t, d.Path()) < want {
		if time.Now().After(deadline) {
			t.Fatalf("database file %d bytes after 20 s; the background checkpoint never copied the %d bytes written", fileSizeOf(t, d.Path()), want)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Past walRestartPages the log starts again at a write after a
	// checkpoint has copied it whole and found the writer free; writes
	// keep coming meanwhile.
	for i := 0; ; i++ {
		if _, err := d.write.ExecContext(ctx, `UPDATE bulk SET pad = x'00' WHERE id = ?`, i+1); err != nil {
			t.Fatal(err)
		}
		logPages := walFrames(t, d.Path())
		if logPages < walRestartPages {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the log still holds %d pages after %d large writes; want it restarted (under %d)", logPages, rounds, walRestartPages)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// walFrames is how many pages the log holds, read from the header of the
// log's shared index (mxFrame, in the machine's byte order), without
// touching the database the way a checkpoint pragma would.
func walFrames(t *testing.T, path string) int {
	t.Helper()
	shm, err := os.ReadFile(path + "-shm")
	if err != nil || len(shm) < 20 {
		t.Fatalf("read the log index: %v (%d bytes)", err, len(shm))
	}
	return int(binary.NativeEndian.Uint32(shm[16:20]))
}

func fileSizeOf(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}
