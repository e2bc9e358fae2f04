package db

/*
// sqlite3_stmt_status is SQLite's own, compiled into the binary by
// go-sqlite3; declared here rather than through its header, which is not
// on cgo's include path.
typedef struct sqlite3_stmt sqlite3_stmt;
int sqlite3_stmt_status(sqlite3_stmt*, int op, int resetFlg);
*/
import "C"

import (
	"database/sql/driver"
	"reflect"
)

// sqliteVMSteps is SQLITE_STMTSTATUS_VM_STEP.
const sqliteVMSteps = 4

// vmSteps returns how many virtual-machine steps SQLite took for the rows'
// statement since it was last asked, and resets the count; -1 when it
// cannot tell. The step count is how much work a statement did, the same on
// a fast machine and a slow one: the plan test bounds it, the bench report
// prints it. It reads go-sqlite3's unexported statement handle (SQLiteRows.s
// .s) by reflection, so it serves tracing only.
func vmSteps(rows driver.Rows) int {
	v := reflect.ValueOf(rows)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return -1
	}
	stmt := v.Elem().FieldByName("s")
	if !stmt.IsValid() || stmt.Kind() != reflect.Pointer || stmt.IsNil() {
		return -1
	}
	handle := stmt.Elem().FieldByName("s")
	if !handle.IsValid() || handle.Kind() != reflect.Pointer || handle.IsNil() {
		return -1
	}
	p := (*C.sqlite3_stmt)(handle.UnsafePointer())
	return int(C.sqlite3_stmt_status(p, sqliteVMSteps, 1))
}
