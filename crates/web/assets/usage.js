// The usage dashboard: GET /v1/usage/summary (cards + points-by-model chart) and
// GET /v1/usage/logs (paged table) for one date range (spec/unified-api.md, "usage").

import { ApiError } from "./api.js";
import { barChart } from "./chart.js";
import { el } from "./form.js";

const $ = (id) => document.getElementById(id);
const DAY_MS = 86400000;

/** YYYY-MM-DD of a Date, in UTC (the server's ranges are calendar days). */
export const isoDay = (d) => d.toISOString().slice(0, 10);

/**
 * The `date_range` query value: a preset, or `YYYY-MM-DD_YYYY-MM-DD` for a custom range.
 * Throws with a message naming the problem when the custom range is incomplete or reversed.
 */
export function dateRange(preset, from, to) {
  if (preset !== "custom") return preset;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(from) || !/^\d{4}-\d{2}-\d{2}$/.test(to)) {
    throw new Error("Custom range: pick both a start and an end date (YYYY-MM-DD).");
  }
  if (from > to) throw new Error(`Custom range: start ${from} is after end ${to}.`);
  return `${from}_${to}`;
}

const num = (v) => (typeof v === "number" && Number.isFinite(v) ? v : Number(v) || 0);

function setStat(id, value) {
  const node = $(id);
  node.dataset.value = String(value);
  node.textContent = value.toLocaleString();
}

/** A usage object in words: `{operation: "text_to_video", duration: 10, resolution: "720p"}`
 * → "text to video · 10 s · 720p". */
export function usageText(u) {
  if (!u || typeof u !== "object") return u == null ? "" : String(u);
  const parts = [];
  if (typeof u.operation === "string") parts.push(u.operation.replaceAll("_", " "));
  if (typeof u.duration === "number") parts.push(`${u.duration} s`);
  if (typeof u.images === "number") parts.push(`${u.images} image${u.images === 1 ? "" : "s"}`);
  for (const k of ["resolution", "mode", "quality"]) if (typeof u[k] === "string") parts.push(u[k]);
  if (u.generateAudio === true) parts.push("audio");
  if (typeof u.inputTokens === "number") parts.push(`${u.inputTokens} input tokens`);
  if (typeof u.outputTokens === "number") parts.push(`${u.outputTokens} output tokens`);
  return parts.join(" · ");
}

/** Most log rows read to total the seconds and images of a range (the API's page bound). */
const TOTALS_LIMIT = 1000;

export class UsageDashboard {
  constructor(api) {
    this.api = api;
    this.page = 1;
    this.models = [];
    const from = new Date(Date.now() - 6 * DAY_MS);
    $("usage-from").value = isoDay(from);
    $("usage-to").value = isoDay(new Date());
    $("usage-range").addEventListener("change", () => {
      $("usage-custom").hidden = $("usage-range").value !== "custom";
      if ($("usage-range").value !== "custom") this.refresh();
    });
    $("usage-range-form").addEventListener("submit", (e) => {
      e.preventDefault();
      this.refresh();
    });
    $("usage-model-filter").addEventListener("change", () => {
      this.page = 1;
      this.loadLogs();
    });
    $("usage-limit").addEventListener("change", () => {
      this.page = 1;
      this.loadLogs();
    });
    $("usage-prev").addEventListener("click", () => {
      if (this.page > 1) {
        this.page -= 1;
        this.loadLogs();
      }
    });
    $("usage-next").addEventListener("click", () => {
      this.page += 1;
      this.loadLogs();
    });
  }

  /** Model ids offered in the log filter (catalog models, plus any seen in the summary). */
  setModels(ids) {
    this.models = [...new Set(ids)];
    this.fillFilter([]);
  }

  fillFilter(extra) {
    const sel = $("usage-model-filter");
    const current = sel.value;
    const ids = [...new Set([...this.models, ...extra])].sort();
    sel.replaceChildren(el("option", { value: "", text: "All models" }), ...ids.map((id) => el("option", { value: id, text: id })));
    sel.value = ids.includes(current) ? current : "";
  }

  range() {
    return dateRange($("usage-range").value, $("usage-from").value, $("usage-to").value);
  }

  showError(e) {
    const msg = e instanceof ApiError && e.status === 403
      ? `${e.message} (usage needs an API key with the api.read scope)`
      : e.message;
    $("usage-error").textContent = msg;
  }

  async refresh() {
    this.page = 1;
    $("usage-error").textContent = "";
    await Promise.all([this.loadSummary(), this.loadLogs(), this.loadTotals()]);
  }

  /** Empties every card, the chart and the log (on sign-out). */
  clear() {
    for (const id of ["usage-total-points", "usage-total-requests", "usage-video-seconds", "usage-images"]) {
      $(id).textContent = "—";
      delete $(id).dataset.value;
    }
    $("usage-tokens-card").hidden = true;
    $("usage-chart").replaceChildren();
    $("usage-logs").tBodies[0].replaceChildren();
    $("usage-error").textContent = "";
    this.models = [];
    this.fillFilter([]);
  }

  /** Seconds of video and images generated in the range, from its usage rows. */
  async loadTotals() {
    let range;
    try {
      range = this.range();
    } catch {
      return; // loadSummary shows the range error
    }
    const q = new URLSearchParams({ page: "1", limit: String(TOTALS_LIMIT), date_range: range });
    try {
      const body = await this.api.get(`/v1/usage/logs?${q}`);
      const logs = Array.isArray(body.logs) ? body.logs : [];
      let seconds = 0;
      let images = 0;
      for (const log of logs) {
        const u = log.usage || {};
        if (typeof u.images === "number") images += u.images;
        else if (typeof u.duration === "number") seconds += u.duration;
      }
      setStat("usage-video-seconds", seconds);
      setStat("usage-images", images);
      // More rows than one page: the figures are a lower bound, and say so.
      const partial = (body.total ?? logs.length) > logs.length;
      for (const id of ["usage-video-seconds", "usage-images"]) {
        if (partial) $(id).textContent = `≥ ${$(id).textContent}`;
      }
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 401)) this.showError(e);
    }
  }

  async loadSummary() {
    let range;
    try {
      range = this.range();
    } catch (e) {
      $("usage-error").textContent = e.message;
      return;
    }
    const q = new URLSearchParams({ date_range: range, groupBy: "model" });
    try {
      const s = await this.api.get(`/v1/usage/summary?${q}`);
      setStat("usage-total-points", num(s.totalPointsCharged));
      setStat("usage-total-requests", num(s.totalRequests));
      setStat("usage-input-tokens", num(s.totalInputTokens));
      setStat("usage-output-tokens", num(s.totalOutputTokens));
      $("usage-tokens-card").hidden = num(s.totalInputTokens) + num(s.totalOutputTokens) === 0;
      const by = s.byModel && typeof s.byModel === "object" ? s.byModel : {};
      const rows = Object.entries(by).map(([label, v]) => ({ label, value: num(v?.pointsCharged) }));
      const title = `Points by model, ${range.replaceAll("_", " ")}`;
      $("usage-chart-title").textContent = title;
      $("usage-chart").replaceChildren(barChart(rows, { title, unit: "points" }));
      this.fillFilter(Object.keys(by));
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 401)) this.showError(e);
    }
  }

  async loadLogs() {
    let range;
    try {
      range = this.range();
    } catch (e) {
      $("usage-error").textContent = e.message;
      return;
    }
    const limit = Number($("usage-limit").value) || 20;
    const q = new URLSearchParams({ page: String(this.page), limit: String(limit), date_range: range });
    const model = $("usage-model-filter").value;
    if (model) q.set("model", model);
    const tbody = $("usage-logs").tBodies[0];
    try {
      const body = await this.api.get(`/v1/usage/logs?${q}`);
      const logs = Array.isArray(body.logs) ? body.logs : [];
      tbody.replaceChildren(...logs.map((log) => {
        const t = log.createdAt ? new Date(log.createdAt) : null;
        const when = t && !Number.isNaN(t.getTime())
          ? el("time", { datetime: t.toISOString(), text: t.toLocaleString() })
          : String(log.createdAt ?? "");
        return el("tr", { class: "log-row", "data-model": log.model ?? "" },
          el("td", {}, when),
          el("td", {}, el("code", { class: "log-task", text: log.taskId ?? "" })),
          el("td", {}, el("code", { text: log.model ?? "" })),
          el("td", { class: "num", text: num(log.pointsCharged).toLocaleString() }),
          el("td", { class: "usage", text: usageText(log.usage) }));
      }));
      $("usage-logs-empty").hidden = logs.length > 0 || this.page > 1;
      // Paging: trust total/totalPages/hasMore when the server sends them, else a full
      // page means there may be more.
      const total = body.total ?? body.totalCount ?? body.pagination?.total;
      const pages = body.totalPages ?? body.pagination?.totalPages ?? (total != null ? Math.max(1, Math.ceil(total / limit)) : null);
      const more = pages != null ? this.page < pages : body.hasMore ?? logs.length >= limit;
      $("usage-page").textContent = pages != null ? `Page ${this.page} of ${pages}` : `Page ${this.page}`;
      $("usage-prev").disabled = this.page <= 1;
      $("usage-next").disabled = !more;
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 401)) this.showError(e);
    }
  }
}
