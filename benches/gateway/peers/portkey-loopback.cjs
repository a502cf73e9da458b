// Preloaded into Portkey's gateway (`node --require portkey-loopback.cjs start-server.js`).
// @portkey-ai/gateway's start-server calls `serve({fetch, port})` with no hostname, so
// node listens on every interface; the benchmark must only ever listen on loopback, so a
// listen(port, undefined, cb) is turned into listen(port, "127.0.0.1", cb). Nothing else
// in the gateway changes.
"use strict";
const net = require("net");
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === "number" && (args[1] === undefined || typeof args[1] === "function")) {
    if (args[1] === undefined) {
      args[1] = "127.0.0.1";
    } else {
      args.splice(1, 0, "127.0.0.1");
    }
  }
  return listen.apply(this, args);
};
