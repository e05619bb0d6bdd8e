//! Hooks and plan providers: Rust closures behind the C API's function
//! pointers. Every trampoline catches panics (none may unwind into C) and
//! marks its thread as inside a callback of its engine, so that installing
//! hooks from inside one fails at once instead of waiting for itself.

use std::cell::RefCell;
use std::ffi::{c_char, c_void, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};

use limify_sys as sys;

use crate::decision::Decision;
use crate::error::Error;
use crate::request::RequestView;

/// What produced a decision a hook sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    Check,
    Peek,
    CheckKey,
    /// An operation this binding does not know (a newer library).
    Other(i32),
}

impl Operation {
    fn from_raw(operation: i32) -> Operation {
        match operation {
            sys::LIMIFY_OPERATION_CHECK => Operation::Check,
            sys::LIMIFY_OPERATION_PEEK => Operation::Peek,
            sys::LIMIFY_OPERATION_CHECK_KEY => Operation::CheckKey,
            other => Operation::Other(other),
        }
    }
}

type DecisionFn = dyn Fn(Operation, Option<RequestView<'_>>, &Decision) + Send + Sync;
type ErrorFn = dyn Fn(&Error) + Send + Sync;
type PlanFn = dyn Fn(RequestView<'_>, &str, &mut [c_char; sys::LIMIFY_ID_MAX + 1]) -> bool + Send + Sync;

/// Observers of an engine's decisions and errors, called synchronously on
/// the thread that made the call, from many threads at once. A hook cannot
/// change a decision; a panic in one is caught and ignored (with
/// `panic = "abort"` it aborts, as every panic does).
#[derive(Default)]
pub struct Hooks {
    on_decision: Option<Box<DecisionFn>>,
    on_error: Option<Box<ErrorFn>>,
}

impl Hooks {
    pub fn new() -> Hooks {
        Hooks::default()
    }

    /// After every decision. The request is `None` for `check_key`.
    pub fn on_decision(
        mut self,
        f: impl Fn(Operation, Option<RequestView<'_>>, &Decision) + Send + Sync + 'static,
    ) -> Hooks {
        self.on_decision = Some(Box::new(f));
        self
    }

    /// For every error a deciding call meets, including storage errors the
    /// failure policy hid (the decision is then degraded).
    pub fn on_error(mut self, f: impl Fn(&Error) + Send + Sync + 'static) -> Hooks {
        self.on_error = Some(Box::new(f));
        self
    }
}

impl std::fmt::Debug for Hooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hooks")
            .field("on_decision", &self.on_decision.is_some())
            .field("on_error", &self.on_error.is_some())
            .finish()
    }
}

thread_local! {
    /// The engines whose callbacks this thread is running, innermost last.
    static INSIDE: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

/// True when this thread is running a hook or plan provider of `engine`.
pub(crate) fn inside_callback_of(engine: *const sys::limify_engine) -> bool {
    INSIDE.with(|inside| inside.borrow().contains(&(engine as usize)))
}

/// Runs `f` marked as a callback of `engine`, catching any panic.
fn guarded<R>(engine: usize, on_panic: R, f: impl FnOnce() -> R) -> R {
    struct Leave;
    impl Drop for Leave {
        fn drop(&mut self) {
            INSIDE.with(|inside| inside.borrow_mut().pop());
        }
    }
    INSIDE.with(|inside| inside.borrow_mut().push(engine));
    let _leave = Leave;
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(on_panic)
}

/// What the C API's hooks `ctx` points to; owned by the engine while installed.
pub(crate) struct HooksCtx {
    engine: usize,
    hooks: Hooks,
}

impl HooksCtx {
    pub(crate) fn new(engine: *const sys::limify_engine, hooks: Hooks) -> Box<HooksCtx> {
        Box::new(HooksCtx { engine: engine as usize, hooks })
    }

    /// The C struct pointing at this context and the trampolines it needs.
    pub(crate) fn raw(&self) -> sys::limify_hooks {
        sys::limify_hooks {
            ctx: self as *const HooksCtx as *mut c_void,
            on_decision: self.hooks.on_decision.as_ref().map(|_| on_decision as sys::limify_on_decision_fn),
            on_error: self.hooks.on_error.as_ref().map(|_| on_error as sys::limify_on_error_fn),
            ..sys::limify_hooks::new()
        }
    }
}

unsafe extern "C" fn on_decision(
    ctx: *mut c_void,
    operation: i32,
    request: *const sys::limify_request,
    decision: *const sys::limify_decision,
) {
    // SAFETY: ctx is the HooksCtx installed with these hooks, alive until
    // limify_set_hooks has replaced them; the pointers are valid for the call.
    let ctx = unsafe { &*(ctx as *const HooksCtx) };
    guarded(ctx.engine, (), || {
        let (Some(f), Some(decision)) = (&ctx.hooks.on_decision, unsafe { decision.as_ref() }) else {
            return;
        };
        let request = unsafe { request.as_ref() }.map(RequestView::new);
        f(Operation::from_raw(operation), request, Decision::from_raw_ref(decision));
    })
}

unsafe extern "C" fn on_error(ctx: *mut c_void, error: *const sys::limify_error) {
    // SAFETY: as in on_decision.
    let ctx = unsafe { &*(ctx as *const HooksCtx) };
    guarded(ctx.engine, (), || {
        let (Some(f), Some(error)) = (&ctx.hooks.on_error, unsafe { error.as_ref() }) else {
            return;
        };
        f(&Error::from_c(error.code, error));
    })
}

/// What the plan provider's `ctx` points to; owned by the engine while installed.
pub(crate) struct PlanCtx {
    engine: usize,
    provider: Box<PlanFn>,
}

impl PlanCtx {
    pub(crate) fn new<F, P>(engine: *const sys::limify_engine, f: F) -> Box<PlanCtx>
    where
        F: Fn(RequestView<'_>, &str) -> Option<P> + Send + Sync + 'static,
        P: AsRef<str>,
    {
        let provider = move |request: RequestView<'_>, rule_id: &str, out: &mut [c_char; sys::LIMIFY_ID_MAX + 1]| {
            f(request, rule_id).is_some_and(|plan| write_plan(plan.as_ref(), out))
        };
        Box::new(PlanCtx { engine: engine as usize, provider: Box::new(provider) })
    }

    pub(crate) fn ctx(&self) -> *mut c_void {
        self as *const PlanCtx as *mut c_void
    }
}

/// Copies a plan id into the C buffer; an id the C API cannot carry (empty,
/// over LIMIFY_ID_MAX bytes, or holding a NUL) means "no plan".
fn write_plan(plan: &str, out: &mut [c_char; sys::LIMIFY_ID_MAX + 1]) -> bool {
    let bytes = plan.as_bytes();
    if bytes.is_empty() || bytes.len() > sys::LIMIFY_ID_MAX || bytes.contains(&0) {
        return false;
    }
    for (dst, &b) in out.iter_mut().zip(bytes) {
        *dst = b as c_char;
    }
    out[bytes.len()] = 0;
    true
}

pub(crate) unsafe extern "C" fn plan_provider(
    ctx: *mut c_void,
    request: *const sys::limify_request,
    rule_id: *const c_char,
    plan_out: *mut c_char,
) -> i32 {
    // SAFETY: ctx is the installed PlanCtx (alive until replaced); the engine
    // passes a valid request, rule id and a LIMIFY_ID_MAX + 1 byte buffer.
    let ctx = unsafe { &*(ctx as *const PlanCtx) };
    guarded(ctx.engine, 0, || {
        let (Some(request), false, false) = (unsafe { request.as_ref() }, rule_id.is_null(), plan_out.is_null()) else {
            return 0;
        };
        let rule_id = unsafe { CStr::from_ptr(rule_id) }.to_str().unwrap_or("");
        let out = unsafe { &mut *(plan_out as *mut [c_char; sys::LIMIFY_ID_MAX + 1]) };
        i32::from((ctx.provider)(RequestView::new(request), rule_id, out))
    })
}
