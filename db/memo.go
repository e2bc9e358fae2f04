package db

import "sync"

// versionMemo keeps the answers of a lookup every request makes (its
// session, its user) while the data version stays put: an equal version
// means nothing was written since, so the answer is still what the
// database holds. Any write empties it.
type versionMemo[K comparable, V any] struct {
	mu      sync.Mutex
	version uint64
	m       map[K]V
}

// memoLimit bounds a memo; past it, it starts again empty.
const memoLimit = 4096

func (m *versionMemo[K, V]) get(version uint64, k K) (V, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.version != version {
		var zero V
		return zero, false
	}
	v, ok := m.m[k]
	return v, ok
}

// put keeps v for k as read at version (taken before the read). An answer
// older than what the memo holds is dropped.
func (m *versionMemo[K, V]) put(version uint64, k K, v V) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case version < m.version:
		return
	case version > m.version || m.m == nil || len(m.m) >= memoLimit:
		m.version, m.m = version, map[K]V{}
	}
	m.m[k] = v
}
