package limify

/*
#cgo pkg-config: limify
#include <stdlib.h>
#include <string.h>
#include "shim.h"
*/
import "C"

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"runtime"
	"runtime/cgo"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// Engine is one limify_engine. It is safe for concurrent use: share one per
// process (or per configuration). Close frees it; a finalizer frees an
// engine that was never closed, as a safety net.
type Engine struct {
	handle *C.limify_engine

	// Calls in flight, plus closedBit once Close has begun: a call that sees
	// the bit backs out with ErrClosed, and Close frees the C engine only
	// when no call is left inside it.
	state atomic.Int64

	ids      *idCache // shared with cb, so a hook keeps no path to the Engine alive
	settings atomic.Pointer[settings]

	cbMu sync.Mutex // serialises SetHooks and SetPlanProvider
	cb   *callbacks // created by the first of them
	cbH  cgo.Handle // cb's handle, the ctx the C engine passes back
}

const closedBit = int64(1) << 62

// freedEngines counts the C engines freed (by Close or the finalizer), for
// the test that the finalizer really frees a forgotten engine.
var freedEngines atomic.Int64

// What the Go side reads from the configuration (the engine validates it).
type settings struct {
	FailureMode string `json:"failure_mode"`
	Identity    struct {
		Order []string `json:"order"`
	} `json:"identity"`
}

// DefaultIdentityOrder is the engine's identity order when the configuration
// names none.
var DefaultIdentityOrder = []string{"user_id", "org_id", "api_key", "client_ip"}

func parseSettings(config []byte) *settings {
	s := &settings{}
	_ = json.Unmarshal(config, s) // a bad config is reported by the engine
	if s.FailureMode == "" {
		s.FailureMode = "open"
	}
	if len(s.Identity.Order) == 0 {
		s.Identity.Order = append([]string(nil), DefaultIdentityOrder...)
	}
	return s
}

// Version is the version of the liblimify actually loaded ("0.1.0").
func Version() string { return C.GoString(C.limify_version()) }

// VersionNumber is the loaded library's MAJOR*1000000 + MINOR*1000 + PATCH.
func VersionNumber() int { return int(C.limify_version_number()) }

// New creates an engine from a JSON configuration (the README's
// configuration reference). A bad configuration is an ErrConfig whose
// message names the JSON path.
func New(configJSON string) (*Engine, error) {
	if strings.IndexByte(configJSON, 0) >= 0 {
		return nil, invalid("New", "the configuration contains a NUL byte")
	}
	text := C.CString(configJSON)
	defer C.free(unsafe.Pointer(text))
	var out *C.limify_engine
	var cerr C.limify_error
	if st := C.limify_engine_new(text, &out, &cerr); st != C.LIMIFY_OK {
		return nil, fromC("New", st, &cerr)
	}
	return adopt(out, parseSettings([]byte(configJSON))), nil
}

// NewFromFile creates an engine from a JSON configuration file.
func NewFromFile(path string) (*Engine, error) {
	if strings.IndexByte(path, 0) >= 0 {
		return nil, invalid("NewFromFile", "the path contains a NUL byte")
	}
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var out *C.limify_engine
	var cerr C.limify_error
	if st := C.limify_engine_new_from_file(cpath, &out, &cerr); st != C.LIMIFY_OK {
		return nil, fromC("NewFromFile", st, &cerr)
	}
	text, _ := os.ReadFile(path) // the engine has read it; only the Go settings come from here
	return adopt(out, parseSettings(text)), nil
}

func adopt(handle *C.limify_engine, s *settings) *Engine {
	e := &Engine{handle: handle, ids: &idCache{}}
	e.settings.Store(s)
	runtime.SetFinalizer(e, (*Engine).Close)
	return e
}

// enter registers a call in flight; false once the engine is closed.
func (e *Engine) enter() bool {
	if e == nil {
		return false
	}
	if e.state.Add(1)&closedBit != 0 {
		e.state.Add(-1)
		return false
	}
	return true
}

func (e *Engine) exit() { e.state.Add(-1) }

// Close frees the engine. Calls that are running finish first; calls made
// afterwards return ErrClosed. Closing twice is harmless. Close must not be
// called from a hook or a plan provider of the same engine.
func (e *Engine) Close() error {
	if e == nil {
		return nil
	}
	for {
		v := e.state.Load()
		if v&closedBit != 0 {
			return nil
		}
		if e.state.CompareAndSwap(v, v|closedBit) {
			break
		}
	}
	for e.state.Load() != closedBit {
		time.Sleep(20 * time.Microsecond)
	}
	C.limify_engine_free(e.handle)
	e.handle = nil
	freedEngines.Add(1)
	e.cbMu.Lock()
	if e.cb != nil {
		e.cbH.Delete()
		e.cb = nil
	}
	e.cbMu.Unlock()
	runtime.SetFinalizer(e, nil)
	return nil
}

// FailureMode is the configuration's failure_mode ("open" or "closed"), which
// the HTTP middleware also applies when a call fails.
func (e *Engine) FailureMode() string { return e.settings.Load().FailureMode }

// IdentityOrder is the configuration's identity.order.
func (e *Engine) IdentityOrder() []string {
	return append([]string(nil), e.settings.Load().Identity.Order...)
}

// Reload replaces the configuration atomically; checks in flight finish on
// the old one. On error the old configuration stays in force.
func (e *Engine) Reload(configJSON string) error {
	if strings.IndexByte(configJSON, 0) >= 0 {
		return invalid("Reload", "the configuration contains a NUL byte")
	}
	if !e.enter() {
		return ErrClosed
	}
	defer e.exit()
	text := C.CString(configJSON)
	defer C.free(unsafe.Pointer(text))
	var cerr C.limify_error
	if st := C.limify_engine_reload(e.handle, text, &cerr); st != C.LIMIFY_OK {
		return fromC("Reload", st, &cerr)
	}
	e.settings.Store(parseSettings([]byte(configJSON)))
	return nil
}

// ReloadFromFile reloads from a JSON configuration file.
func (e *Engine) ReloadFromFile(path string) error {
	text, err := os.ReadFile(path)
	if err != nil {
		return &Error{Code: StatusNotFound, Op: "ReloadFromFile", Message: err.Error()}
	}
	return e.Reload(string(text))
}

// scratch is the per-call memory a check hands to C: the request's strings
// (each NUL-terminated) and the decision and error the library writes.
// Pooled, so a check allocates nothing on the Go heap either.
type scratch struct {
	dec    C.limify_decision
	err    C.limify_error
	buf    []byte
	fields int // how many fields buf holds
}

var scratchPool = sync.Pool{New: func() any {
	s := &scratch{buf: make([]byte, 0, 256)}
	s.dec.struct_size = C.uint32_t(unsafe.Sizeof(s.dec))
	return s
}}

// release returns s to the pool, unless one huge request grew its buffer:
// the pool would keep that memory for good.
func (s *scratch) release() {
	if cap(s.buf) <= 64<<10 {
		scratchPool.Put(s)
	}
}

// add appends a field and returns its offset, or -1 when it is absent.
func (s *scratch) add(v string) C.int32_t {
	if v == "" {
		return -1
	}
	s.fields++
	off := len(s.buf)
	s.buf = append(s.buf, v...)
	s.buf = append(s.buf, 0)
	return C.int32_t(off)
}

func badField(r *Request) string {
	fields := [...]struct{ name, v string }{
		{"Method", r.Method}, {"Path", r.Path}, {"UserID", r.UserID}, {"OrgID", r.OrgID},
		{"APIKey", r.APIKey}, {"ClientIP", r.ClientIP}, {"Plan", r.Plan},
	}
	for _, f := range fields {
		if strings.IndexByte(f.v, 0) >= 0 {
			return f.name
		}
	}
	return ""
}

func upperMethod(m string) string {
	for i := 0; i < len(m); i++ {
		if 'a' <= m[i] && m[i] <= 'z' {
			return strings.ToUpper(m)
		}
	}
	return m
}

var opNames = [...]string{C.GO_OP_CHECK: "Check", C.GO_OP_PEEK: "Peek", C.GO_OP_RESET: "Reset"}

func (e *Engine) decide(ctx context.Context, op C.int32_t, r *Request) (Decision, error) {
	if ctx != nil {
		if err := ctx.Err(); err != nil {
			return Decision{}, err
		}
	}
	s := scratchPool.Get().(*scratch)
	s.buf, s.fields = s.buf[:0], 0
	method, path := s.add(upperMethod(r.Method)), s.add(r.Path)
	user, org, key := s.add(r.UserID), s.add(r.OrgID), s.add(r.APIKey)
	ip, plan := s.add(r.ClientIP), s.add(r.Plan)
	// One NUL ends each present field; any other would silently cut one in C.
	if bytes.Count(s.buf, nul) != s.fields {
		s.release()
		return Decision{}, invalid(opNames[op], "Request.%s contains a NUL byte", badField(r))
	}
	s.buf = append(s.buf, 0) // never empty: &buf[0] must exist
	if !e.enter() {
		s.release()
		return Decision{}, ErrClosed
	}
	// No defer on this path: the call is the hot path of every binding user.
	st := C.go_decide(op, e.handle, (*C.char)(unsafe.Pointer(&s.buf[0])),
		method, path, user, org, key, ip, plan, C.int64_t(r.Cost), &s.dec, &s.err)
	e.exit()
	var d Decision
	var err error
	switch {
	case st != C.LIMIFY_OK:
		err = fromC(opNames[op], st, &s.err)
	case op != C.GO_OP_RESET:
		d = decisionFromC(&s.dec, e.ids)
	}
	s.release()
	return d, err
}

var nul = []byte{0}

// Check decides and consumes. A denial is a Decision with Allowed false, not
// an error. A storage failure is decided by the configured failure_mode and
// marked Degraded; an error means the call itself failed (see Error).
//
// The call runs to completion once started (the engine's storage timeouts
// bound it); ctx is checked before it starts.
func (e *Engine) Check(ctx context.Context, r Request) (Decision, error) {
	return e.decide(ctx, C.GO_OP_CHECK, &r)
}

// Peek decides without consuming anything.
func (e *Engine) Peek(ctx context.Context, r Request) (Decision, error) {
	return e.decide(ctx, C.GO_OP_PEEK, &r)
}

// Reset forgets the state of the request's identity under its rule (every plan).
func (e *Engine) Reset(ctx context.Context, r Request) error {
	_, err := e.decide(ctx, C.GO_OP_RESET, &r)
	return err
}

// CheckKey limits identity under the rule ruleID's own rate, for hosts
// without HTTP requests (cost 0 means 1). ErrNotFound for an unknown rule.
func (e *Engine) CheckKey(ctx context.Context, ruleID, identity string, cost int64) (Decision, error) {
	return e.key(ctx, "CheckKey", ruleID, identity, cost, true)
}

// ResetKey forgets what CheckKey keeps for identity under ruleID.
func (e *Engine) ResetKey(ctx context.Context, ruleID, identity string) error {
	_, err := e.key(ctx, "ResetKey", ruleID, identity, 0, false)
	return err
}

func (e *Engine) key(ctx context.Context, op, ruleID, identity string, cost int64, check bool) (Decision, error) {
	if ctx != nil {
		if err := ctx.Err(); err != nil {
			return Decision{}, err
		}
	}
	if ruleID == "" || identity == "" {
		return Decision{}, invalid(op, "the rule id and the identity must be non-empty")
	}
	if strings.IndexByte(ruleID, 0) >= 0 || strings.IndexByte(identity, 0) >= 0 {
		return Decision{}, invalid(op, "the rule id or the identity contains a NUL byte")
	}
	if !e.enter() {
		return Decision{}, ErrClosed
	}
	s := scratchPool.Get().(*scratch)
	s.buf, s.fields = s.buf[:0], 0
	r, id := s.add(ruleID), s.add(identity)
	base := unsafe.Pointer(&s.buf[0])
	rule, ident := (*C.char)(unsafe.Add(base, r)), (*C.char)(unsafe.Add(base, id))
	var st C.limify_status
	if check {
		st = C.limify_check_key(e.handle, rule, ident, C.int64_t(cost), &s.dec, &s.err)
	} else {
		st = C.limify_reset_key(e.handle, rule, ident, &s.err)
	}
	e.exit()
	var d Decision
	var err error
	switch {
	case st != C.LIMIFY_OK:
		err = fromC(op, st, &s.err)
	case check:
		d = decisionFromC(&s.dec, e.ids)
	}
	s.release()
	return d, err
}

// CheckBatch checks many requests at once (a remote storage sends them
// together). decisions[i] and errs[i] answer rs[i]; errs[i] is nil when
// request i was decided.
func (e *Engine) CheckBatch(ctx context.Context, rs []Request) (decisions []Decision, errs []error) {
	n := len(rs)
	decisions, errs, ok := startBatch(ctx, n)
	if !ok {
		return decisions, errs
	}
	for i := range rs {
		if f := badField(&rs[i]); f != "" {
			return failBatch(decisions, errs, invalid("CheckBatch", "request %d: Request.%s contains a NUL byte", i, f))
		}
	}
	if !e.enter() {
		return failBatch(decisions, errs, ErrClosed)
	}
	defer e.exit()

	// Everything C reads or writes lives in C memory: the requests hold pointers.
	size := 0
	for i := range rs {
		r := &rs[i]
		size += len(r.Method) + len(r.Path) + len(r.UserID) + len(r.OrgID) + len(r.APIKey) +
			len(r.ClientIP) + len(r.Plan) + 7
	}
	text := newCText(size)
	defer cFree(text.buf)
	reqs := cArray[C.limify_request](n)
	defer cFree(reqs)
	reqPtrs := cArray[*C.limify_request](n)
	defer cFree(reqPtrs)
	out := newBatchOut(n)
	defer out.free()
	for i := range rs {
		r := &rs[i]
		C.limify_request_init(&reqs[i])
		reqs[i].method = text.put(upperMethod(r.Method))
		reqs[i].path = text.put(r.Path)
		reqs[i].user_id = text.put(r.UserID)
		reqs[i].org_id = text.put(r.OrgID)
		reqs[i].api_key = text.put(r.APIKey)
		reqs[i].client_ip = text.put(r.ClientIP)
		reqs[i].plan = text.put(r.Plan)
		reqs[i].cost = C.int64_t(r.Cost)
		reqPtrs[i] = &reqs[i]
	}
	C.limify_check_batch(e.handle, &reqPtrs[0], C.size_t(n), &out.decPtrs[0], &out.statuses[0], &out.err)
	out.answer(e, "CheckBatch", "request", nil, decisions, errs)
	return decisions, errs
}

// CheckKeyBatch is CheckKey for many identities under the rule ruleID at
// once (a remote storage sends them together: on Redis, one round trip).
// identities[i] costs costs[i] (0 means 1); nil costs mean 1 each.
// decisions[i] and errs[i] answer identities[i]; errs[i] is nil when
// identity i was decided. An empty identity, or one with a NUL byte, fails
// alone with ErrInvalidArgument; an unknown rule fails each with ErrNotFound.
// An empty rule id, costs of another length than identities, a done ctx or a
// closed engine fail every item with the same error.
func (e *Engine) CheckKeyBatch(ctx context.Context, ruleID string, identities []string, costs []int64) (decisions []Decision, errs []error) {
	const op = "CheckKeyBatch"
	n := len(identities)
	decisions, errs, ok := startBatch(ctx, n)
	if !ok {
		return decisions, errs
	}
	switch {
	case ruleID == "":
		return failBatch(decisions, errs, invalid(op, "the rule id must be non-empty"))
	case strings.IndexByte(ruleID, 0) >= 0:
		return failBatch(decisions, errs, invalid(op, "the rule id contains a NUL byte"))
	case costs != nil && len(costs) != n:
		return failBatch(decisions, errs, invalid(op, "%d costs for %d identities", len(costs), n))
	}
	// Only the identities that can be decided go to C: C item k is identity at[k].
	at := make([]int, 0, n)
	size := len(ruleID) + 1
	for i, id := range identities {
		switch {
		case id == "":
			errs[i] = invalid(op, "identity %d: must be non-empty", i)
		case strings.IndexByte(id, 0) >= 0:
			errs[i] = invalid(op, "identity %d: contains a NUL byte", i)
		default:
			at = append(at, i)
			size += len(id) + 1
		}
	}
	m := len(at)
	if m == 0 {
		return decisions, errs
	}
	if !e.enter() {
		return failBatch(decisions, errs, ErrClosed)
	}
	defer e.exit()

	// The identities array holds pointers, so it and their text live in C memory.
	text := newCText(size)
	defer cFree(text.buf)
	rule := text.put(ruleID)
	idents := cArray[*C.char](m)
	defer cFree(idents)
	for k, i := range at {
		idents[k] = text.put(identities[i])
	}
	var ccosts *C.int64_t // NULL: 1 each
	if costs != nil {
		cs := cArray[C.int64_t](m)
		defer cFree(cs)
		for k, i := range at {
			cs[k] = C.int64_t(costs[i])
		}
		ccosts = &cs[0]
	}
	out := newBatchOut(m)
	defer out.free()
	C.limify_check_key_batch(e.handle, rule, &idents[0], C.size_t(m), ccosts,
		&out.decPtrs[0], &out.statuses[0], &out.err)
	out.answer(e, op, "identity", at, decisions, errs)
	return decisions, errs
}

// startBatch makes the answers of a batch of n items; ok is false when
// there is nothing to decide: no item, or ctx is done (every item then
// answers ctx's error).
func startBatch(ctx context.Context, n int) (decisions []Decision, errs []error, ok bool) {
	decisions, errs = make([]Decision, n), make([]error, n)
	if n == 0 {
		return decisions, errs, false
	}
	if ctx != nil {
		if err := ctx.Err(); err != nil {
			failBatch(decisions, errs, err)
			return decisions, errs, false
		}
	}
	return decisions, errs, true
}

// failBatch answers every item of a batch with err (the batch never ran).
func failBatch(decisions []Decision, errs []error, err error) ([]Decision, []error) {
	for i := range errs {
		errs[i] = err
	}
	return decisions, errs
}

// cArray is n zeroed Ts in C memory, for what a batch call reads or writes
// (n > 0; cFree frees it).
func cArray[T any](n int) []T {
	var t T
	return unsafe.Slice((*T)(C.calloc(C.size_t(n), C.size_t(unsafe.Sizeof(t)))), n)
}

func cFree[T any](s []T) { C.free(unsafe.Pointer(unsafe.SliceData(s))) }

// cText packs strings, each NUL-terminated, into one C buffer whose size
// (their lengths, plus one each) the caller counted.
type cText struct {
	buf []byte
	off int
}

func newCText(size int) cText { return cText{buf: cArray[byte](size)} }

// put copies v in and returns it as a C string (NULL for "").
func (t *cText) put(v string) *C.char {
	if v == "" {
		return nil
	}
	p := (*C.char)(unsafe.Pointer(&t.buf[t.off]))
	t.off += copy(t.buf[t.off:], v)
	t.buf[t.off] = 0
	t.off++
	return p
}

// batchOut is what a batch call writes: n decisions and the array of
// pointers to them it takes (both in C memory), n statuses, the error
// (n > 0).
type batchOut struct {
	decs     []C.limify_decision
	decPtrs  []*C.limify_decision
	statuses []C.limify_status
	err      C.limify_error
}

func newBatchOut(n int) *batchOut {
	b := &batchOut{
		decs:     cArray[C.limify_decision](n),
		decPtrs:  cArray[*C.limify_decision](n),
		statuses: cArray[C.limify_status](n),
	}
	C.limify_decision_init(&b.decs[0]) // one cgo call, then copies
	for k := range b.decs {
		b.decs[k] = b.decs[0]
		b.decPtrs[k] = &b.decs[k]
	}
	return b
}

func (b *batchOut) free() {
	cFree(b.decs)
	cFree(b.decPtrs)
	cFree(b.statuses)
}

// answer reads the batch back: C item k answers item at[k] (at nil: item k)
// with a Decision or an error naming the item ("identity 3: ..."), in the
// library's words for the first failure (the only one it explains) and by
// its status for the others.
func (b *batchOut) answer(e *Engine, op, noun string, at []int, decisions []Decision, errs []error) {
	explained := false
	for k, st := range b.statuses {
		i := k
		if at != nil {
			i = at[k]
		}
		if st == C.LIMIFY_OK {
			decisions[i] = decisionFromC(&b.decs[k], e.ids)
			continue
		}
		why := Status(st).String()
		if !explained {
			explained = true
			// b.err is "limify_check_batch: item K: <item K's own message>".
			if _, own, ok := strings.Cut(C.GoString(&b.err.message[0]), ": item "+strconv.Itoa(k)+": "); ok {
				why = own
			}
		}
		errs[i] = &Error{Code: Status(st), Op: op, Message: noun + " " + strconv.Itoa(i) + ": " + why}
	}
}

// StatsFormat selects the text Stats returns.
type StatsFormat int32

const (
	StatsJSON       StatsFormat = C.LIMIFY_STATS_JSON
	StatsPrometheus StatsFormat = C.LIMIFY_STATS_PROMETHEUS // text exposition format 0.0.4
)

// Stats returns the engine's metrics: decisions by rule, plan and outcome,
// storage errors, degraded decisions, a check latency histogram, the keys
// held and the storage's circuit breaker, as JSON or Prometheus text.
func (e *Engine) Stats(format StatsFormat) ([]byte, error) {
	if !e.enter() {
		return nil, ErrClosed
	}
	defer e.exit()
	return sizedText("Stats", func(buf *C.char, n C.size_t, needed *C.size_t, cerr *C.limify_error) C.limify_status {
		return C.limify_stats(e.handle, C.int32_t(format), buf, n, needed, cerr)
	})
}

// sizedText runs a size-then-fill call (limify_stats, limify_list_plugins);
// the text may grow between two calls, so it retries a few times.
func sizedText(op string, call func(*C.char, C.size_t, *C.size_t, *C.limify_error) C.limify_status) ([]byte, error) {
	var needed C.size_t
	var cerr C.limify_error
	size := C.size_t(4096)
	for try := 0; try < 8; try++ {
		buf := (*C.char)(C.malloc(size))
		st := call(buf, size, &needed, &cerr)
		if st == C.LIMIFY_OK {
			out := C.GoBytes(unsafe.Pointer(buf), C.int(C.strlen(buf)))
			C.free(unsafe.Pointer(buf))
			return out, nil
		}
		C.free(unsafe.Pointer(buf))
		if st != C.LIMIFY_BUFFER_TOO_SMALL {
			return nil, fromC(op, st, &cerr)
		}
		size = needed + 1024
	}
	return nil, &Error{Code: StatusInternal, Op: op, Message: "the text kept growing faster than it could be read"}
}

// Plugin describes one plugin a configuration would load.
type Plugin struct {
	Name       string   `json:"name"`
	Version    string   `json:"version"`
	ABI        string   `json:"abi"` // "major.minor" of the plugin ABI
	File       string   `json:"file"`
	Algorithms []string `json:"algorithms"`
	Storages   []string `json:"storages"`
}

// ListPlugins describes the plugins configJSON would load ("" for the
// default search path).
func ListPlugins(configJSON string) ([]Plugin, error) {
	var text *C.char
	if configJSON != "" {
		text = C.CString(configJSON)
		defer C.free(unsafe.Pointer(text))
	}
	raw, err := sizedText("ListPlugins", func(buf *C.char, n C.size_t, needed *C.size_t, cerr *C.limify_error) C.limify_status {
		return C.limify_list_plugins(text, buf, n, needed, cerr)
	})
	if err != nil {
		return nil, err
	}
	var out []Plugin
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, &Error{Code: StatusInternal, Op: "ListPlugins", Message: "unreadable plugin list: " + err.Error()}
	}
	return out, nil
}

// SetClock sets the manual clock (config "clock": "manual") to now, counted
// from the clock's zero, in whole microseconds. ErrFailedPrecondition unless
// the engine runs on the manual clock.
func (e *Engine) SetClock(now time.Duration) error {
	if !e.enter() {
		return ErrClosed
	}
	defer e.exit()
	var cerr C.limify_error
	if st := C.limify_clock_set(e.handle, C.int64_t(now/time.Microsecond), &cerr); st != C.LIMIFY_OK {
		return fromC("SetClock", st, &cerr)
	}
	return nil
}

// AdvanceClock moves the manual clock forward by d (whole microseconds).
func (e *Engine) AdvanceClock(d time.Duration) error {
	if !e.enter() {
		return ErrClosed
	}
	defer e.exit()
	var cerr C.limify_error
	if st := C.limify_clock_advance(e.handle, C.int64_t(d/time.Microsecond), &cerr); st != C.LIMIFY_OK {
		return fromC("AdvanceClock", st, &cerr)
	}
	return nil
}
