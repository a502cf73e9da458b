// The signed-in account's points in the header, from GET /v1/balance (issue 13 point 4):
// what it can still spend, and what running tasks hold. Refreshed after sign-in, after a
// generate (which holds the price) and when a task finishes (a failure refunds its hold).

import { ApiError } from "./api.js";

export class BalanceBadge {
  /**
   * @param {import("./api.js").Api} api
   * @param {HTMLElement} node the `#balance` element
   */
  constructor(api, node) {
    this.api = api;
    this.node = node;
    this.seq = 0;
  }

  /** Asks the gateway and shows the answer; a failure shows a dash and says why on hover. */
  async refresh() {
    const seq = ++this.seq;
    try {
      const b = await this.api.get("/v1/balance");
      if (seq !== this.seq) return; // a newer refresh is on its way
      const balance = Number(b.balance);
      const held = Number(b.heldPoints) || 0;
      this.node.dataset.value = String(balance);
      this.node.dataset.held = String(held);
      this.node.textContent = held > 0
        ? `${balance.toLocaleString()} points · ${held.toLocaleString()} held`
        : `${balance.toLocaleString()} points`;
      this.node.title = `Points ${b.accountId ? `of account ${b.accountId} ` : ""}you can still spend` +
        (held > 0 ? `; ${held.toLocaleString()} more are held for running tasks` : "");
      this.node.hidden = false;
    } catch (e) {
      if (seq !== this.seq || (e instanceof ApiError && e.status === 401)) return;
      this.node.dataset.value = "";
      this.node.textContent = "— points";
      this.node.title = `Balance unavailable: ${e.message}`;
      this.node.hidden = false;
    }
  }

  clear() {
    this.seq++;
    this.node.hidden = true;
    this.node.textContent = "";
    this.node.dataset.value = "";
    this.node.dataset.held = "";
  }
}
