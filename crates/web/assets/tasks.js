// The task list: the account's tasks from the gateway's listing (GET …/tasks, newest
// first, issue 13 point 5) plus tasks created in this tab (kept in sessionStorage), with
// their prompt, live status, previews of finished assets and a Cancel button where the
// gateway says the task can be cancelled (POST …/{taskId}/cancel).
// spec/unified-api.md: completion is delivered primarily by callback and the status
// endpoint is "not for tight polling", so polling backs off from 2 s to 10 s.

import { ApiError } from "./api.js";
import { el } from "./form.js";

const STORAGE = "genmux.tasks";
const FIRST_DELAY_MS = 2000;
const MAX_DELAY_MS = 10000;
const BACKOFF = 1.6;
// How many of the account's newest tasks the listing shows.
const SERVER_PAGE = 50;
// Statuses after which nothing changes (core TaskStatus::is_final, plus upstream spellings).
const FINAL = new Set(["succeeded", "failed", "completed", "complete", "success", "error", "canceled", "cancelled", "expired"]);
const FAILED = new Set(["failed", "error", "canceled", "cancelled", "expired"]);

export const isFinal = (s) => FINAL.has(String(s || "").toLowerCase());

// Results kept by the gateway (issue 18) are served from /v1/assets/{id} with the API key,
// which <video src> and <img src> cannot send: their previews load from a signed,
// expiring link the gateway makes (GET /v1/assets/{id}/link).
const ASSET_PATH = /^\/v1\/assets\/[^/]+$/;

/** The path of a gateway asset URL of this page's origin without a signature, else null. */
export function assetPath(url) {
  try {
    const u = new URL(url, location.href);
    return u.origin === location.origin && ASSET_PATH.test(u.pathname) && !u.search ? u.pathname : null;
  } catch {
    return null;
  }
}

const VIDEO_EXT = /\.(mp4|webm|mov|m4v|ogv)(\?|#|$)/i;
const IMAGE_EXT = /\.(png|jpe?g|webp|gif|avif|bmp)(\?|#|$)/i;

/**
 * Every media URL in a status body's `output` / `assets`, with its kind. Tolerates the
 * shapes upstreams use: `assets: [{kind, url}]` (genmux-core Asset), `output: {videoUrl}`,
 * `output: {videos: [{url}]}`, `output: {images: ["…"]}`, nested combinations.
 */
export function extractAssets(status, fallbackKind = "video") {
  const found = [];
  const seen = new Set();
  const push = (url, kind) => {
    if (typeof url !== "string" || !/^(https?:|data:|blob:|\/)/i.test(url) || seen.has(url)) return;
    seen.add(url);
    let k = kind;
    if (!k) k = VIDEO_EXT.test(url) ? "video" : IMAGE_EXT.test(url) ? "image" : fallbackKind;
    found.push({ url, kind: k });
  };
  const kindOf = (s) => {
    const t = String(s || "").toLowerCase();
    if (t.includes("video")) return "video";
    if (t.includes("image")) return "image";
    return null;
  };
  const walk = (node, hint, depth) => {
    if (node == null || depth > 6) return;
    if (typeof node === "string") {
      push(node, hint);
      return;
    }
    if (Array.isArray(node)) {
      node.forEach((n) => walk(n, hint, depth + 1));
      return;
    }
    if (typeof node !== "object") return;
    const own = kindOf(node.kind || node.type || node.mediaType || node.contentType) || hint;
    for (const [k, v] of Object.entries(node)) {
      if (/thumb|cover|poster|preview/i.test(k)) continue;
      if (typeof v === "string") {
        if (/url$|^url|^src$|^uri$|^href$/i.test(k)) push(v, kindOf(k) || own);
      } else {
        walk(v, kindOf(k) || own, depth + 1);
      }
    }
  };
  walk(status?.assets, null, 0);
  walk(status?.output, null, 0);
  return found;
}

function loadStored() {
  try {
    const v = JSON.parse(sessionStorage.getItem(STORAGE) || "[]");
    return Array.isArray(v) ? v : [];
  } catch {
    return [];
  }
}

export class TaskList {
  constructor(api, listEl, emptyEl) {
    this.api = api;
    this.listEl = listEl;
    this.emptyEl = emptyEl;
    this.tasks = new Map();
    this.timers = new Map();
  }

  /** Restores this tab's tasks and resumes polling the unfinished ones. */
  restore() {
    for (const t of loadStored().reverse()) this.add(t, { persist: false });
  }

  /** Stops polling (sign-out) and forgets the rendered list. */
  stop() {
    for (const id of this.timers.values()) clearTimeout(id);
    this.timers.clear();
    this.tasks.clear();
    this.listEl.replaceChildren();
    this.emptyEl.hidden = false;
  }

  /** Stops polling and forgets this tab's tasks (sign-out: the next key may be another account). */
  clear() {
    this.stop();
    try {
      sessionStorage.removeItem(STORAGE);
    } catch {
      // Storage disabled: nothing was kept.
    }
  }

  persist() {
    try {
      const list = [...this.tasks.values()].filter((t) => t.local).map(({ el: _el, previewsEl: _p, previewsKey: _k, cancelling: _c, ...t }) => t);
      sessionStorage.setItem(STORAGE, JSON.stringify(list.slice(-100)));
    } catch {
      // Storage full or disabled: the list still works for this page view.
    }
  }

  /**
   * Adds a task (or updates it if known) and starts polling it unless it is finished.
   * @param {{taskId, model, base, kind, status, pointsCharged, createdAt, local}} t
   */
  add(t, { persist = true } = {}) {
    if (!t || !t.taskId) return;
    const known = this.tasks.get(t.taskId);
    if (known) {
      Object.assign(known, t, { local: known.local || t.local });
      this.render(known);
      return;
    }
    const task = { status: "submitted", assets: [], ...t };
    task.el = el("li", { class: "task", "data-task-id": task.taskId });
    this.tasks.set(task.taskId, task);
    this.insert(task);
    this.emptyEl.hidden = true;
    this.render(task);
    if (persist) this.persist();
    if (!isFinal(task.status)) this.poll(task, FIRST_DELAY_MS);
    else if (!task.assets.length && !FAILED.has(task.status)) this.poll(task, 0);
  }

  /**
   * Adds (or refreshes) the account's newest tasks from the gateway's listing; a gateway
   * without one (404) is tolerated.
   */
  async loadServerTasks(base) {
    const body = await this.api.optional(`${base}/tasks?limit=${SERVER_PAGE}`);
    if (!body) return;
    const list = Array.isArray(body) ? body : body.tasks || body.data || body.items || [];
    for (const item of list.slice(0, SERVER_PAGE).reverse()) {
      const taskId = item.taskId || item.id;
      if (!taskId) continue;
      const assets = extractAssets(item, item.kind || "video");
      const update = {
        taskId,
        model: item.model,
        base,
        kind: item.kind,
        status: item.status || "submitted",
        pointsCharged: item.pointsCharged,
        createdAt: item.createdAt,
        prompt: typeof item.prompt === "string" ? item.prompt : undefined,
        cancellable: item.cancellable === true,
        error: typeof item.error === "string" ? item.error : undefined,
        local: false,
      };
      // Keep assets already shown when the listing has none (a task still running).
      if (assets.length || !this.tasks.has(taskId)) update.assets = assets;
      this.add(update, { persist: false });
    }
  }

  /** Cancels a task (POST …/{taskId}/cancel); the gateway's refusal is shown on the task. */
  async cancel(task) {
    task.cancelling = true;
    task.note = undefined;
    this.render(task);
    try {
      const body = await this.api.post(`${task.base}/${encodeURIComponent(task.taskId)}/cancel`, {});
      task.cancellable = false;
      this.applyStatus(task, body);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return; // signed out
      // 409: not cancellable (it finished, or its provider cannot): say why, stop offering.
      if (e instanceof ApiError && e.status === 409) task.cancellable = false;
      task.note = `Cancel failed: ${e.message}`;
    } finally {
      task.cancelling = false;
      if (this.tasks.has(task.taskId)) this.render(task);
    }
  }

  /** Puts a new task's element in newest-first order (by createdAt; unknown times first). */
  insert(task) {
    const time = (t) => {
      const ms = t && t.createdAt ? Date.parse(t.createdAt) : NaN;
      return Number.isNaN(ms) ? Infinity : ms;
    };
    const mine = time(task);
    const older = [...this.listEl.children].find((li) => time(this.tasks.get(li.dataset.taskId)) < mine);
    if (older) this.listEl.insertBefore(task.el, older);
    else this.listEl.append(task.el);
  }

  poll(task, delay) {
    clearTimeout(this.timers.get(task.taskId));
    const timer = setTimeout(async () => {
      this.timers.delete(task.taskId);
      if (!this.tasks.has(task.taskId)) return;
      let next = Math.min(Math.max(delay, FIRST_DELAY_MS) * BACKOFF, MAX_DELAY_MS);
      try {
        const body = await this.api.get(`${task.base}/${encodeURIComponent(task.taskId)}/status`);
        this.applyStatus(task, body);
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) return; // signed out
        if (e instanceof ApiError && e.status === 404) {
          task.error = e.message;
          task.status = "unknown";
          this.render(task);
          return;
        }
        task.note = `Status check failed: ${e.message}; retrying`;
        this.render(task);
      }
      if (!isFinal(task.status) && this.tasks.has(task.taskId)) this.poll(task, next);
    }, delay);
    this.timers.set(task.taskId, timer);
  }

  applyStatus(task, body) {
    if (body.status) task.status = String(body.status);
    const assets = extractAssets(body, task.kind || "video");
    if (assets.length) task.assets = assets;
    const err = typeof body.error === "string" ? body.error : body.error?.message;
    task.error = err || undefined;
    task.note = undefined;
    this.render(task);
    this.persist();
    this.onUpdate?.(task);
  }

  /**
   * Points `media` and `open` at a signed link to the gateway asset at `path`. A link
   * expires (an hour by default): when the element fails on one, a new link is asked for
   * (at most 3 times: a file the browser cannot play fails every link) and playback
   * resumes where it was.
   */
  async loadSigned(path, kind, media, open, tries = 0) {
    try {
      const body = await this.api.get(`${path}/link`);
      const at = media.currentTime || 0;
      media.src = body.url;
      open.href = body.url;
      if (at && "currentTime" in media) media.currentTime = at;
      if (tries < 3) {
        media.addEventListener("error", () => this.loadSigned(path, kind, media, open, tries + 1), { once: true });
      }
    } catch (e) {
      open.textContent = `Cannot load the ${kind}: ${e.message || e}`;
    }
  }

  render(task) {
    const status = String(task.status || "unknown").toLowerCase();
    task.el.dataset.status = status;
    const state = FAILED.has(status) ? "failed" : isFinal(status) ? "done" : "running";
    const created = task.createdAt ? new Date(task.createdAt) : null;
    const meta = [
      el("code", { class: "task-id", text: task.taskId }),
      task.pointsCharged != null ? el("span", { class: "points", text: `${task.pointsCharged} points` }) : null,
      created && !Number.isNaN(created.getTime()) ? el("time", { datetime: created.toISOString(), text: created.toLocaleString() }) : null,
    ].filter(Boolean);
    // Rebuilt only when the assets change, so a playing video is not reset by a re-render.
    const key = JSON.stringify(task.assets || []);
    if (task.previewsKey !== key) {
      task.previewsKey = key;
      task.previewsEl = el("div", { class: "previews" });
      for (const a of task.assets || []) {
        const kept = assetPath(a.url);
        const src = kept ? undefined : a.url;
        const media = a.kind === "image"
          ? el("img", { src, alt: `Image from task ${task.taskId}`, loading: "lazy" })
          : el("video", { src, controls: true, preload: "metadata", playsinline: true, "aria-label": `Video from task ${task.taskId}` });
        const open = el("a", { href: src, target: "_blank", rel: "noopener", download: "", text: `Open ${a.kind}` });
        if (kept) this.loadSigned(kept, a.kind, media, open);
        task.previewsEl.append(el("figure", { class: "preview" }, media, el("figcaption", {}, open)));
      }
    }
    // replaceChildren would print a null as "null": drop the absent parts first.
    let cancel = null;
    if (task.cancellable && !isFinal(status)) {
      cancel = el("button", { type: "button", class: "secondary task-cancel", text: task.cancelling ? "Cancelling…" : "Cancel" });
      cancel.disabled = Boolean(task.cancelling);
      cancel.addEventListener("click", () => this.cancel(task));
    }
    const parts = [
      el("div", { class: "task-head" },
        el("span", { class: "task-model", text: task.model || "task" }),
        el("span", { class: `status badge ${state}`, text: status })),
      task.prompt ? el("p", { class: "task-prompt", text: task.prompt }) : null,
      el("div", { class: "task-meta" }, meta.flatMap((m, i) => (i ? [" · ", m] : [m]))),
      cancel ? el("div", { class: "task-actions" }, cancel) : null,
      task.error ? el("p", { class: "task-error error", text: task.error }) : null,
      task.note ? el("p", { class: "task-note muted", text: task.note }) : null,
      task.assets?.length ? task.previewsEl : null,
    ];
    task.el.replaceChildren(...parts.filter(Boolean));
  }
}
