package limify

// #include <limify/limify.h>
import "C"

import (
	"sync"
	"sync/atomic"
	"unsafe"
)

// idCache turns the rule and plan ids of decisions into Go strings without
// allocating one per decision: ids are few (bounded by the configuration),
// so each is converted once and then found again. Rule ids and plan ids
// have a table each, so the last-hit slot of each mostly answers alone.
type idCache struct {
	rules, plans idTable
}

type idTable struct {
	last atomic.Pointer[string]            // the last id found: one compare, no hashing
	m    atomic.Pointer[map[string]string] // every id seen, copied on write
	mu   sync.Mutex
}

// maxCachedIDs bounds a table; past it ids are converted per call.
const maxCachedIDs = 4096

func (t *idTable) get(id *[C.LIMIFY_ID_MAX + 1]C.char) string {
	b := unsafe.Slice((*byte)(unsafe.Pointer(&id[0])), len(id))
	n := 0
	for n < len(b) && b[n] != 0 {
		n++
	}
	if n == 0 {
		return ""
	}
	b = b[:n]
	if last := t.last.Load(); last != nil && *last == string(b) {
		return *last
	}
	if m := t.m.Load(); m != nil {
		if s, ok := (*m)[string(b)]; ok {
			t.last.Store(&s)
			return s
		}
	}
	s := string(b)
	t.mu.Lock()
	defer t.mu.Unlock()
	old := t.m.Load()
	if old != nil && len(*old) >= maxCachedIDs {
		return s
	}
	next := make(map[string]string, 1+lenOf(old))
	if old != nil {
		for k, v := range *old {
			next[k] = v
		}
	}
	next[s] = s
	t.m.Store(&next)
	t.last.Store(&s)
	return s
}

func lenOf(m *map[string]string) int {
	if m == nil {
		return 0
	}
	return len(*m)
}
