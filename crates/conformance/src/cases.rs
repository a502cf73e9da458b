//! The cases of the suite. Each takes a [`Harness`] and panics with a message naming the
//! provider, the offering and what was expected when the provider breaks the contract.

use crate::media::{is_image, is_video};
use crate::receiver::CallbackReceiver;
use crate::{Billed, Call, Callbacks, ErrorClass, Fault, Harness, RETRY_AFTER};
use genmux_core::{
    Error, ErrorKind, GenerationRequest, MediaKind, Offering, Operation, Result, Submission,
    SubmitRequest, TaskRef, TaskSnapshot, TaskStatus, UnknownLookup, UnknownTask,
};
use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A fresh id for a submission, as the gateway mints one per task (never reused within a
/// test process, so two cases never collide on one simulator's external ids).
fn fresh_external_id(provider: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let nonce = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() % 1_000_000_007)
        .unwrap_or(0);
    format!("conf-{provider}-{nonce}-{n}")
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// One offered operation with the request the suite sends for it.
struct Target {
    offering: Offering,
    op: Operation,
    request: GenerationRequest,
}

impl Target {
    fn label(&self, provider: &str) -> String {
        format!(
            "{provider} / {} ({}) {}",
            self.offering.model, self.offering.provider_model, self.op
        )
    }

    fn task_ref(&self, provider: &str, provider_task_id: &str) -> TaskRef {
        TaskRef {
            provider: provider.to_string(),
            provider_task_id: provider_task_id.to_string(),
            model: self.offering.model.clone(),
            provider_model: self.offering.provider_model.clone(),
            operation: self.op,
        }
    }

    fn unknown(&self, provider: &str, external_id: &str) -> UnknownTask {
        UnknownTask {
            provider: provider.to_string(),
            external_id: external_id.to_string(),
            model: self.offering.model.clone(),
            provider_model: self.offering.provider_model.clone(),
            operation: self.op,
            sent_at_unix_ms: now_ms(),
        }
    }
}

/// Every operation of every offering, each with its request (from the harness, else the
/// first catalog example of the model for that operation), quoted by the catalog and
/// accepted by the offering's capability — the request the router would send there.
async fn targets<H: Harness + ?Sized>(h: &H) -> Vec<Target> {
    let provider = h.provider();
    let mut out = Vec::new();
    for (kind, offering) in provider.offerings() {
        for op in Operation::ALL {
            if op.output() != kind || !offering.capability.has_operation(op) {
                continue;
            }
            let request = request_for(h, offering, op).await;
            out.push(Target {
                offering: offering.clone(),
                op,
                request,
            });
        }
    }
    assert!(
        !out.is_empty(),
        "{}: the provider offers no operation at all",
        provider.id()
    );
    out
}

/// One target per offering: its first operation.
async fn one_per_offering<H: Harness + ?Sized>(h: &H) -> Vec<Target> {
    let mut seen = Vec::new();
    targets(h)
        .await
        .into_iter()
        .filter(|t| {
            let key = (t.offering.model.clone(), t.offering.provider_model.clone());
            if seen.contains(&key) {
                false
            } else {
                seen.push(key);
                true
            }
        })
        .collect()
}

async fn request_for<H: Harness + ?Sized>(
    h: &H,
    offering: &Offering,
    op: Operation,
) -> GenerationRequest {
    let provider = h.provider().id().to_string();
    let label = format!(
        "{provider} / {} ({}) {op}",
        offering.model, offering.provider_model
    );
    let catalog = h.catalog();
    let candidates: Vec<GenerationRequest> = match h.request_for(offering, op).await {
        Some(r) => vec![r],
        None => {
            let examples: Vec<GenerationRequest> = catalog
                .model(&offering.model)
                .map(|spec| {
                    spec.examples
                        .iter()
                        .filter_map(|ex| {
                            let mut body = ex.clone();
                            body.insert("model".into(), Value::String(spec.id.clone()));
                            catalog.parse_request(&Value::Object(body)).ok()
                        })
                        .collect()
                })
                .unwrap_or_default();
            // Frames added to the model's prompt-only examples, for image-to-video and
            // start/end-frame when the catalog shows none of its own.
            let frames = match op {
                Operation::ImageToVideo => 1,
                Operation::StartEndFrame => 2,
                _ => 0,
            };
            let derived: Vec<GenerationRequest> = examples
                .iter()
                .filter(|r| frames > 0 && r.images.is_empty())
                .map(|r| GenerationRequest {
                    images: (0..frames)
                        .map(|i| genmux_core::MediaInput::Url(h.sample_image_url(i)))
                        .collect(),
                    ..r.clone()
                })
                .collect();
            examples.into_iter().chain(derived).collect()
        }
    };
    let mut reasons = Vec::new();
    for req in candidates {
        match catalog.quote(&req) {
            Ok(q) if q.operation != op => {
                reasons.push(format!("a request for {} instead", q.operation))
            }
            Ok(q) => match offering.capability.supports(&q.request, op) {
                Ok(()) => return q.request,
                Err(why) => reasons.push(format!("not supported by the offering: {why}")),
            },
            Err(e) => reasons.push(format!("refused by the catalog: {e}")),
        }
    }
    panic!(
        "{label}: no request for this operation (catalog examples and Harness::request_for gave {}); \
         add a catalog example or answer Harness::request_for",
        if reasons.is_empty() {
            "nothing".to_string()
        } else {
            reasons.join("; ")
        }
    )
}

async fn submit<H: Harness + ?Sized>(
    h: &H,
    t: &Target,
    callback_url: Option<&str>,
    external_id: &str,
) -> Result<Submission> {
    h.provider()
        .submit(SubmitRequest {
            request: &t.request,
            operation: t.op,
            offering: &t.offering,
            callback_url,
            external_id,
        })
        .await
}

/// Submits without faults and checks the answer names a task of the offering's model.
async fn submit_ok<H: Harness + ?Sized>(
    h: &H,
    t: &Target,
    callback_url: Option<&str>,
) -> Submission {
    let id = h.provider().id().to_string();
    let label = t.label(&id);
    let sub = submit(h, t, callback_url, &fresh_external_id(&id))
        .await
        .unwrap_or_else(|e| panic!("{label}: submit failed: {e}"));
    assert!(
        !sub.provider_task_id.trim().is_empty(),
        "{label}: the submission names no upstream task"
    );
    assert_eq!(
        sub.provider_model, t.offering.provider_model,
        "{label}: the submission names another upstream model"
    );
    assert_ne!(
        sub.status,
        TaskStatus::Unknown,
        "{label}: an answered submission is never of unknown outcome"
    );
    sub
}

/// Queries the task until it is final, moving the simulator's clock between queries. A
/// retryable query error is retried on the next step (the poller does the same).
async fn wait_final<H: Harness + ?Sized>(h: &H, task: &TaskRef, label: &str) -> TaskSnapshot {
    let mut last = String::from("no answer");
    for _ in 0..=h.max_steps() {
        match h.provider().status(task).await {
            Ok(s) if s.status.is_final() => {
                assert_eq!(
                    s.provider_task_id, task.provider_task_id,
                    "{label}: the status answer names another task"
                );
                return s;
            }
            Ok(s) => last = format!("still {}", s.status),
            Err(e) if e.is_retryable() => last = format!("retryable error: {e}"),
            Err(e) => panic!("{label}: status of {} failed: {e}", task.provider_task_id),
        }
        h.advance(h.step()).await;
    }
    panic!(
        "{label}: task {} not final after {} steps of {:?} ({last})",
        task.provider_task_id,
        h.max_steps(),
        h.step()
    )
}

/// A succeeded task with real assets of the operation's kind.
async fn check_succeeded<H: Harness + ?Sized>(
    h: &H,
    snap: &TaskSnapshot,
    op: Operation,
    label: &str,
) {
    assert_eq!(
        snap.status,
        TaskStatus::Succeeded,
        "{label}: task {} ended {} ({:?})",
        snap.provider_task_id,
        snap.status,
        snap.error
    );
    assert!(
        !snap.assets.is_empty(),
        "{label}: succeeded without an asset"
    );
    for asset in &snap.assets {
        assert_eq!(
            asset.kind,
            op.output(),
            "{label}: asset {} is of the wrong kind",
            asset.url
        );
        let bytes = h
            .download(&asset.url)
            .await
            .unwrap_or_else(|e| panic!("{label}: downloading {}: {e}", asset.url));
        let (ok, what) = match asset.kind {
            MediaKind::Video => (is_video(&bytes), "a video (MP4 `ftyp` or WebM)"),
            MediaKind::Image => (is_image(&bytes), "an image (PNG, JPEG or WebP)"),
        };
        assert!(
            ok,
            "{label}: {} is not {what}: {} bytes starting {:02x?}",
            asset.url,
            bytes.len(),
            &bytes[..bytes.len().min(12)]
        );
    }
}

fn usage_amount(usage: Option<&Value>, pointer: &str) -> Option<f64> {
    match usage?.pointer(pointer)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn check_billed(snap: &TaskSnapshot, billed: &Billed, label: &str) {
    let got = usage_amount(snap.usage.as_ref(), &billed.pointer);
    assert!(
        got.is_some_and(|g| (g - billed.amount).abs() < 1e-6),
        "{label}: the upstream billed {} (its own figure); usage{} says {:?} (usage: {:?})",
        billed.amount,
        billed.pointer,
        got,
        snap.usage
    );
    // And priced: the gateway records it as the upstream cost of the task (issue 14
    // point 4), so a provider that reports a figure must turn it into USD.
    assert!(
        snap.billed_usd_micros.is_some_and(|m| m > 0),
        "{label}: the upstream billed {} but billed_usd_micros is {:?}",
        billed.amount,
        snap.billed_usd_micros
    );
}

/// Each operation of each offering submits, reaches `succeeded` and yields assets that
/// download as real media of the operation's kind; where the upstream reports what it
/// billed ([`Harness::billed`]), the snapshot's `usage` carries that figure.
pub async fn every_offered_operation_succeeds_with_real_assets<H: Harness + ?Sized>(h: &H) {
    let id = h.provider().id().to_string();
    for t in targets(h).await {
        let label = t.label(&id);
        let sub = submit_ok(h, &t, None).await;
        let task = t.task_ref(&id, &sub.provider_task_id);
        let snap = wait_final(h, &task, &label).await;
        check_succeeded(h, &snap, t.op, &label).await;
        if let Some(billed) = h.billed(&snap.provider_task_id).await {
            check_billed(&snap, &billed, &label);
        }
    }
}

/// Where the upstream calls back: every callback of a task that is not a handshake
/// (answered by the receiver as the gateway would: [`CallbackReceiver::answering`]) parses
/// to a snapshot of that task, the last agrees with the status query on the final status —
/// and on the assets where it names any (MiniMax's name none: its result URL comes only
/// from `files/retrieve`, and the gateway settles what its query answers); signed
/// callbacks are refused as
/// `Unauthenticated` when the body was changed or the signature is missing, and a body
/// that is not a task is an error, not a panic. Poll-only providers skip this case.
pub async fn callbacks_parse_and_verify<H: Harness + ?Sized>(h: &H) {
    let style = h.callbacks();
    if style == Callbacks::None {
        return;
    }
    let id = h.provider().id().to_string();
    let receiver = CallbackReceiver::answering(h.provider().clone()).await;
    for t in one_per_offering(h).await {
        let label = t.label(&id);
        let name = fresh_external_id(&id);
        let sub = submit_ok(h, &t, Some(&receiver.url(&name))).await;
        let task = t.task_ref(&id, &sub.provider_task_id);
        let polled = wait_final(h, &task, &label).await;
        // Callbacks of the last transition go out as the clock moves past it.
        h.advance(h.step()).await;
        let got = receiver.received(&name);
        assert!(!got.is_empty(), "{label}: no callback arrived");
        let mut parsed = Vec::new();
        for r in &got {
            if h.provider()
                .callback_handshake(t.op, &r.headers, &r.body)
                .is_some()
            {
                continue;
            }
            let snap = h
                .provider()
                .parse_callback(t.op, &r.headers, &r.body)
                .unwrap_or_else(|e| {
                    panic!(
                        "{label}: callback {} refused: {e}",
                        String::from_utf8_lossy(&r.body)
                    )
                });
            assert_eq!(
                snap.provider_task_id, sub.provider_task_id,
                "{label}: a callback names another task"
            );
            parsed.push(snap);
        }
        let last = parsed
            .last()
            .unwrap_or_else(|| panic!("{label}: no status callback arrived, only handshakes"));
        assert_eq!(
            last.status, polled.status,
            "{label}: the last callback says {}, the status query {}",
            last.status, polled.status
        );
        if !last.assets.is_empty() {
            let urls =
                |s: &TaskSnapshot| s.assets.iter().map(|a| a.url.clone()).collect::<Vec<_>>();
            assert_eq!(
                urls(last),
                urls(&polled),
                "{label}: the callback and the status query disagree on the assets"
            );
        }
        let final_cb = got.last().expect("at least one callback");
        let garbage = h
            .provider()
            .parse_callback(t.op, &final_cb.headers, b"not a task");
        assert!(
            garbage.is_err(),
            "{label}: a callback body that is not a task was accepted"
        );
        if style == Callbacks::Signed {
            let mut tampered = final_cb.body.to_vec();
            tampered.push(b' ');
            let e = h
                .provider()
                .parse_callback(t.op, &final_cb.headers, &tampered)
                .expect_err("a signed callback whose body changed must be refused");
            assert_eq!(e.kind(), ErrorKind::Unauthenticated, "{label}: {e}");
            let e = h
                .provider()
                .parse_callback(t.op, &http::HeaderMap::new(), &final_cb.body)
                .expect_err("a callback without its signature must be refused");
            assert_eq!(e.kind(), ErrorKind::Unauthenticated, "{label}: {e}");
        }
    }
}

fn check_maybe_accepted(e: &Error, provider: &str, label: &str, what: &str) {
    assert!(
        e.maybe_accepted(),
        "{label}: {what} must be maybe-accepted (the upstream may run the task): {e}"
    );
    assert!(
        !e.is_retryable(),
        "{label}: {what} must not be retryable (a resubmission could run and bill twice): {e}"
    );
    assert_eq!(
        e.provider(),
        Some(provider),
        "{label}: the error must name its provider: {e}"
    );
}

/// After a submission of unknown outcome with `external_id`: a findable offering finds
/// the task (which then succeeds); a not-findable one answers an error, never `Ok(None)`.
async fn found_as_declared<H: Harness + ?Sized>(h: &H, t: &Target, external_id: &str) {
    let id = h.provider().id().to_string();
    let label = t.label(&id);
    let lookup = t.offering.capability.unknown_lookup;
    let found = h
        .provider()
        .find_unknown(&t.unknown(&id, external_id))
        .await;
    match lookup {
        UnknownLookup::ExternalIdQuery | UnknownLookup::ListScan => {
            let snap = found
                .unwrap_or_else(|e| panic!("{label}: {lookup:?} lookup failed: {e}"))
                .unwrap_or_else(|| {
                    panic!("{label}: {lookup:?} did not find the task the upstream ran")
                });
            let task = t.task_ref(&id, &snap.provider_task_id);
            let done = wait_final(h, &task, &label).await;
            check_succeeded(h, &done, t.op, &label).await;
        }
        UnknownLookup::NotFindable => {
            assert!(
                found.is_err(),
                "{label}: NotFindable must answer an error, never a guess: {found:?}"
            );
        }
    }
}

/// The first offering's first operation.
async fn first_target<H: Harness + ?Sized>(h: &H) -> Target {
    one_per_offering(h)
        .await
        .into_iter()
        .next()
        .expect("targets() is never empty")
}

/// A submission whose answer comes later than the provider waits is reported as
/// `Timeout`, maybe-accepted and not retryable — and the task the upstream created is then
/// found as the offering declares.
pub async fn a_timeout_after_the_body_was_sent_is_maybe_accepted<H: Harness + ?Sized>(h: &H) {
    let id = h.provider().id().to_string();
    let t = first_target(h).await;
    let label = t.label(&id);
    let ext = fresh_external_id(&id);
    h.inject(Call::Submit, Fault::Stalled).await;
    let e = submit(h, &t, None, &ext).await.expect_err(
        "a stalled submission must fail (the harness stalls longer than the provider waits)",
    );
    h.clear_faults().await;
    check_maybe_accepted(&e, &id, &label, "a timeout after the body was sent");
    assert_eq!(e.kind(), ErrorKind::Timeout, "{label}: {e}");
    found_as_declared(h, &t, &ext).await;
}

/// A submission whose connection drops after the upstream processed it is
/// maybe-accepted and not retryable, and its task is found as declared.
pub async fn a_lost_answer_is_maybe_accepted<H: Harness + ?Sized>(h: &H) {
    let id = h.provider().id().to_string();
    let t = first_target(h).await;
    let label = t.label(&id);
    let ext = fresh_external_id(&id);
    h.inject(Call::Submit, Fault::Dropped).await;
    let e = submit(h, &t, None, &ext)
        .await
        .expect_err("a submission whose answer was lost must fail");
    h.clear_faults().await;
    check_maybe_accepted(&e, &id, &label, "a lost answer");
    found_as_declared(h, &t, &ext).await;
}

/// Per offering, the declared [`UnknownLookup`] works: `ExternalIdQuery` and `ListScan`
/// find a task the upstream ran although its answer was lost, and answer `Ok(None)` for
/// an id the upstream never got (and for a submission it refused) — the only answer that
/// lets the gateway refund. `NotFindable` answers an error for both (the hold is kept),
/// and, where the upstream calls back, its callback to the task's URL names the task.
pub async fn unknown_outcomes_are_found_as_declared<H: Harness + ?Sized>(h: &H) {
    let id = h.provider().id().to_string();
    let receiver = CallbackReceiver::answering(h.provider().clone()).await;
    for t in one_per_offering(h).await {
        let label = t.label(&id);
        let lookup = t.offering.capability.unknown_lookup;
        // An id the upstream never saw.
        let never = h
            .provider()
            .find_unknown(&t.unknown(&id, &fresh_external_id(&id)))
            .await;
        match lookup {
            UnknownLookup::NotFindable => assert!(
                never.is_err(),
                "{label}: NotFindable answered {never:?} for an unknown id; only an error keeps the hold"
            ),
            _ => assert!(
                matches!(never, Ok(None)),
                "{label}: {lookup:?} must answer Ok(None) for an id the upstream never got: {never:?}"
            ),
        }
        // A submission the upstream refused before processing left nothing behind.
        if lookup != UnknownLookup::NotFindable
            && h.error_classes().contains(&ErrorClass::Upstream5xx)
        {
            let ext = fresh_external_id(&id);
            h.inject(Call::Submit, Fault::Error(ErrorClass::Upstream5xx))
                .await;
            let refused = submit(h, &t, None, &ext).await;
            h.clear_faults().await;
            let e = refused.expect_err("an injected 5xx must fail the submission");
            assert!(!e.maybe_accepted(), "{label}: {e}");
            let after = h.provider().find_unknown(&t.unknown(&id, &ext)).await;
            assert!(
                matches!(after, Ok(None)),
                "{label}: after a refused submission {lookup:?} must answer Ok(None): {after:?}"
            );
        }
        // A submission whose answer was lost.
        let ext = fresh_external_id(&id);
        let callback = (lookup == UnknownLookup::NotFindable && h.callbacks() != Callbacks::None)
            .then(|| receiver.url(&ext));
        h.inject(Call::Submit, Fault::Dropped).await;
        let lost = submit(h, &t, callback.as_deref(), &ext).await;
        h.clear_faults().await;
        let e = lost.expect_err("a submission whose answer was lost must fail");
        check_maybe_accepted(&e, &id, &label, "a lost answer");
        found_as_declared(h, &t, &ext).await;
        if callback.is_some() {
            // The task runs upstream: its callback, to the URL of this submission, is how
            // the gateway learns its id and outcome.
            let mut named = None;
            for _ in 0..=h.max_steps() {
                let finals: Vec<TaskSnapshot> = receiver
                    .received(&ext)
                    .iter()
                    .filter_map(|r| h.provider().parse_callback(t.op, &r.headers, &r.body).ok())
                    .filter(|s| s.status.is_final())
                    .collect();
                if let Some(s) = finals.into_iter().last() {
                    named = Some(s);
                    break;
                }
                h.advance(h.step()).await;
            }
            let snap = named.unwrap_or_else(|| {
                panic!("{label}: no final callback named the task whose answer was lost")
            });
            let polled = wait_final(h, &t.task_ref(&id, &snap.provider_task_id), &label).await;
            check_succeeded(h, &polled, t.op, &label).await;
        }
    }
}

/// Every class of the provider's error table reaches the caller as its kind: not
/// maybe-accepted (the upstream answered), retryable as the class says, rate limits with
/// their `Retry-After`, the provider named and its message kept.
pub async fn each_error_class_maps_to_its_kind<H: Harness + ?Sized>(h: &H) {
    let id = h.provider().id().to_string();
    let t = first_target(h).await;
    let classes = h.error_classes();
    assert!(
        !classes.is_empty(),
        "{id}: a provider with an upstream has an error table"
    );
    for class in classes {
        let label = format!("{} [{class}]", t.label(&id));
        h.inject(Call::Submit, Fault::Error(class)).await;
        let got = submit(h, &t, None, &fresh_external_id(&id)).await;
        h.clear_faults().await;
        let e = got.expect_err("an injected error must fail the submission");
        assert!(
            class.kinds().contains(&e.kind()),
            "{label}: kind {} (want one of {:?}): {e}",
            e.kind(),
            class.kinds()
        );
        assert_eq!(e.provider(), Some(id.as_str()), "{label}: {e}");
        assert!(!e.message().trim().is_empty(), "{label}: empty message");
        match class.retryable() {
            Some(r) => {
                assert!(
                    !e.maybe_accepted(),
                    "{label}: the upstream answered, nothing is of unknown outcome: {e}"
                );
                assert_eq!(e.is_retryable(), r, "{label}: retryable: {e}");
            }
            None => assert!(
                e.is_retryable() != e.maybe_accepted(),
                "{label}: an upstream timeout is retryable or maybe-accepted, exactly one: {e}"
            ),
        }
        if class == ErrorClass::RateLimited {
            assert_eq!(
                e.retry_after(),
                Some(RETRY_AFTER),
                "{label}: the upstream's Retry-After must reach the caller: {e}"
            );
        }
    }
}

/// A status query that fails — an upstream 5xx, a lost answer — is retryable and never
/// maybe-accepted (a query creates nothing), and the task is still there afterwards.
pub async fn status_failures_are_retryable_and_never_maybe_accepted<H: Harness + ?Sized>(h: &H) {
    let id = h.provider().id().to_string();
    let t = first_target(h).await;
    let label = t.label(&id);
    let sub = submit_ok(h, &t, None).await;
    let task = t.task_ref(&id, &sub.provider_task_id);
    let mut faults = vec![Fault::Dropped];
    if h.error_classes().contains(&ErrorClass::Upstream5xx) {
        faults.push(Fault::Error(ErrorClass::Upstream5xx));
    }
    for fault in faults {
        h.inject(Call::Status, fault).await;
        let got = h.provider().status(&task).await;
        h.clear_faults().await;
        let e = got.expect_err("an injected status fault must fail the query");
        assert!(e.is_retryable(), "{label} [{fault:?}]: {e}");
        assert!(!e.maybe_accepted(), "{label} [{fault:?}]: {e}");
    }
    let done = wait_final(h, &task, &label).await;
    check_succeeded(h, &done, t.op, &label).await;
}
