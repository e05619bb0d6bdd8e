package limify_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	limify "github.com/limify/limify/bindings/go"
)

var ctx = context.Background()

func search(user string) limify.Request {
	return limify.Request{Method: "GET", Path: "/search", UserID: user}
}

func mustCheck(t *testing.T, e *limify.Engine, r limify.Request) limify.Decision {
	t.Helper()
	d, err := e.Check(ctx, r)
	if err != nil {
		t.Fatalf("Check(%+v): %v", r, err)
	}
	return d
}

func TestVersionIsTheLoadedLibrary(t *testing.T) {
	if v := limify.Version(); v != "0.1.0" {
		t.Fatalf("Version() = %q", v)
	}
}

func TestCheckAllowsUpToTheLimitThenDeniesWithExactRetryAfter(t *testing.T) {
	e := searchEngine(t)
	for want := int64(2); want >= 0; want-- {
		d := mustCheck(t, e, search("alice"))
		if !d.Allowed || d.Remaining != want || d.Limit != 3 {
			t.Fatalf("want allowed with %d left of 3, got %+v", want, d)
		}
	}
	d := mustCheck(t, e, search("alice"))
	want := limify.Decision{
		Allowed: false, Matched: true, Limit: 3, Remaining: 0,
		ResetAfter: time.Second, RetryAfter: 333334 * time.Microsecond, Period: time.Second,
		RuleID: "search", PlanID: "default",
	}
	if d != want {
		t.Fatalf("denial:\n got %+v\nwant %+v", d, want)
	}
	if d.RetryAfterSeconds() != 1 {
		t.Fatalf("RetryAfterSeconds() = %d, want 1 (rounded up)", d.RetryAfterSeconds())
	}
}

func TestTheManualClockRefillsToTheMicrosecond(t *testing.T) {
	e := searchEngine(t)
	for i := 0; i < 3; i++ {
		mustCheck(t, e, search("alice"))
	}
	wait := mustCheck(t, e, search("alice")).RetryAfter
	if err := e.AdvanceClock(wait - time.Microsecond); err != nil {
		t.Fatal(err)
	}
	if mustCheck(t, e, search("alice")).Allowed {
		t.Fatal("allowed one microsecond before the token is back")
	}
	if err := e.AdvanceClock(time.Microsecond); err != nil {
		t.Fatal(err)
	}
	if !mustCheck(t, e, search("alice")).Allowed {
		t.Fatal("denied when the token is back")
	}
}

func TestMethodIsUpperCasedAndUnmatchedRequestsAreUnlimited(t *testing.T) {
	e := searchEngine(t)
	if d := mustCheck(t, e, limify.Request{Method: "get", Path: "/search", UserID: "a"}); d.RuleID != "search" {
		t.Fatalf("lower-case method: %+v", d)
	}
	d := mustCheck(t, e, limify.Request{Method: "GET", Path: "/health", UserID: "a"})
	if !d.Allowed || d.Matched || d.Limit != limify.Unlimited || d.Remaining != limify.Unlimited || d.RuleID != "" {
		t.Fatalf("unmatched: %+v", d)
	}
	if h := d.Headers(limify.HeadersDefault); len(h) != 0 {
		t.Fatalf("unmatched decision has headers %v", h)
	}
}

func TestIdentitiesAreIsolated(t *testing.T) {
	e := searchEngine(t)
	for i := 0; i < 3; i++ {
		mustCheck(t, e, search("alice"))
	}
	if mustCheck(t, e, search("alice")).Allowed {
		t.Fatal("alice over her limit was allowed")
	}
	for _, r := range []limify.Request{
		search("bob"),
		{Method: "GET", Path: "/search", APIKey: "alice"},
		{Method: "GET", Path: "/search", ClientIP: "10.0.0.1"},
	} {
		if !mustCheck(t, e, r).Allowed {
			t.Fatalf("%+v shares alice's limit", r)
		}
	}
}

func TestPeekConsumesNothingAndResetForgets(t *testing.T) {
	e := searchEngine(t)
	mustCheck(t, e, search("a"))
	for i := 0; i < 2; i++ {
		d, err := e.Peek(ctx, search("a"))
		if err != nil || d.Remaining != 2 {
			t.Fatalf("Peek = %+v, %v; want 2 left", d, err)
		}
	}
	mustCheck(t, e, search("a"))
	if err := e.Reset(ctx, search("a")); err != nil {
		t.Fatal(err)
	}
	if d := mustCheck(t, e, search("a")); d.Remaining != 2 {
		t.Fatalf("after Reset: %+v", d)
	}
}

func TestCostConsumesSeveralAndACostOverTheLimitCanNeverPass(t *testing.T) {
	e := searchEngine(t)
	r := search("c")
	r.Cost = 2
	if d := mustCheck(t, e, r); !d.Allowed || d.Remaining != 1 {
		t.Fatalf("cost 2: %+v", d)
	}
	r.Cost = 4
	d := mustCheck(t, e, r)
	if d.Allowed || d.RetryAfter != limify.RetryNever || d.RetryAfterSeconds() != -1 {
		t.Fatalf("cost 4 of 3: %+v", d)
	}
	if _, ok := d.Headers(limify.HeadersDefault)["Retry-After"]; ok {
		t.Fatal("Retry-After on a denial that waiting cannot help")
	}
}

func TestPlansExplicitAndFromAProvider(t *testing.T) {
	e := searchEngine(t)
	api := func(user, plan string) limify.Request {
		return limify.Request{Method: "GET", Path: "/api/x", UserID: user, Plan: plan}
	}
	if d := mustCheck(t, e, api("u", "pro")); d.Limit != 10 || d.PlanID != "pro" {
		t.Fatalf("explicit plan: %+v", d)
	}
	err := e.SetPlanProvider(func(req limify.Request, rule string) string {
		if req.UserID == "carol" && rule == "api" {
			return "pro"
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	if d := mustCheck(t, e, api("carol", "")); d.Limit != 10 || d.PlanID != "pro" {
		t.Fatalf("provider plan: %+v", d)
	}
	if d := mustCheck(t, e, api("dave", "")); d.Limit != 2 || d.PlanID != "default" {
		t.Fatalf("no plan from the provider: %+v", d)
	}
	if err := e.SetPlanProvider(nil); err != nil {
		t.Fatal(err)
	}
	if d := mustCheck(t, e, api("carol", "")); d.Limit != 2 {
		t.Fatalf("provider removed: %+v", d)
	}
}

func TestAPanickingOrInvalidPlanProviderMeansNoPlan(t *testing.T) {
	e := searchEngine(t)
	logged := captureLog(t)
	for _, p := range []limify.PlanProvider{
		func(limify.Request, string) string { panic("boom") },
		func(limify.Request, string) string { return strings.Repeat("p", 65) },
	} {
		if err := e.SetPlanProvider(p); err != nil {
			t.Fatal(err)
		}
		d := mustCheck(t, e, limify.Request{Method: "GET", Path: "/api/x", UserID: "carol"})
		if !d.Allowed || d.PlanID != "default" || d.Limit != 2 {
			t.Fatalf("%+v", d)
		}
	}
	for _, want := range []string{"plan provider panicked", "panic=boom", "invalid plan id"} {
		if !strings.Contains(logged.String(), want) {
			t.Fatalf("the log lacks %q:\n%s", want, logged)
		}
	}
}

func TestCheckKeyLimitsAnIdentityUnderARuleAndResetKeyForgetsIt(t *testing.T) {
	e := searchEngine(t)
	for want := int64(2); want >= 0; want-- {
		d, err := e.CheckKey(ctx, "search", "job-7", 1)
		if err != nil || !d.Allowed || d.Remaining != want {
			t.Fatalf("CheckKey = %+v, %v; want %d left", d, err, want)
		}
	}
	if d, _ := e.CheckKey(ctx, "search", "job-7", 0); d.Allowed {
		t.Fatal("fourth CheckKey allowed")
	}
	if err := e.ResetKey(ctx, "search", "job-7"); err != nil {
		t.Fatal(err)
	}
	if d, _ := e.CheckKey(ctx, "search", "job-7", 1); !d.Allowed || d.Remaining != 2 {
		t.Fatalf("after ResetKey: %+v", d)
	}
}

func TestErrorsCarryTheStatusCodeAndMatchTheirSentinels(t *testing.T) {
	e := searchEngine(t)
	cases := []struct {
		name   string
		err    error
		target error
		code   limify.Status
		text   string
	}{
		{"bad rate", func() error {
			_, err := limify.New(`{"rules": [{"id": "r", "path": "/", "rate": "3/fortnight"}]}`)
			return err
		}(), limify.ErrConfig, limify.StatusConfigError, "rules[0].rate"},
		{"not JSON", func() error { _, err := limify.New(`{`); return err }(), limify.ErrConfig, limify.StatusConfigError, ""},
		{"unknown rule", func() error { _, err := e.CheckKey(ctx, "nope", "x", 1); return err }(),
			limify.ErrNotFound, limify.StatusNotFound, "nope"},
		{"negative cost", func() error {
			_, err := e.Check(ctx, limify.Request{Method: "GET", Path: "/search", Cost: -1})
			return err
		}(), limify.ErrInvalidArgument, limify.StatusInvalidArgument, "cost"},
		{"NUL in a field", func() error {
			_, err := e.Check(ctx, limify.Request{Method: "GET", Path: "/search", UserID: "a\x00b"})
			return err
		}(), limify.ErrInvalidArgument, limify.StatusInvalidArgument, "UserID"},
		{"empty identity", func() error { _, err := e.CheckKey(ctx, "search", "", 1); return err }(),
			limify.ErrInvalidArgument, limify.StatusInvalidArgument, "identity"},
		{"missing file", func() error { _, err := limify.NewFromFile("/nonexistent/limify.json"); return err }(),
			limify.ErrNotFound, limify.StatusNotFound, "/nonexistent/limify.json"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(c.err, c.target) {
				t.Fatalf("%v does not match %v", c.err, c.target)
			}
			if got := limify.StatusOf(c.err); got != c.code {
				t.Fatalf("StatusOf = %v, want %v", got, c.code)
			}
			var le *limify.Error
			if !errors.As(c.err, &le) || !strings.Contains(le.Error(), c.text) {
				t.Fatalf("%v does not name %q", c.err, c.text)
			}
			if errors.Is(c.err, limify.ErrInternal) {
				t.Fatalf("%v also matches ErrInternal", c.err)
			}
		})
	}
}

func TestTheSystemClockRefusesManualMoves(t *testing.T) {
	e := newEngine(t, `{"storage": {"type": "memory"}, "rules": []}`)
	err := e.AdvanceClock(time.Second)
	if !errors.Is(err, limify.ErrFailedPrecondition) {
		t.Fatalf("AdvanceClock on the system clock: %v", err)
	}
	if limify.StatusFailedPrecondition.String() != "failed_precondition" {
		t.Fatalf("status name %q", limify.StatusFailedPrecondition.String())
	}
}

func TestACancelledContextDecidesNothing(t *testing.T) {
	e := searchEngine(t)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := e.Check(cctx, search("a")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Check with a cancelled context: %v", err)
	}
	if d, _ := e.Peek(ctx, search("a")); d.Remaining != 3 {
		t.Fatalf("the cancelled check consumed: %+v", d)
	}
}

func TestNewFromFileAndReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "limify.json")
	if err := os.WriteFile(path, []byte(memoryConfig(t, searchRules, map[string]any{"failure_mode": "closed"})), 0o600); err != nil {
		t.Fatal(err)
	}
	e, err := limify.NewFromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if e.FailureMode() != "closed" {
		t.Fatalf("FailureMode() = %q", e.FailureMode())
	}
	if d := mustCheck(t, e, search("a")); d.Limit != 3 {
		t.Fatalf("%+v", d)
	}
	bad := `{"rules": [{"id": "search", "path": "/search", "rate": "0/second"}]}`
	if err := e.Reload(bad); !errors.Is(err, limify.ErrConfig) {
		t.Fatalf("Reload(bad) = %v", err)
	}
	if d := mustCheck(t, e, search("a")); d.Limit != 3 || e.FailureMode() != "closed" {
		t.Fatalf("a failed reload changed the config: %+v", d)
	}
	if err := e.Reload(memoryConfig(t, []map[string]any{{"id": "search", "path": "/search", "rate": "7/second"}}, nil)); err != nil {
		t.Fatal(err)
	}
	if d := mustCheck(t, e, search("a")); d.Limit != 7 || e.FailureMode() != "open" {
		t.Fatalf("after reload: %+v, mode %s", d, e.FailureMode())
	}
	if err := e.ReloadFromFile(filepath.Join(t.TempDir(), "missing.json")); !errors.Is(err, limify.ErrNotFound) {
		t.Fatalf("ReloadFromFile(missing) = %v", err)
	}
}

func TestHeadersAreTheLibrarysText(t *testing.T) {
	e := searchEngine(t)
	d := mustCheck(t, e, search("h"))
	h := d.Headers(limify.HeadersDefault)
	if h.Get("X-RateLimit-Limit") != "3" || h.Get("X-RateLimit-Remaining") != "2" || h.Get("X-RateLimit-Reset") != "1" {
		t.Fatalf("allowed headers %v", h)
	}
	if h.Get("Retry-After") != "" {
		t.Fatalf("Retry-After on an allowed decision: %v", h)
	}
	mustCheck(t, e, search("h"))
	mustCheck(t, e, search("h"))
	denied := mustCheck(t, e, search("h"))
	h = denied.Headers(limify.HeadersDefault | limify.HeadersIETF)
	if h.Get("Retry-After") != "1" || h.Get("X-RateLimit-Remaining") != "0" {
		t.Fatalf("denied headers %v", h)
	}
	if !strings.Contains(h.Get("RateLimit-Policy"), "search") {
		t.Fatalf("IETF headers do not name the rule: %v", h)
	}
}

func TestCheckBatchAnswersEachRequestInOrder(t *testing.T) {
	e := searchEngine(t)
	rs := []limify.Request{search("b"), search("b"), search("b"), search("b"),
		{Method: "GET", Path: "/search", UserID: "b", Cost: -1}, {Method: "GET", Path: "/health"}}
	ds, errs := e.CheckBatch(ctx, rs)
	for i, want := range []bool{true, true, true, false} {
		if errs[i] != nil || ds[i].Allowed != want {
			t.Fatalf("request %d: %+v, %v; want allowed=%v", i, ds[i], errs[i], want)
		}
	}
	if !errors.Is(errs[4], limify.ErrInvalidArgument) || !strings.Contains(errs[4].Error(), "request 4: limify_check: request->cost") {
		t.Fatalf("request 4 (negative cost): %v", errs[4])
	}
	if errs[5] != nil || ds[5].Matched || !ds[5].Allowed {
		t.Fatalf("request 5 (unmatched): %+v, %v", ds[5], errs[5])
	}
}

// The "api" rule's own rate is 2/minute: CheckKeyBatch answers each identity
// in order, exactly as the same CheckKey calls one by one would.
func TestCheckKeyBatchDecidesEachIdentityInOrderAsCheckKeyWould(t *testing.T) {
	batch, single := searchEngine(t), searchEngine(t)
	ids := []string{"a", "a", "a", "b"}
	ds, errs := batch.CheckKeyBatch(ctx, "api", ids, nil)
	if len(ds) != len(ids) || len(errs) != len(ids) {
		t.Fatalf("%d decisions, %d errors for %d identities", len(ds), len(errs), len(ids))
	}
	for i, want := range []bool{true, true, false, true} {
		d, err := single.CheckKey(ctx, "api", ids[i], 1)
		if err != nil {
			t.Fatal(err)
		}
		if errs[i] != nil || ds[i] != d || ds[i].Allowed != want || ds[i].RuleID != "api" {
			t.Fatalf("identity %d (%s): batch %+v, %v; CheckKey %+v; want allowed=%v", i, ids[i], ds[i], errs[i], d, want)
		}
	}
	// The batch consumed what it said: "a" is spent, "b" has one left.
	if d, _ := batch.CheckKey(ctx, "api", "a", 1); d.Allowed {
		t.Fatalf("a after the batch: %+v", d)
	}
	if d, _ := batch.CheckKey(ctx, "api", "b", 1); !d.Allowed || d.Remaining != 0 {
		t.Fatalf("b after the batch: %+v", d)
	}
}

func TestCheckKeyBatchFailsABadIdentityAloneAndNamesIt(t *testing.T) {
	e := searchEngine(t)
	ids := []string{"a", "x\x00y", "", "b", "a", "c"}
	ds, errs := e.CheckKeyBatch(ctx, "search", ids, []int64{1, 1, 1, -1, 1, -2})
	for i, text := range map[int]string{
		1: "identity 1: contains a NUL byte",
		2: "identity 2: must be non-empty",
		3: "identity 3: limify_check_key: cost must not be negative (got -1)", // the library's words
		5: "identity 5: invalid_argument",
	} {
		if !errors.Is(errs[i], limify.ErrInvalidArgument) || !strings.Contains(errs[i].Error(), text) {
			t.Fatalf("identity %d: %v, want ErrInvalidArgument naming %q", i, errs[i], text)
		}
		if ds[i] != (limify.Decision{}) {
			t.Fatalf("identity %d failed but has a decision: %+v", i, ds[i])
		}
	}
	for i, left := range map[int]int64{0: 2, 4: 1} {
		if errs[i] != nil || !ds[i].Allowed || ds[i].Remaining != left {
			t.Fatalf("identity %d: %+v, %v; want allowed with %d left", i, ds[i], errs[i], left)
		}
	}
	if d, _ := e.CheckKey(ctx, "search", "b", 1); d.Remaining != 2 {
		t.Fatalf("the failed item consumed: %+v", d)
	}
}

func TestCheckKeyBatchWithABadRuleOrCostsFailsEveryIdentity(t *testing.T) {
	e := searchEngine(t)
	ids := []string{"a", "b"}
	cases := []struct {
		name   string
		rule   string
		costs  []int64
		target error
		text   string
	}{
		{"unknown rule", "nope", nil, limify.ErrNotFound, `identity 0: no rule with id "nope"`},
		{"empty rule id", "", nil, limify.ErrInvalidArgument, "rule id"},
		{"NUL in the rule id", "sea\x00rch", nil, limify.ErrInvalidArgument, "NUL"},
		{"costs of another length", "search", []int64{1}, limify.ErrInvalidArgument, "1 costs for 2 identities"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ds, errs := e.CheckKeyBatch(ctx, c.rule, ids, c.costs)
			for i := range ids {
				if !errors.Is(errs[i], c.target) || ds[i].Allowed {
					t.Fatalf("identity %d: %+v, %v; want %v", i, ds[i], errs[i], c.target)
				}
			}
			if !strings.Contains(errs[0].Error(), c.text) {
				t.Fatalf("%v does not name %q", errs[0], c.text)
			}
		})
	}
	if d, _ := e.CheckKey(ctx, "search", "a", 1); d.Remaining != 2 {
		t.Fatalf("a failed batch consumed: %+v", d)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, errs := e.CheckKeyBatch(cctx, "search", ids, nil); !errors.Is(errs[0], context.Canceled) || !errors.Is(errs[1], context.Canceled) {
		t.Fatalf("CheckKeyBatch with a cancelled context: %v", errs)
	}
}

// nil costs are 1 each; explicit costs count as CheckKey's (0 means 1), and a
// cost beyond the limit (3) can never pass.
func TestCheckKeyBatchCosts(t *testing.T) {
	e := searchEngine(t)
	ds, errs := e.CheckKeyBatch(ctx, "search", []string{"a", "a"}, nil)
	if errs[0] != nil || errs[1] != nil || ds[0].Remaining != 2 || ds[1].Remaining != 1 {
		t.Fatalf("nil costs: %+v %v", ds, errs)
	}
	ds, errs = e.CheckKeyBatch(ctx, "search", []string{"b", "c", "d", "a"}, []int64{0, 2, 4, 1})
	for i, left := range []int64{2, 1, -1, 0} {
		if errs[i] != nil || ds[i].Allowed != (left >= 0) || (left >= 0 && ds[i].Remaining != left) {
			t.Fatalf("identity %d: %+v, %v; want %d left (-1: denied)", i, ds[i], errs[i], left)
		}
	}
	if ds[2].RetryAfter != limify.RetryNever {
		t.Fatalf("cost 4 of 3: %+v", ds[2])
	}
}

func TestCheckKeyBatchOfNothingDecidesNothing(t *testing.T) {
	e := searchEngine(t)
	for _, ids := range [][]string{nil, {}} {
		ds, errs := e.CheckKeyBatch(ctx, "search", ids, nil)
		if ds == nil || errs == nil || len(ds) != 0 || len(errs) != 0 {
			t.Fatalf("CheckKeyBatch(%#v) = %#v, %#v", ids, ds, errs)
		}
	}
}

func TestHooksSeeDecisionsAndErrors(t *testing.T) {
	e := searchEngine(t)
	type seen struct {
		op  limify.Operation
		req *limify.Request
		d   limify.Decision
	}
	decisions := make(chan seen, 16)
	errs := make(chan error, 16)
	err := e.SetHooks(limify.Hooks{
		OnDecision: func(op limify.Operation, req *limify.Request, d limify.Decision) {
			decisions <- seen{op, req, d}
		},
		OnError: func(err error) { errs <- err },
	})
	if err != nil {
		t.Fatal(err)
	}
	mustCheck(t, e, search("hook"))
	got := <-decisions
	if got.op != limify.OperationCheck || got.req == nil || got.req.UserID != "hook" ||
		got.req.Path != "/search" || got.req.Cost != 1 || got.d.Remaining != 2 {
		t.Fatalf("check hook: %+v %+v", got, got.req)
	}
	e.Peek(ctx, search("hook"))
	if got := <-decisions; got.op != limify.OperationPeek {
		t.Fatalf("peek hook: %+v", got)
	}
	e.CheckKey(ctx, "search", "k", 1)
	if got := <-decisions; got.op != limify.OperationCheckKey || got.req != nil || got.d.RuleID != "search" {
		t.Fatalf("check_key hook: %+v", got)
	}
	e.CheckKey(ctx, "missing", "k", 1)
	if err := <-errs; !errors.Is(err, limify.ErrNotFound) {
		t.Fatalf("error hook: %v", err)
	}

	// A panicking hook changes nothing (and is logged); removed hooks are not called.
	logged := captureLog(t)
	if err := e.SetHooks(limify.Hooks{OnDecision: func(limify.Operation, *limify.Request, limify.Decision) { panic("boom") }}); err != nil {
		t.Fatal(err)
	}
	if d := mustCheck(t, e, search("panic")); !d.Allowed {
		t.Fatalf("%+v", d)
	}
	if !strings.Contains(logged.String(), "on_decision hook panicked") {
		t.Fatalf("the panic was not logged: %q", logged)
	}
	if err := e.SetHooks(limify.Hooks{}); err != nil {
		t.Fatal(err)
	}
	mustCheck(t, e, search("quiet"))
	if len(decisions) != 0 || len(errs) != 0 {
		t.Fatalf("removed hooks still called: %d decisions, %d errors", len(decisions), len(errs))
	}
}

func TestAHookCannotReconfigureItsEngine(t *testing.T) {
	e := searchEngine(t)
	inner := make(chan error, 1)
	e.SetHooks(limify.Hooks{OnDecision: func(limify.Operation, *limify.Request, limify.Decision) {
		select {
		case inner <- e.Reload(memoryConfig(t, searchRules, nil)):
		default:
		}
	}})
	mustCheck(t, e, search("x"))
	if err := <-inner; !errors.Is(err, limify.ErrFailedPrecondition) {
		t.Fatalf("Reload from a hook: %v", err)
	}
}

func TestStatsCountDecisionsByRule(t *testing.T) {
	e := searchEngine(t)
	for i := 0; i < 4; i++ {
		mustCheck(t, e, search("s"))
	}
	raw, err := e.Stats(limify.StatsJSON)
	if err != nil {
		t.Fatal(err)
	}
	var stats map[string]any
	if err := json.Unmarshal(raw, &stats); err != nil {
		t.Fatalf("Stats JSON: %v\n%s", err, raw)
	}
	text, err := e.Stats(limify.StatsPrometheus)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`rule="search"`, "# TYPE"} {
		if !strings.Contains(string(text), want) {
			t.Fatalf("Prometheus text lacks %s:\n%s", want, text)
		}
	}
	if !strings.Contains(string(raw), `"search"`) {
		t.Fatalf("JSON stats do not name the rule:\n%s", raw)
	}
	if _, err := e.Stats(limify.StatsFormat(9)); !errors.Is(err, limify.ErrInvalidArgument) {
		t.Fatalf("Stats(9) = %v", err)
	}
}

func TestListPluginsFindsTheBuiltIns(t *testing.T) {
	plugins, err := limify.ListPlugins("")
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, p := range plugins {
		for _, a := range p.Algorithms {
			found[a] = true
		}
		for _, s := range p.Storages {
			found[s] = true
		}
	}
	for _, want := range []string{"token_bucket", "gcra", "memory", "redis"} {
		if !found[want] {
			t.Fatalf("no plugin provides %s: %+v", want, plugins)
		}
	}
}

func TestEveryCallOnAClosedEngineIsErrClosed(t *testing.T) {
	e, err := limify.New(memoryConfig(t, searchRules, nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	_, checkErr := e.Check(ctx, search("a"))
	_, keyErr := e.CheckKey(ctx, "search", "a", 1)
	_, statsErr := e.Stats(limify.StatsJSON)
	_, batchErrs := e.CheckBatch(ctx, []limify.Request{search("a")})
	_, keyBatchErrs := e.CheckKeyBatch(ctx, "search", []string{"a"}, nil)
	for _, err := range []error{checkErr, keyErr, statsErr, batchErrs[0], keyBatchErrs[0], e.Reload("{}"),
		e.SetHooks(limify.Hooks{}), e.SetPlanProvider(nil), e.AdvanceClock(1)} {
		if !errors.Is(err, limify.ErrClosed) || !errors.Is(err, limify.ErrFailedPrecondition) {
			t.Fatalf("call on a closed engine: %v", err)
		}
	}
}
