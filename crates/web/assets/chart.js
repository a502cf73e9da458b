// A horizontal bar chart as inline SVG (no library): one bar per label, value at its end.
// Horizontal so that long model ids stay readable on narrow screens.

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs = {}, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

/**
 * Draws `rows` ([{label, value}]) sorted by value, largest first.
 * @returns {SVGSVGElement | HTMLParagraphElement} the chart, or a note when there is no data
 */
export function barChart(rows, { title, unit = "" } = {}) {
  const data = rows.filter((r) => Number.isFinite(r.value)).sort((a, b) => b.value - a.value);
  if (!data.length || data.every((r) => r.value === 0)) {
    const p = document.createElement("p");
    p.className = "muted chart-empty";
    p.textContent = "No usage in this range.";
    return p;
  }
  const width = 640;
  const labelW = 190;
  const valueW = 80;
  const rowH = 30;
  const barH = 18;
  const top = 6;
  const height = top * 2 + rowH * data.length;
  const max = Math.max(...data.map((r) => r.value));
  const plotW = width - labelW - valueW;
  const summary = data.map((r) => `${r.label}: ${r.value.toLocaleString()}${unit ? ` ${unit}` : ""}`).join("; ");
  const root = svg("svg", {
    viewBox: `0 0 ${width} ${height}`,
    role: "img",
    "aria-label": `${title || "Chart"}. ${summary}`,
    class: "bar-chart",
    preserveAspectRatio: "xMinYMin meet",
  });
  root.append(svg("title", {}, title || "Chart"));
  // Gridlines at quarters of the largest value.
  for (let q = 1; q <= 4; q++) {
    const x = labelW + (plotW * q) / 4;
    root.append(svg("line", { x1: x, x2: x, y1: top, y2: height - top, class: "grid" }));
  }
  data.forEach((r, i) => {
    const y = top + i * rowH;
    const w = max > 0 ? Math.max((plotW * r.value) / max, r.value > 0 ? 2 : 0) : 0;
    const g = svg("g", { class: "bar", "data-label": r.label, "data-value": r.value });
    const label = r.label.length > 26 ? `${r.label.slice(0, 25)}…` : r.label;
    g.append(
      svg("text", { x: labelW - 8, y: y + rowH / 2, class: "label", "text-anchor": "end", "dominant-baseline": "middle" }, label),
      svg("rect", { x: labelW, y: y + (rowH - barH) / 2, width: w, height: barH, rx: 3 }),
      svg("text", { x: labelW + w + 6, y: y + rowH / 2, class: "value", "dominant-baseline": "middle" }, r.value.toLocaleString()),
    );
    g.append(svg("title", {}, `${r.label}: ${r.value.toLocaleString()}${unit ? ` ${unit}` : ""}`));
    root.append(g);
  });
  return root;
}
