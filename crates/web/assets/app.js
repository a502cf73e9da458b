// genmux web page: sign-in, the generation form (rendered from GET /unified-video/models),
// tasks and usage. Plain ES modules, no build step.
//
// Stable hooks for browser tests (keep them when changing the page):
//   Sign-in   #signin-section, #api-key (input), #sign-in (button), #signin-error,
//             #sign-out, #signed-in-as
//   Form      #generate-form, #model (select, option value = model id), #model-description,
//             #fields; one input per catalog field: [data-field="<name>"] (nested names as in
//             the catalog: `cameraControl.cameraSpeed`, `multiPrompt[].prompt`; list items
//             carry data-index), list add/remove buttons [data-add="<name>"],
//             [data-remove="<name>"], groups [data-field-group="<name>"]
//   Quote     #quote-points (text = pointsCharged; data-state = idle|pending|ok|error),
//             #quote-error
//   Submit    #submit (disabled while the request runs), #submit-error, #submit-result,
//             #points-charged, #task-id, #task-status
//   Tasks     #task-list > li.task[data-task-id][data-status] with .status, .task-prompt,
//             .previews video[src] / img[src], .task-error, .task-note,
//             button.task-cancel (only where the listing says `cancellable`); #tasks-refresh
//   Form+     #fields details[data-advanced] holds the catalog's advanced fields (collapsed);
//             an id field (catalog `pick`) has datalist[data-picks="<name>"] of the
//             account's own results
//   Usage     #usage-range (today|last_7_days|last_30_days|last_90_days|custom), #usage-from,
//             #usage-to, #usage-refresh, #usage-error, #usage-total-points,
//             #usage-total-requests, #usage-video-seconds, #usage-images,
//             #usage-input-tokens, #usage-output-tokens (in #usage-tokens-card, shown only
//             when non-zero) (text formatted, data-value raw),
//             #usage-chart svg .bar[data-label][data-value], #usage-logs tbody tr.log-row,
//             #usage-model-filter, #usage-limit, #usage-prev, #usage-next, #usage-page
//   Balance   #balance (text formatted; data-value = balance, data-held = held points),
//             from GET /v1/balance after sign-in, after a generate and when a task finishes
//   Page      body[data-ready="true"] once the models have loaded after sign-in.
//   Sandbox   #sandbox-banner (visible when GET /healthz says "sandbox": true),
//             body[data-sandbox="true"|"false"] once /healthz answered

import { Api, ApiError, storedKey, storeKey, uuid } from "./api.js";
import { el, renderModelForm } from "./form.js";
import { TaskList } from "./tasks.js";
import { UsageDashboard } from "./usage.js";
import { showSandboxBanner } from "./sandbox.js";
import { BalanceBadge } from "./balance.js";

const $ = (id) => document.getElementById(id);
const QUOTE_DEBOUNCE_MS = 300;
// Models come from these listings; each model is quoted and generated on its own family's
// endpoints. Image models are optional (a gateway without them answers 404).
const FAMILIES = [
  { base: "/unified-video", kind: "video", label: "Video", required: true },
  { base: "/unified-image", kind: "image", label: "Image", required: false },
];

const state = {
  models: new Map(), // id -> {summary, params, hints, base, kind}
  picks: {}, // result kind -> [{id, label}]: the account's own results, for id fields
  form: null,
  quoteSeq: 0,
  quoteTimer: 0,
};

const api = new Api(storedKey, (message) => signOut(message));
const tasks = new TaskList(api, $("task-list"), $("tasks-empty"));
const usage = new UsageDashboard(api);
const balance = new BalanceBadge(api, $("balance"));
const FINAL = new Set(["succeeded", "failed"]);
tasks.onUpdate = (t) => {
  if (t.taskId === $("task-id").textContent) $("task-status").textContent = t.status;
  // A finished task's hold is charged or refunded: the header follows.
  if (FINAL.has(String(t.status).toLowerCase())) {
    balance.refresh();
    // A new result can be the input of the next request (extend, lip sync).
    if (String(t.status).toLowerCase() === "succeeded") refreshPicks();
  }
};

function maskKey(key) {
  return key.length > 10 ? `${key.slice(0, 8)}…${key.slice(-4)}` : "key";
}

function showSignIn(message = "") {
  document.body.dataset.ready = "false";
  $("app").hidden = true;
  $("nav").hidden = true;
  $("account").hidden = true;
  $("signin-section").hidden = false;
  $("signin-error").textContent = message;
  $("api-key").value = "";
  $("api-key").focus();
}

function signOut(message = "") {
  storeKey("");
  tasks.clear();
  balance.clear();
  usage.clear();
  clearTimeout(state.quoteTimer);
  state.models.clear();
  state.picks = {};
  state.form = null;
  // Nothing of the previous key may stay on screen for the next one.
  $("fields").replaceChildren();
  $("model").replaceChildren();
  $("submit-result").hidden = true;
  for (const id of ["points-charged", "task-id", "task-status", "submit-error", "quote-error", "models-error"]) {
    $(id).textContent = "";
  }
  setQuote("—", "idle");
  showSignIn(message);
}

/**
 * The account's own finished results, by kind, for fields that take an earlier result's id
 * (the catalog's `pick`): newest first, labelled by prompt and time.
 */
async function loadPicks() {
  const picks = {};
  for (const fam of FAMILIES) {
    let body;
    try {
      body = await api.get(`${fam.base}/tasks?status=succeeded&limit=100`);
    } catch {
      continue; // no listing, no picker: the field still takes a pasted id
    }
    for (const t of Array.isArray(body?.tasks) ? body.tasks : []) {
      for (const a of Array.isArray(t.assets) ? t.assets : []) {
        if (!a || !a.id || !a.kind) continue;
        const when = t.createdAt ? new Date(t.createdAt).toLocaleString() : "";
        const what = typeof t.prompt === "string" && t.prompt ? t.prompt.slice(0, 60) : t.model;
        (picks[a.kind] ||= []).push({ id: a.id, label: `${what} · ${when}` });
      }
    }
  }
  state.picks = picks;
}

async function signIn(key) {
  storeKey(key);
  $("signin-error").textContent = "";
  $("sign-in").disabled = true;
  try {
    await loadModels();
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return; // signOut already showed it
    storeKey("");
    showSignIn(e.message);
    return;
  } finally {
    $("sign-in").disabled = false;
  }
  $("signin-section").hidden = true;
  $("app").hidden = false;
  $("nav").hidden = false;
  $("account").hidden = false;
  $("signed-in-as").textContent = `Signed in with ${maskKey(key)}`;
  document.body.dataset.ready = "true";
  tasks.restore();
  for (const f of FAMILIES) tasks.loadServerTasks(f.base).catch(() => {});
  usage.setModels([...state.models.keys()]);
  usage.refresh();
  balance.refresh();
  refreshPicks();
}

/** Reloads the picker choices and re-renders the form if a field offers them. */
async function refreshPicks() {
  await loadPicks();
  const m = state.models.get($("model").value);
  if (m && (m.params.fields || []).some((f) => f.pick)) renderForm(state.form ? state.form.value() : {});
}

/** Loads every family's models into the picker and renders the first model's form. */
async function loadModels() {
  state.models.clear();
  const select = $("model");
  const previous = select.value;
  select.replaceChildren();
  for (const fam of FAMILIES) {
    const doc = fam.required
      ? await api.get(`${fam.base}/models`)
      : await api.optional(`${fam.base}/models`).catch((e) => {
          if (e instanceof ApiError && e.status === 401) throw e;
          return null; // an optional family failing must not block the page
        });
    if (!doc || !Array.isArray(doc.models) || !doc.models.length) continue;
    const group = el("optgroup", { label: fam.label });
    for (const m of doc.models) {
      if (!m || !m.id || state.models.has(m.id)) continue;
      state.models.set(m.id, {
        summary: m,
        params: doc.modelParams?.[m.id] || { fields: [] },
        hints: doc.pricingHints?.models?.[m.id],
        base: fam.base,
        kind: m.kind || fam.kind,
      });
      group.append(el("option", { value: m.id, text: m.name && m.name !== m.id ? `${m.name} (${m.id})` : m.id }));
    }
    if (group.children.length) select.append(group);
  }
  if (!state.models.size) throw new Error("The gateway lists no models (GET /unified-video/models).");
  if (state.models.has(previous)) select.value = previous;
  renderForm({});
}

/** Renders the selected model's fields, carrying over values that still fit. */
function renderForm(carry) {
  const m = state.models.get($("model").value);
  if (!m) return;
  $("model-description").textContent = m.summary.description || "";
  state.form = renderModelForm($("fields"), m.params, scheduleQuote, state.picks);
  state.form.set(carry);
  const rules = Array.isArray(m.params.rules) ? m.params.rules : [];
  $("model-rules").replaceChildren(...rules.map((r) => el("li", { text: r.description || String(r.id || r) })));
  const examples = Array.isArray(m.hints?.examples) ? m.hints.examples : [];
  $("price-examples").hidden = examples.length === 0;
  $("price-examples-list").replaceChildren(...examples.map((ex) => {
    const req = { ...(ex.request || {}) };
    delete req.model;
    delete req.prompt;
    // A field standing for an earlier result (catalog `needs`) shows no placeholder id:
    // the form's picker offers the account's own results for it.
    const needs = new Map((Array.isArray(ex.needs) ? ex.needs : []).map((n) => [n.field, n]));
    const desc = Object.entries(req).map(([k, v]) => needs.has(k)
      ? `${k}: one of your ${needs.get(k).kind || "result"}s (pick it above; ${needs.get(k).from} makes one)`
      : `${k} ${typeof v === "object" ? JSON.stringify(v) : v}`).join(", ");
    return el("li", {}, desc || "defaults", " → ", el("strong", { text: String(ex.pointsCharged) }), " points");
  }));
  $("submit-error").textContent = "";
  quoteNow();
}

function body() {
  return { model: $("model").value, ...(state.form ? state.form.value() : {}) };
}

function setQuote(text, stateName, error = "") {
  $("quote-points").textContent = text;
  $("quote-points").dataset.state = stateName;
  $("quote-error").textContent = error;
}

function scheduleQuote() {
  clearTimeout(state.quoteTimer);
  $("quote-points").dataset.state = "pending";
  state.quoteTimer = setTimeout(quoteNow, QUOTE_DEBOUNCE_MS);
}

/** POST …/quote with exactly the generate body; only the latest answer is shown. */
async function quoteNow() {
  clearTimeout(state.quoteTimer);
  const m = state.models.get($("model").value);
  if (!m) return;
  const seq = ++state.quoteSeq;
  $("quote-points").dataset.state = "pending";
  try {
    const q = await api.post(`${m.base}/quote`, body(), { allow: [400, 402, 403, 404, 409, 422] });
    if (seq !== state.quoteSeq) return;
    if (q.success === false || typeof q.pointsCharged !== "number") {
      setQuote("—", "error", q.error ? (typeof q.error === "string" ? q.error : q.error.message) : "This combination cannot be priced.");
    } else {
      setQuote(String(q.pointsCharged), "ok");
    }
  } catch (e) {
    if (seq !== state.quoteSeq || (e instanceof ApiError && e.status === 401)) return;
    setQuote("—", "error", e.message);
  }
}

async function submit(event) {
  event.preventDefault();
  const form = $("generate-form");
  if (!form.reportValidity()) return;
  const m = state.models.get($("model").value);
  if (!m) return;
  const button = $("submit");
  button.disabled = true;
  button.textContent = "Generating…";
  $("submit-error").textContent = "";
  const request = body();
  try {
    // A new key per submission: the gateway deduplicates retries of the same one.
    const res = await api.post(`${m.base}/generate`, request, { headers: { "Idempotency-Key": uuid() } });
    if (res.success === false || !res.taskId) {
      throw new Error(res.error ? String(res.error) : "The gateway did not create a task.");
    }
    $("points-charged").textContent = String(res.pointsCharged ?? "—");
    $("task-id").textContent = res.taskId;
    $("task-status").textContent = res.status || "submitted";
    $("submit-result").hidden = false;
    tasks.add({
      taskId: res.taskId,
      model: res.model || request.model,
      base: m.base,
      kind: m.kind,
      status: res.status || "submitted",
      pointsCharged: res.pointsCharged,
      createdAt: new Date().toISOString(),
      prompt: typeof request.prompt === "string" ? request.prompt : undefined,
      local: true,
    });
    // The listing says whether the new task can be cancelled.
    tasks.loadServerTasks(m.base).catch(() => {});
    usage.refresh();
    balance.refresh();
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 401)) $("submit-error").textContent = e.message;
  } finally {
    button.disabled = false;
    button.textContent = "Generate";
  }
}

function start() {
  $("signin-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const key = $("api-key").value.trim();
    if (!key) {
      $("signin-error").textContent = "Enter an API key (it starts with gmx_).";
      return;
    }
    signIn(key);
  });
  $("sign-out").addEventListener("click", () => signOut("Signed out."));
  $("model").addEventListener("change", () => {
    const carry = state.form ? state.form.value() : {};
    renderForm(carry);
  });
  const fields = $("fields");
  fields.addEventListener("input", scheduleQuote);
  fields.addEventListener("change", scheduleQuote);
  $("generate-form").addEventListener("submit", submit);
  $("tasks-refresh").addEventListener("click", () => {
    for (const f of FAMILIES) tasks.loadServerTasks(f.base).catch(() => {});
  });
  showSandboxBanner($("sandbox-banner"));
  const key = storedKey();
  if (key) signIn(key);
  else showSignIn();
}

start();
