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
// so each is converted once and then found by a map lookup, which Go does
// without allocating for a []byte key.
type idCache struct {
	m  atomic.Pointer[map[string]string] // copy on write
	mu sync.Mutex
}

// maxCachedIDs bounds the cache; past it ids are converted per call.
const maxCachedIDs = 4096

func (c *idCache) get(id *[C.LIMIFY_ID_MAX + 1]C.char) string {
	b := unsafe.Slice((*byte)(unsafe.Pointer(&id[0])), len(id))
	n := 0
	for n < len(b) && b[n] != 0 {
		n++
	}
	if n == 0 {
		return ""
	}
	b = b[:n]
	if m := c.m.Load(); m != nil {
		if s, ok := (*m)[string(b)]; ok {
			return s
		}
	}
	s := string(b)
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.m.Load()
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
	c.m.Store(&next)
	return s
}

func lenOf(m *map[string]string) int {
	if m == nil {
		return 0
	}
	return len(*m)
}
