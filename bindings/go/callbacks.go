package limify

// #include "shim.h"
import "C"

import (
	"log/slog"
	"runtime/cgo"
	"strings"
	"sync/atomic"
	"unsafe"
)

// Operation says what produced a decision passed to Hooks.OnDecision.
type Operation int32

const (
	OperationCheck    Operation = C.LIMIFY_OPERATION_CHECK
	OperationPeek     Operation = C.LIMIFY_OPERATION_PEEK
	OperationCheckKey Operation = C.LIMIFY_OPERATION_CHECK_KEY
)

// Hooks observe an engine. They run synchronously on the goroutine that
// made the call, from many goroutines at once, so they must be quick and
// safe for concurrent use. A hook cannot change a decision; a panic in one
// is recovered and logged. Hooks must not call SetHooks, SetPlanProvider,
// Reload or Close on the same engine.
type Hooks struct {
	// OnDecision sees every decision; req is nil for OperationCheckKey.
	OnDecision func(op Operation, req *Request, d Decision)
	// OnError sees every error a deciding call meets: storage errors the
	// failure policy hid (the decision is Degraded) and errors calls return.
	OnError func(err error)
}

// PlanProvider chooses the plan of a request that names none, for a rule
// that defines plans; "" means no plan (the configuration's plan map and the
// rule's default then apply). Called from many goroutines at once.
type PlanProvider func(req Request, ruleID string) string

// callbacks is what the C engine's ctx pointer leads to: one per engine,
// created when the first hook or provider is set, freed by Close. The Go
// functions are swapped atomically; the C side only learns whether each
// kind is present (so an engine without hooks never calls into Go).
type callbacks struct {
	hooks    atomic.Pointer[Hooks]
	provider atomic.Pointer[PlanProvider]
	ids      *idCache
}

func (e *Engine) callbacksLocked() *callbacks {
	if e.cb == nil {
		e.cb = &callbacks{ids: e.ids}
		e.cbH = cgo.NewHandle(e.cb)
	}
	return e.cb
}

// SetHooks installs h (a zero Hooks removes them). When it returns, no call
// to the previous hooks is running or will start.
func (e *Engine) SetHooks(h Hooks) error {
	if !e.enter() {
		return ErrClosed
	}
	defer e.exit()
	e.cbMu.Lock()
	defer e.cbMu.Unlock()
	cb := e.callbacksLocked()
	if h.OnDecision == nil && h.OnError == nil {
		cb.hooks.Store(nil)
	} else {
		cb.hooks.Store(&h)
	}
	var cerr C.limify_error
	st := C.go_set_hooks(e.handle, C.uintptr_t(e.cbH), cbool(h.OnDecision != nil),
		cbool(h.OnError != nil), &cerr)
	if st != C.LIMIFY_OK {
		return fromC("SetHooks", st, &cerr)
	}
	return nil
}

// SetPlanProvider installs p (nil removes it). When it returns, no call to
// the previous provider is running or will start.
func (e *Engine) SetPlanProvider(p PlanProvider) error {
	if !e.enter() {
		return ErrClosed
	}
	defer e.exit()
	e.cbMu.Lock()
	defer e.cbMu.Unlock()
	cb := e.callbacksLocked()
	handle := C.uintptr_t(0)
	if p != nil {
		cb.provider.Store(&p)
		handle = C.uintptr_t(e.cbH)
	} else {
		cb.provider.Store(nil)
	}
	var cerr C.limify_error
	if st := C.go_set_plan_provider(e.handle, handle, &cerr); st != C.LIMIFY_OK {
		return fromC("SetPlanProvider", st, &cerr)
	}
	return nil
}

func goString(p *C.char) string {
	if p == nil {
		return ""
	}
	return C.GoString(p)
}

func requestFromC(r *C.limify_request) Request {
	cost := int64(r.cost)
	if cost == 0 {
		cost = 1
	}
	return Request{
		Method:   goString(r.method),
		Path:     goString(r.path),
		UserID:   goString(r.user_id),
		OrgID:    goString(r.org_id),
		APIKey:   goString(r.api_key),
		ClientIP: goString(r.client_ip),
		Plan:     goString(r.plan),
		Cost:     cost,
	}
}

// recovered keeps a panic in application code from unwinding into C.
func recovered(what string) {
	if r := recover(); r != nil {
		slog.Error("limify: "+what+" panicked (ignored)", "panic", r)
	}
}

//export goOnDecision
func goOnDecision(handle C.uintptr_t, op C.int32_t, req *C.limify_request, dec *C.limify_decision) {
	defer recovered("on_decision hook")
	cb := cgo.Handle(handle).Value().(*callbacks)
	h := cb.hooks.Load()
	if h == nil || h.OnDecision == nil {
		return
	}
	var r *Request
	if req != nil {
		gr := requestFromC(req)
		r = &gr
	}
	h.OnDecision(Operation(op), r, decisionFromC(dec, cb.ids))
}

//export goOnError
func goOnError(handle C.uintptr_t, e *C.limify_error) {
	defer recovered("on_error hook")
	cb := cgo.Handle(handle).Value().(*callbacks)
	h := cb.hooks.Load()
	if h == nil || h.OnError == nil {
		return
	}
	h.OnError(&Error{Code: Status(e.code), Op: "hook", Message: C.GoString(&e.message[0])})
}

//export goPlanProvider
func goPlanProvider(handle C.uintptr_t, req *C.limify_request, rule *C.char, out *C.char) (found C.int32_t) {
	defer recovered("plan provider")
	cb := cgo.Handle(handle).Value().(*callbacks)
	p := cb.provider.Load()
	if p == nil {
		return 0
	}
	plan := (*p)(requestFromC(req), C.GoString(rule))
	if plan == "" {
		return 0
	}
	if len(plan) > C.LIMIFY_ID_MAX || strings.IndexByte(plan, 0) >= 0 {
		slog.Error("limify: the plan provider returned an invalid plan id (no plan used)", "plan", plan)
		return 0
	}
	dst := unsafe.Slice((*byte)(unsafe.Pointer(out)), C.LIMIFY_ID_MAX+1)
	copy(dst, plan)
	dst[len(plan)] = 0
	return 1
}
