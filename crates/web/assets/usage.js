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

/** `{duration: 10, resolution: "720p"}` → "duration 10 · resolution 720p". */
function usageText(u) {
  if (!u || typeof u !== "object") return u == null ? "" : String(u);
  return Object.entries(u)
    .filter(([, v]) => v !== null && v !== undefined && typeof v !== "object")
    .map(([k, v]) => `${k} ${v}`)
    .join(" · ");
}

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
    await Promise.all([this.loadSummary(), this.loadLogs()]);
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
