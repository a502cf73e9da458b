// The gateway client: every call sends `Authorization: Bearer <key>` (spec/unified-api.md,
// "Auth") and turns error bodies into ApiError with the server's own message.

const KEY_STORAGE = "genmux.apiKey";

/** An HTTP answer that was not 2xx (or a network failure, status 0). */
export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.body = body;
  }
}

/** The key kept for this browser tab (sessionStorage: gone when the tab closes). */
export function storedKey() {
  try {
    return sessionStorage.getItem(KEY_STORAGE) || "";
  } catch {
    return "";
  }
}

export function storeKey(key) {
  try {
    if (key) sessionStorage.setItem(KEY_STORAGE, key);
    else sessionStorage.removeItem(KEY_STORAGE);
  } catch {
    // Storage disabled (private mode policies): the key lives only in memory.
  }
}

/** The message of an error body: `{error:"…"}`, `{error:{message}}` or `{message}`. */
export function errorMessage(body, fallback) {
  if (body && typeof body === "object") {
    const e = body.error;
    if (typeof e === "string" && e) return e;
    if (e && typeof e === "object" && typeof e.message === "string") return e.message;
    if (typeof body.message === "string" && body.message) return body.message;
  }
  if (typeof body === "string" && body.trim()) return body.trim().slice(0, 300);
  return fallback;
}

/** A v4 UUID; crypto.randomUUID needs a secure context, getRandomValues does not. */
export function uuid() {
  if (globalThis.crypto && typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export class Api {
  /**
   * @param {() => string} key the current API key
   * @param {(message: string) => void} onUnauthorized called on any 401 (back to sign-in)
   */
  constructor(key, onUnauthorized) {
    this.key = key;
    this.onUnauthorized = onUnauthorized;
  }

  /**
   * Sends a request and parses the JSON answer.
   * `allow` lists non-2xx statuses whose JSON body is returned instead of thrown
   * (the quote endpoint answers `{success:false,error}` with a 4xx).
   */
  async request(method, path, { body, headers = {}, allow = [], signal } = {}) {
    const init = {
      method,
      signal,
      headers: { Accept: "application/json", Authorization: `Bearer ${this.key()}`, ...headers },
    };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, init);
    } catch (e) {
      if (e && e.name === "AbortError") throw e;
      throw new ApiError(0, `Cannot reach the gateway (${method} ${path}): ${e.message || e}`);
    }
    const text = await res.text();
    let parsed = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // Not JSON (a proxy error page): keep the text for the message.
    }
    if (res.status === 401) {
      const msg = errorMessage(parsed, "The gateway rejected the API key (401).");
      this.onUnauthorized(msg);
      throw new ApiError(401, msg, parsed);
    }
    if (res.ok || allow.includes(res.status)) {
      if (parsed === null || typeof parsed !== "object") {
        if (res.ok && parsed === null) return {};
        throw new ApiError(res.status, `${method} ${path}: expected JSON, got ${String(text).slice(0, 80)}`);
      }
      return parsed;
    }
    throw new ApiError(res.status, errorMessage(parsed, `${method} ${path} failed: HTTP ${res.status}`), parsed);
  }

  get(path, opts) {
    return this.request("GET", path, opts);
  }

  post(path, body, opts = {}) {
    return this.request("POST", path, { ...opts, body });
  }

  /** GET that answers `null` on 404 (optional endpoints: image models, task listing). */
  async optional(path) {
    try {
      return await this.get(path);
    } catch (e) {
      if (e instanceof ApiError && (e.status === 404 || e.status === 405)) return null;
      throw e;
    }
  }
}
