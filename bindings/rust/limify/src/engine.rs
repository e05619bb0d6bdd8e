//! `Engine`: one limify engine (`limify_engine*`), shared by any number of
//! threads, freed on drop.

use std::ffi::{c_char, CString};
use std::path::Path;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use limify_sys as sys;

use crate::c_strings::{with_c_strings, CStringBatch};
use crate::callbacks::{inside_callback_of, plan_provider, Hooks, HooksCtx, PlanCtx};
use crate::decision::Decision;
use crate::error::{check, Error, ErrorCode, Result};
use crate::request::{c_cost, Request, RequestView, FIELD_NAMES};

/// A rate-limiting engine built from a JSON configuration.
///
/// `Engine` is `Send + Sync`: share one (in an `Arc`) between every thread;
/// the C library needs no external lock. Dropping it frees the engine.
pub struct Engine {
    raw: NonNull<sys::limify_engine>,
    /// The closures the C API's hooks and plan provider point to, kept alive
    /// while installed (dropped after the engine is freed).
    callbacks: Mutex<Callbacks>,
    /// The configuration's `failure_mode` is "closed" (kept across reloads;
    /// the C API has no getter for it).
    fails_closed: AtomicBool,
}

#[derive(Default)]
struct Callbacks {
    hooks: Option<Box<HooksCtx>>,
    plan_provider: Option<Box<PlanCtx>>,
}

// SAFETY: limify_engine is thread-safe (limify.h: "one engine, any number of
// threads, no external lock"); the closures it calls are Send + Sync.
unsafe impl Send for Engine {}
unsafe impl Sync for Engine {}

/// Which text `Engine::stats` returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StatsFormat {
    /// JSON (described in the C API's documentation).
    Json,
    /// Prometheus text exposition format 0.0.4.
    Prometheus,
}

/// What the configuration says to do when the storage fails (`failure_mode`):
/// the engine applies it to storage outages itself; the tower middleware also
/// applies it when a check fails outright.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum FailureMode {
    /// Let requests through (the default).
    #[default]
    Open,
    /// Block them.
    Closed,
}

impl FailureMode {
    /// The `failure_mode` of a configuration the engine has accepted (so it
    /// is valid JSON, and the value, if present, is "open" or "closed").
    fn of_config(config_json: &str) -> FailureMode {
        let parsed: serde_json::Result<serde_json::Value> = serde_json::from_str(config_json);
        match parsed.ok().as_ref().and_then(|c| c.get("failure_mode")).and_then(|m| m.as_str()) {
            Some("closed") => FailureMode::Closed,
            _ => FailureMode::Open,
        }
    }
}

/// A caller-owned `limify_error` that is only read after a failure.
fn new_error() -> sys::limify_error {
    sys::limify_error::new()
}

fn c_string(text: &str, what: &str) -> Result<CString> {
    CString::new(text).map_err(|e| {
        Error::new(ErrorCode::InvalidArgument, format!("{what} contains a NUL byte at offset {}", e.nul_position()))
    })
}

/// A duration in the C API's int64 microseconds (sub-microsecond parts are
/// dropped: the clock counts whole microseconds).
fn micros(duration: Duration, what: &str) -> Result<i64> {
    i64::try_from(duration.as_micros()).map_err(|_| {
        Error::new(ErrorCode::InvalidArgument, format!("{what}: {duration:?} does not fit in i64 microseconds"))
    })
}

/// Runs a size-query-then-fill C call (limify_stats, limify_list_plugins)
/// until the text fits.
fn read_text(mut fill: impl FnMut(*mut c_char, usize, &mut usize, &mut sys::limify_error) -> i32) -> Result<String> {
    let mut buf: Vec<u8> = Vec::new();
    loop {
        let mut needed = 0usize;
        let mut err = new_error();
        let ptr = if buf.is_empty() { std::ptr::null_mut() } else { buf.as_mut_ptr() as *mut c_char };
        match fill(ptr, buf.len(), &mut needed, &mut err) {
            sys::LIMIFY_OK => {
                buf.truncate(needed.saturating_sub(1).min(buf.len()));
                return Ok(String::from_utf8_lossy(&buf).into_owned());
            }
            // It grew between the two calls (metrics move): ask again.
            sys::LIMIFY_BUFFER_TOO_SMALL if needed > buf.len() => buf.resize(needed, 0),
            status => return Err(Error::from_c(status, &err)),
        }
    }
}

/// Runs a batch call over `n` items, `call(decisions, statuses, err)` (the
/// C API's arrays of n), and reads its answers back: item `i` is its decision
/// or its error. The first failing item gets the library's message (which
/// names it); any other gets `{items}[i]: {code name}`. `Err` when the batch
/// failed as a whole (no item failed).
fn run_batch(
    n: usize,
    items: &str,
    call: impl FnOnce(
        *const *mut sys::limify_decision,
        *mut sys::limify_status,
        &mut sys::limify_error,
    ) -> sys::limify_status,
) -> Result<Vec<Result<Decision>>> {
    let mut decisions = vec![Decision::empty(); n];
    let decision_ptrs: Vec<*mut sys::limify_decision> = decisions.iter_mut().map(|d| d.raw_mut() as *mut _).collect();
    let mut statuses = vec![sys::LIMIFY_OK; n];
    let mut err = new_error();
    let status = call(decision_ptrs.as_ptr(), statuses.as_mut_ptr(), &mut err);
    if status != sys::LIMIFY_OK && statuses.iter().all(|&s| s == sys::LIMIFY_OK) {
        return Err(Error::from_c(status, &err)); // the batch as a whole failed
    }
    // `err` describes the first failing item; the others get their code's name.
    let first_failure = statuses.iter().position(|&s| s != sys::LIMIFY_OK);
    Ok(decisions
        .into_iter()
        .zip(&statuses)
        .enumerate()
        .map(|(i, (decision, &s))| match s {
            sys::LIMIFY_OK => Ok(decision),
            _ if Some(i) == first_failure => Err(Error::from_c(s, &err)),
            _ => {
                let code = ErrorCode::from_status(s);
                Err(Error::new(code, format!("{items}[{i}]: {}", code.name())))
            }
        })
        .collect())
}

impl Engine {
    /// Creates an engine from a JSON configuration (see the README's
    /// configuration reference). Errors name the JSON path.
    pub fn new(config_json: &str) -> Result<Engine> {
        let config = c_string(config_json, "config_json")?;
        let mut raw = std::ptr::null_mut();
        let mut err = new_error();
        // SAFETY: valid NUL-terminated string and out-pointers.
        check(unsafe { sys::limify_engine_new(config.as_ptr(), &mut raw, &mut err) }, &err)?;
        Engine::adopt(raw, FailureMode::of_config(config_json))
    }

    /// Creates an engine from a JSON configuration file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Engine> {
        let path = path.as_ref();
        let text = path.to_str().ok_or_else(|| {
            Error::new(ErrorCode::InvalidArgument, format!("path {} is not valid UTF-8", path.display()))
        })?;
        let c_path = c_string(text, "path")?;
        let mut raw = std::ptr::null_mut();
        let mut err = new_error();
        // SAFETY: valid NUL-terminated string and out-pointers.
        check(unsafe { sys::limify_engine_new_from_file(c_path.as_ptr(), &mut raw, &mut err) }, &err)?;
        // The library has read the file; it is read again for failure_mode
        // only (unreadable now: the default, open).
        let mode = std::fs::read_to_string(path).map_or(FailureMode::Open, |text| FailureMode::of_config(&text));
        Engine::adopt(raw, mode)
    }

    fn adopt(raw: *mut sys::limify_engine, mode: FailureMode) -> Result<Engine> {
        let raw = NonNull::new(raw)
            .ok_or_else(|| Error::new(ErrorCode::Internal, "limify_engine_new returned OK and no engine"))?;
        Ok(Engine {
            raw,
            callbacks: Mutex::new(Callbacks::default()),
            fails_closed: AtomicBool::new(mode == FailureMode::Closed),
        })
    }

    /// The configuration's `failure_mode` (after the last successful reload).
    pub fn failure_mode(&self) -> FailureMode {
        if self.fails_closed.load(Ordering::Relaxed) {
            FailureMode::Closed
        } else {
            FailureMode::Open
        }
    }

    /// The C handle, for code that calls limify.h directly. It stays owned by
    /// this `Engine`: do not free it.
    pub fn as_raw(&self) -> *mut sys::limify_engine {
        self.raw.as_ptr()
    }

    /// Replaces the configuration atomically; checks in flight finish on the
    /// old one. On error the old configuration stays in force.
    pub fn reload(&self, config_json: &str) -> Result<()> {
        let config = c_string(config_json, "config_json")?;
        let mut err = new_error();
        // SAFETY: live engine, valid string.
        check(unsafe { sys::limify_engine_reload(self.as_raw(), config.as_ptr(), &mut err) }, &err)?;
        let closed = FailureMode::of_config(config_json) == FailureMode::Closed;
        self.fails_closed.store(closed, Ordering::Relaxed);
        Ok(())
    }

    /// Decides and consumes. A denied request is `Ok` with `allowed() == false`;
    /// a storage outage the failure policy hides is `Ok` and `degraded()`.
    pub fn check(&self, request: &Request<'_>) -> Result<Decision> {
        self.decide(request, sys::limify_check)
    }

    /// Decides without consuming anything.
    pub fn peek(&self, request: &Request<'_>) -> Result<Decision> {
        self.decide(request, sys::limify_peek)
    }

    fn decide(
        &self,
        request: &Request<'_>,
        call: unsafe extern "C" fn(
            *mut sys::limify_engine,
            *const sys::limify_request,
            *mut sys::limify_decision,
            *mut sys::limify_error,
        ) -> sys::limify_status,
    ) -> Result<Decision> {
        let mut decision = Decision::empty();
        let mut err = new_error();
        // SAFETY: live engine; the request's strings live for the call.
        let status = request.with_raw(|raw| unsafe { call(self.as_raw(), raw, decision.raw_mut(), &mut err) })?;
        check(status, &err)?;
        Ok(decision)
    }

    /// Forgets the state of the request's identity under its rule (every plan).
    pub fn reset(&self, request: &Request<'_>) -> Result<()> {
        let mut err = new_error();
        // SAFETY: as in check.
        let status = request.with_raw(|raw| unsafe { sys::limify_reset(self.as_raw(), raw, &mut err) })?;
        check(status, &err)
    }

    /// Checks many requests at once (a remote storage sends them together).
    /// Item `i` answers `requests[i]`; an error affects only its own item.
    pub fn check_batch(&self, requests: &[Request<'_>]) -> Result<Vec<Result<Decision>>> {
        let bytes = requests.iter().flat_map(|r| r.strings()).map(|s| s.len() + 1).sum();
        let mut text = CStringBatch::with_capacity(requests.len() * FIELD_NAMES.len(), bytes);
        let mut costs = Vec::with_capacity(requests.len());
        for (i, request) in requests.iter().enumerate() {
            costs.push(c_cost(request.cost, &format!("requests[{i}].cost"))?);
            for (s, field) in request.strings().into_iter().zip(FIELD_NAMES) {
                text.push(s, || format!("requests[{i}].{}", field.trim_start_matches("request.")))?;
            }
        }
        let strings = text.pointers(); // FIELD_NAMES.len() per request, in the struct's order
        let raw: Vec<sys::limify_request> = strings
            .chunks_exact(FIELD_NAMES.len())
            .zip(&costs)
            .map(|(p, &cost)| sys::limify_request {
                method: p[0],
                path: p[1],
                user_id: p[2],
                org_id: p[3],
                api_key: p[4],
                client_ip: p[5],
                plan: p[6],
                cost,
                ..sys::limify_request::new()
            })
            .collect();
        let request_ptrs: Vec<*const sys::limify_request> = raw.iter().map(|r| r as *const _).collect();
        run_batch(requests.len(), "requests", |decisions, statuses, err| {
            // SAFETY: live engine; n requests whose strings live in `text`
            // for the call; decisions and statuses as run_batch provides them.
            unsafe {
                sys::limify_check_batch(self.as_raw(), request_ptrs.as_ptr(), requests.len(), decisions, statuses, err)
            }
        })
    }

    /// The direct form for hosts without HTTP requests: `identity` is limited
    /// by the rule `rule_id` (the default rule's id included). `cost` 0 = 1.
    /// An unknown rule is `ErrorCode::NotFound`.
    pub fn check_key(&self, rule_id: &str, identity: &str, cost: u64) -> Result<Decision> {
        let cost = c_cost(cost, "cost")?;
        let mut decision = Decision::empty();
        let mut err = new_error();
        let status = with_c_strings([rule_id, identity], ["rule_id", "identity"], |[rule, id]| {
            // SAFETY: live engine, valid strings and out-pointers.
            unsafe { sys::limify_check_key(self.as_raw(), rule, id, cost, decision.raw_mut(), &mut err) }
        })?;
        check(status, &err)?;
        Ok(decision)
    }

    /// `check_key` for many identities under one rule at once: item `i`
    /// answers `identities[i]`, at the cost `costs[i]` (`costs` `None`: 1
    /// each; a cost of 0 counts as 1). A remote storage sends the batch
    /// together (on Redis, one round trip), and no `Request` is built per
    /// item: the fastest way to decide many checks from one thread.
    ///
    /// As in `check_batch`, an error affects only its own item: an empty
    /// identity is `ErrorCode::InvalidArgument` for that item alone, an
    /// unknown rule `ErrorCode::NotFound` for every item. The call as a whole
    /// is `Err` (and decides nothing) when a string holds a NUL byte (the
    /// message names it: `identities[2] contains a NUL byte at offset 1`), a
    /// cost is above `i64::MAX`, or `costs` and `identities` differ in length.
    ///
    /// ```no_run
    /// # let engine = limify::Engine::new(r#"{"rules": [{"id": "jobs", "path": "/jobs", "rate": "5/second"}]}"#)?;
    /// let jobs = ["job-1", "job-2", "job-1"];
    /// for (job, decision) in jobs.iter().zip(engine.check_key_batch("jobs", &jobs, None)?) {
    ///     println!("{job}: {}", decision?.allowed());
    /// }
    /// # Ok::<(), limify::Error>(())
    /// ```
    pub fn check_key_batch(
        &self,
        rule_id: &str,
        identities: &[&str],
        costs: Option<&[u64]>,
    ) -> Result<Vec<Result<Decision>>> {
        let costs: Option<Vec<i64>> = costs
            .map(|costs| {
                if costs.len() != identities.len() {
                    return Err(Error::new(
                        ErrorCode::InvalidArgument,
                        format!("costs has {} items for {} identities", costs.len(), identities.len()),
                    ));
                }
                // The item's name is formatted only for a cost that does not fit.
                costs
                    .iter()
                    .enumerate()
                    .map(|(i, &c)| i64::try_from(c).or_else(|_| c_cost(c, &format!("costs[{i}]"))))
                    .collect()
            })
            .transpose()?;
        let bytes = identities.iter().map(|s| s.len() + 1).sum();
        let mut text = CStringBatch::with_capacity(identities.len(), bytes);
        for (i, identity) in identities.iter().enumerate() {
            text.push(identity, || format!("identities[{i}]"))?;
        }
        let identity_ptrs = text.pointers();
        let costs_ptr = costs.as_ref().map_or(std::ptr::null(), |c| c.as_ptr());
        with_c_strings([rule_id], ["rule_id"], |[rule]| {
            run_batch(identities.len(), "identities", |decisions, statuses, err| {
                // SAFETY: live engine; n identities (in `text`) and costs (or
                // NULL) alive for the call; decisions and statuses as
                // run_batch provides them.
                unsafe {
                    sys::limify_check_key_batch(
                        self.as_raw(),
                        rule,
                        identity_ptrs.as_ptr(),
                        identities.len(),
                        costs_ptr,
                        decisions,
                        statuses,
                        err,
                    )
                }
            })
        })?
    }

    /// Forgets what `check_key` counted for `identity` under `rule_id`.
    pub fn reset_key(&self, rule_id: &str, identity: &str) -> Result<()> {
        let mut err = new_error();
        let status = with_c_strings([rule_id, identity], ["rule_id", "identity"], |[rule, id]| {
            // SAFETY: live engine, valid strings.
            unsafe { sys::limify_reset_key(self.as_raw(), rule, id, &mut err) }
        })?;
        check(status, &err)
    }

    /// The engine's metrics (decisions by rule, plan and outcome, storage
    /// errors, the check latency histogram, keys held).
    pub fn stats(&self, format: StatsFormat) -> Result<String> {
        let format = match format {
            StatsFormat::Json => sys::LIMIFY_STATS_JSON,
            StatsFormat::Prometheus => sys::LIMIFY_STATS_PROMETHEUS,
        };
        // SAFETY: live engine; buf/len/needed/err as read_text provides them.
        read_text(|buf, len, needed, err| unsafe { sys::limify_stats(self.as_raw(), format, buf, len, needed, err) })
    }

    /// Installs hooks, replacing any. When this returns, the previous hooks
    /// are not running and never will again (they are dropped). Fails with
    /// `FailedPrecondition` when called from inside this engine's hook.
    /// A hook that needs its engine should hold a `Weak` to it: an `Arc`
    /// would keep the engine alive forever.
    pub fn set_hooks(&self, hooks: Hooks) -> Result<()> {
        let ctx = HooksCtx::new(self.as_raw(), hooks);
        let raw = ctx.raw();
        self.replace_hooks(Some(ctx), &raw)
    }

    /// Removes the hooks.
    pub fn clear_hooks(&self) -> Result<()> {
        self.replace_hooks(None, std::ptr::null())
    }

    fn replace_hooks(&self, ctx: Option<Box<HooksCtx>>, raw: *const sys::limify_hooks) -> Result<()> {
        self.refuse_inside_callback("set_hooks")?;
        let mut callbacks = self.callbacks.lock().unwrap_or_else(PoisonError::into_inner);
        let mut err = new_error();
        // SAFETY: live engine; raw (or NULL) points at hooks whose ctx lives
        // in `callbacks` from here until the next replacement.
        check(unsafe { sys::limify_set_hooks(self.as_raw(), raw, &mut err) }, &err)?;
        callbacks.hooks = ctx; // the old ones are no longer called: drop them
        Ok(())
    }

    /// Installs a plan provider: for a request that names no plan, on a rule
    /// that defines plans, it returns the plan (or `None`: the configuration's
    /// plan map and the rule's default apply). Called from many threads at
    /// once; a panic, or an id that is empty, longer than 64 bytes or holds a
    /// NUL, counts as `None`.
    pub fn set_plan_provider<F, P>(&self, provider: F) -> Result<()>
    where
        F: Fn(RequestView<'_>, &str) -> Option<P> + Send + Sync + 'static,
        P: AsRef<str>,
    {
        self.replace_plan_provider(Some(PlanCtx::new(self.as_raw(), provider)))
    }

    /// Removes the plan provider.
    pub fn clear_plan_provider(&self) -> Result<()> {
        self.replace_plan_provider(None)
    }

    fn replace_plan_provider(&self, ctx: Option<Box<PlanCtx>>) -> Result<()> {
        self.refuse_inside_callback("set_plan_provider")?;
        let mut callbacks = self.callbacks.lock().unwrap_or_else(PoisonError::into_inner);
        let mut err = new_error();
        let (function, raw_ctx) = match &ctx {
            Some(ctx) => (Some(plan_provider as sys::limify_plan_provider_fn), ctx.ctx()),
            None => (None, std::ptr::null_mut()),
        };
        // SAFETY: live engine; raw_ctx lives in `callbacks` until replaced.
        check(unsafe { sys::limify_set_plan_provider(self.as_raw(), function, raw_ctx, &mut err) }, &err)?;
        callbacks.plan_provider = ctx;
        Ok(())
    }

    /// The C API waits for running callbacks before replacing them; a
    /// callback replacing its own engine's would wait for itself.
    fn refuse_inside_callback(&self, what: &str) -> Result<()> {
        if inside_callback_of(self.as_raw()) {
            return Err(Error::new(
                ErrorCode::FailedPrecondition,
                format!("{what}: called from inside a hook or plan provider of the same engine"),
            ));
        }
        Ok(())
    }

    /// Sets the manual clock (config `"clock": "manual"`) to `since_epoch`.
    /// `FailedPrecondition` on the system clock.
    pub fn set_clock(&self, since_epoch: Duration) -> Result<()> {
        let now_us = micros(since_epoch, "set_clock")?;
        let mut err = new_error();
        // SAFETY: live engine.
        check(unsafe { sys::limify_clock_set(self.as_raw(), now_us, &mut err) }, &err)
    }

    /// Moves the manual clock forward by `by`. `FailedPrecondition` on the
    /// system clock.
    pub fn advance_clock(&self, by: Duration) -> Result<()> {
        let delta_us = micros(by, "advance_clock")?;
        let mut err = new_error();
        // SAFETY: live engine.
        check(unsafe { sys::limify_clock_advance(self.as_raw(), delta_us, &mut err) }, &err)
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        // SAFETY: we own the engine and no call on it can be running (&mut self).
        unsafe { sys::limify_engine_free(self.raw.as_ptr()) };
        // `callbacks` is dropped after this, once nothing can call them.
    }
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("raw", &self.raw).finish()
    }
}

pub(crate) fn list_plugins(config_json: Option<&str>) -> Result<String> {
    let config = config_json.map(|c| c_string(c, "config_json")).transpose()?;
    let config_ptr = config.as_ref().map_or(std::ptr::null(), |c| c.as_ptr());
    // SAFETY: valid (or NULL) config; buf/len/needed/err from read_text.
    read_text(|buf, len, needed, err| unsafe { sys::limify_list_plugins(config_ptr, buf, len, needed, err) })
}
