// The generation form, rendered from `modelParams[model].fields` of GET /unified-video/models
// (spec/unified-api.md: "the source of truth a front end renders its form from"). Nothing
// here knows a model or a field name: every input comes from a field definition
// {name, type, required, default, enum, min, max, minLength, maxLength, minItems, maxItems,
// label, description}. Nested fields are named `parent.child` (object) and
// `list[].child` (object_list items).

let nextId = 0;
const uid = (p) => `${p}-${++nextId}`;

/** Creates an element with attributes/properties and children. */
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k in e && typeof v !== "string") e[k] = v;
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

/** `aspectRatio` → "Aspect ratio", `multiPrompt[].duration` → "Duration". */
export function humanize(name) {
  const last = name.split(".").pop().replace("[]", "");
  const words = last.replace(/([a-z0-9])([A-Z])/g, "$1 $2").replace(/[_-]+/g, " ").toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** The fields directly under `prefix` ("" = top level, "cameraControl.", "multiPrompt[]."). */
export function childFields(fields, prefix) {
  return fields.filter((f) => {
    if (!f.name.startsWith(prefix)) return false;
    const rest = f.name.slice(prefix.length);
    return rest.length > 0 && !rest.includes(".") && !rest.includes("[]");
  });
}

const fmt = (n) => (Number.isInteger(n) ? String(n) : String(Number(n.toFixed(6))));

/** One line describing a field's limits, shown under its input. */
function limitsText(f) {
  const parts = [];
  if (f.min != null && f.max != null) parts.push(`${fmt(f.min)}–${fmt(f.max)}`);
  else if (f.min != null) parts.push(`≥ ${fmt(f.min)}`);
  else if (f.max != null) parts.push(`≤ ${fmt(f.max)}`);
  if (f.minLength != null && f.maxLength != null) parts.push(`${f.minLength}–${f.maxLength} characters`);
  else if (f.maxLength != null) parts.push(`up to ${f.maxLength} characters`);
  else if (f.minLength != null) parts.push(`at least ${f.minLength} character${f.minLength === 1 ? "" : "s"}`);
  if (f.minItems != null && f.maxItems != null) {
    parts.push(f.minItems === f.maxItems ? `exactly ${f.minItems}` : `${f.minItems}–${f.maxItems} items`);
  } else if (f.maxItems != null) parts.push(`up to ${f.maxItems} item${f.maxItems === 1 ? "" : "s"}`);
  else if (f.minItems != null) parts.push(`at least ${f.minItems} item${f.minItems === 1 ? "" : "s"}`);
  return parts.join(" · ");
}

/** A label with a required marker, and the help paragraph (description + limits). */
function labelAndHelp(f, inputId) {
  const label = el("label", { for: inputId }, f.label || humanize(f.name));
  if (f.required) {
    label.append(" ", el("abbr", { class: "req", title: "required", "aria-hidden": "true", text: "*" }));
  }
  const helpText = [f.description, limitsText(f)].filter(Boolean).join(" — ");
  const help = helpText ? el("p", { class: "help", id: `${inputId}-help`, text: helpText }) : null;
  return { label, help };
}

/** The input step for a number field: integers step 1, decimals ~1/100 of the range. */
function numberStep(f) {
  if (f.type === "integer") return "1";
  if (f.min != null && f.max != null && f.max > f.min) {
    return String(10 ** Math.floor(Math.log10((f.max - f.min) / 100)));
  }
  return "any";
}

const isEmpty = (v) =>
  v === undefined || (Array.isArray(v) && v.length === 0) ||
  (v && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 0);

/**
 * A rendered field: `element` to insert, `value()` for the request body (undefined = omit),
 * `set(v)` to carry a value over when the model changes.
 */
function control(f, fields, defaults, changed, picks) {
  switch (f.type) {
    case "media_list":
    case "string_list":
      return listControl(f, changed);
    case "object":
      return childFields(fields, `${f.name}.`).length
        ? objectControl(f, fields, changed)
        : jsonControl(f);
    case "object_list":
      return objectListControl(f, fields, changed);
    default:
      return scalarControl(f, defaults, picks);
  }
}

function parseScalar(f, raw) {
  if (raw === "") return undefined;
  if (f.type === "integer") {
    const n = Number(raw);
    return Number.isFinite(n) ? n : raw;
  }
  if (f.type === "number") {
    const n = Number(raw);
    return Number.isFinite(n) ? n : raw;
  }
  return raw;
}

function scalarControl(f, defaults, picks = {}) {
  const id = uid("field");
  const { label, help } = labelAndHelp(f, id);
  const def = f.default !== undefined ? f.default : defaults[f.name];
  const common = {
    id,
    name: f.name,
    "data-field": f.name,
    required: f.required || undefined,
    "aria-required": f.required ? "true" : undefined,
    "aria-describedby": help ? help.id : undefined,
  };
  let input;
  let value;
  let set;
  if (Array.isArray(f.enum) && f.enum.length) {
    // Option values are JSON so that 5 stays a number and "5" a string.
    input = el("select", common);
    if (!f.required || def === undefined) input.append(el("option", { value: "", text: "—" }));
    for (const v of f.enum) input.append(el("option", { value: JSON.stringify(v), text: String(v) }));
    value = () => (input.value === "" ? undefined : JSON.parse(input.value));
    set = (v) => {
      const s = JSON.stringify(v);
      if ([...input.options].some((o) => o.value === s)) input.value = s;
    };
  } else if (f.type === "boolean") {
    input = el("input", { ...common, type: "checkbox", required: undefined });
    // An untouched checkbox without a default is left out: absent ≠ false upstream.
    let touched = false;
    input.addEventListener("change", () => (touched = true));
    value = () => (input.checked || touched || def !== undefined ? input.checked : undefined);
    set = (v) => {
      if (typeof v === "boolean") {
        input.checked = v;
        touched = true;
      }
    };
    if (def === true) input.checked = true;
    const row = el("div", { class: "field check" }, el("div", { class: "check-row" }, input, label), help);
    return { element: row, value, set, input };
  } else if (f.type === "integer" || f.type === "number") {
    input = el("input", {
      ...common,
      type: "number",
      inputmode: f.type === "integer" ? "numeric" : "decimal",
      min: f.min ?? undefined,
      max: f.max ?? undefined,
      step: numberStep(f),
    });
    value = () => parseScalar(f, input.value.trim());
    set = (v) => {
      if (typeof v === "number" && (f.min == null || v >= f.min) && (f.max == null || v <= f.max)) input.value = String(v);
    };
  } else {
    // string and media (a URL or bare Base64, so not type=url). Only text that may be long
    // (a prompt) gets a multi-line box; ids and URLs are one line.
    const long = f.type === "string" && !f.pick && f.maxLength != null && f.maxLength > 200;
    const options = f.pick ? picks[f.pick] || [] : [];
    const listId = f.pick ? uid("picks") : undefined;
    input = el(long ? "textarea" : "input", {
      ...common,
      type: long ? undefined : "text",
      rows: long ? 3 : undefined,
      maxlength: f.maxLength ?? undefined,
      minlength: f.minLength ?? undefined,
      list: listId,
      autocomplete: f.pick ? "off" : undefined,
      placeholder: f.type === "media" ? "https://… or Base64" : f.pick ? `Pick one of your ${f.pick}s or paste an id` : undefined,
      spellcheck: f.type === "media" || f.pick ? "false" : undefined,
    });
    if (f.pick) {
      // The account's own earlier results of this kind (newest first), by id.
      const list = el("datalist", { id: listId, "data-picks": f.name },
        ...options.map((o) => el("option", { value: o.id, label: o.label })));
      value = () => (input.value === "" ? undefined : input.value);
      set = (v) => {
        if (typeof v === "string") input.value = v;
      };
      if (def !== undefined) set(def);
      const note = options.length
        ? null
        : el("p", { class: "help", text: `No ${f.pick}s of yours to pick yet: generate one first, or paste an id.` });
      return { element: el("div", { class: "field" }, label, input, list, help, note), value, set, input };
    }
    value = () => (input.value === "" ? undefined : input.value);
    set = (v) => {
      if (typeof v === "string" && (f.maxLength == null || v.length <= f.maxLength)) input.value = v;
    };
  }
  if (def !== undefined && f.type !== "boolean") set(def);
  return { element: el("div", { class: "field" }, label, input, help), value, set, input };
}

/** media_list / string_list: one text input per item, add/remove within min/maxItems. */
function listControl(f, changed) {
  const id = uid("list");
  const { label, help } = labelAndHelp(f, `${id}-0`);
  const min = f.minItems ?? 0;
  const max = f.maxItems ?? Infinity;
  const items = el("ol", { class: "list-items", "data-list": f.name });
  const add = el("button", { type: "button", class: "secondary small", "data-add": f.name, text: `Add ${f.type === "media_list" ? "URL" : "item"}` });
  const inputs = () => [...items.querySelectorAll("input")];
  const refresh = () => {
    const n = inputs().length;
    add.disabled = n >= max;
    items.querySelectorAll("button[data-remove]").forEach((b) => (b.disabled = n <= min));
    inputs().forEach((inp, i) => {
      inp.id = `${id}-${i}`;
      inp.dataset.index = String(i);
      inp.setAttribute("aria-label", `${f.label || humanize(f.name)} ${i + 1}`);
    });
    label.htmlFor = n ? `${id}-0` : add.id;
  };
  const addItem = (v = "") => {
    const input = el("input", {
      type: "text",
      "data-field": f.name,
      value: v,
      placeholder: f.type === "media_list" ? "https://… or Base64" : "",
      spellcheck: "false",
      required: f.required || undefined,
      "aria-describedby": help ? help.id : undefined,
    });
    const remove = el("button", { type: "button", class: "secondary small", "data-remove": f.name, "aria-label": "Remove", text: "×" });
    const li = el("li", {}, input, remove);
    remove.addEventListener("click", () => {
      li.remove();
      refresh();
      changed();
    });
    items.append(li);
    refresh();
    return input;
  };
  add.id = `${id}-add`;
  add.addEventListener("click", () => {
    addItem().focus();
    changed();
  });
  const initial = Array.isArray(f.default) ? f.default : [];
  for (const v of initial) addItem(String(v));
  while (inputs().length < (f.required ? Math.max(min, 1) : min)) addItem();
  refresh();
  const element = el("fieldset", { class: "field list", "data-field-group": f.name }, el("legend", {}, label), items, add, help);
  return {
    element,
    value: () => {
      const vals = inputs().map((i) => i.value.trim()).filter(Boolean);
      return vals.length ? vals : undefined;
    },
    set: (v) => {
      if (!Array.isArray(v) || v.length > max) return;
      items.replaceChildren();
      v.forEach((x) => addItem(String(x)));
      while (inputs().length < min) addItem();
      refresh();
    },
  };
}

/** object: a group of its `name.child` fields; left out when every child is empty. */
function objectControl(f, fields, changed, prefix = `${f.name}.`, legend = null) {
  const kids = childFields(fields, prefix).map((c) => ({ spec: c, ctl: control(c, fields, {}, changed) }));
  const head = legend ?? el("legend", {}, f.label || humanize(f.name));
  if (f.required && !legend) head.append(" ", el("abbr", { class: "req", title: "required", text: "*" }));
  const help = f.description && !legend ? el("p", { class: "help", text: f.description }) : null;
  const element = el("fieldset", { class: "field group", "data-field-group": f.name }, head, help, kids.map((k) => k.ctl.element));
  return {
    element,
    value: () => {
      const out = {};
      for (const { spec, ctl } of kids) {
        const v = ctl.value();
        if (!isEmpty(v)) out[spec.name.slice(prefix.length)] = v;
      }
      return Object.keys(out).length ? out : undefined;
    },
    set: () => {},
  };
}

/** object_list: items of `list[].child` fields, added/removed within min/maxItems. */
function objectListControl(f, fields, changed) {
  const min = f.minItems ?? 0;
  const max = f.maxItems ?? Infinity;
  const items = el("div", { class: "object-items", "data-list": f.name });
  const title = f.label || humanize(f.name);
  const add = el("button", { type: "button", class: "secondary small", "data-add": f.name, text: `Add ${title.toLowerCase()} item` });
  const entries = [];
  const refresh = () => {
    add.disabled = entries.length >= max;
    entries.forEach((e, i) => {
      e.legend.textContent = `${title} ${i + 1}`;
      e.element.dataset.index = String(i);
      e.remove.disabled = entries.length <= min;
    });
  };
  const addItem = () => {
    const legend = el("legend", {});
    const item = objectControl(f, fields, changed, `${f.name}[].`, legend);
    const remove = el("button", { type: "button", class: "secondary small", "data-remove": f.name, text: "Remove" });
    item.element.classList.add("object-item");
    item.element.append(remove);
    const entry = { ...item, legend, remove };
    remove.addEventListener("click", () => {
      entries.splice(entries.indexOf(entry), 1);
      item.element.remove();
      refresh();
      changed();
    });
    entries.push(entry);
    items.append(item.element);
    refresh();
  };
  add.addEventListener("click", () => {
    addItem();
    entries[entries.length - 1].element.querySelector("input,select,textarea")?.focus();
    changed();
  });
  for (let i = 0; i < (f.required ? Math.max(min, 1) : 0); i++) addItem();
  refresh();
  const legend = el("legend", {}, title);
  if (f.required) legend.append(" ", el("abbr", { class: "req", title: "required", text: "*" }));
  const help = [f.description, limitsText(f)].filter(Boolean).join(" — ");
  const element = el("fieldset", { class: "field group list", "data-field-group": f.name }, legend, help ? el("p", { class: "help", text: help }) : null, items, add);
  return {
    element,
    value: () => {
      const vals = entries.map((e) => e.value()).filter((v) => v !== undefined);
      return vals.length ? vals : undefined;
    },
    set: () => {},
  };
}

/** An object without declared children: free JSON, checked as you type. */
function jsonControl(f) {
  const id = uid("field");
  const { label, help } = labelAndHelp(f, id);
  const input = el("textarea", { id, rows: 3, "data-field": f.name, spellcheck: "false", placeholder: "{ }", "aria-describedby": help ? help.id : undefined });
  if (f.default !== undefined) input.value = JSON.stringify(f.default, null, 2);
  input.addEventListener("input", () => {
    let msg = "";
    if (input.value.trim()) {
      try {
        const v = JSON.parse(input.value);
        if (!v || typeof v !== "object" || Array.isArray(v)) msg = `${f.name}: must be a JSON object`;
      } catch (e) {
        msg = `${f.name}: not valid JSON (${e.message})`;
      }
    }
    input.setCustomValidity(msg);
  });
  return {
    element: el("div", { class: "field" }, label, input, help),
    value: () => {
      if (!input.value.trim()) return undefined;
      try {
        return JSON.parse(input.value);
      } catch {
        return input.value; // the server names the field and the problem
      }
    },
    set: () => {},
  };
}

/**
 * Renders the fields of one model into `container`.
 * @param {object} params `modelParams[model]`: {fields, defaults, rules}
 * @param {() => void} changed called after list add/remove (inputs bubble their own events)
 * @returns {{ value: () => object, set: (body: object) => void }}
 */
export function renderModelForm(container, params, changed, picks = {}) {
  const fields = Array.isArray(params?.fields) ? params.fields : [];
  const defaults = params?.defaults && typeof params.defaults === "object" ? params.defaults : {};
  const top = childFields(fields, "").map((f) => ({ spec: f, ctl: control(f, fields, defaults, changed, picks) }));
  // Fields the catalog marks advanced sit in a collapsed group, so the everyday ones, the
  // price and the button fit on one screen.
  const basic = top.filter((t) => !t.spec.advanced).map((t) => t.ctl.element);
  const advanced = top.filter((t) => t.spec.advanced).map((t) => t.ctl.element);
  const group = advanced.length
    ? el("details", { class: "advanced", "data-advanced": "true" },
        el("summary", { text: `Advanced options (${advanced.length})` }), ...advanced)
    : null;
  container.replaceChildren(...basic, ...(group ? [group] : []));
  return {
    value() {
      const body = {};
      for (const { spec, ctl } of top) {
        const v = ctl.value();
        if (!isEmpty(v)) body[spec.name] = v;
      }
      return body;
    },
    set(body) {
      for (const { spec, ctl } of top) {
        if (body && body[spec.name] !== undefined) ctl.set(body[spec.name]);
      }
    },
  };
}
