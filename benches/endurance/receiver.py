#!/usr/bin/env python3
"""Callback receiver of the endurance runs (benches/endurance): answers every POST with
200 at once and appends one JSON line per delivery to --log:

    {"t": <unix seconds>, "webhookId": <webhook-id header>, "taskId": <body taskId>,
     "status": <body status>}

The checker (check.py) reads the log: every task with a callbackUrl must have been
delivered at least once, always with the one webhook id its outbox row holds
(design/RELIABILITY.md R4, "Callbacks"). Lines are flushed one by one, so a delivery
answered 200 is in the log. Prints its URL as one JSON line on stdout once listening.
"""
import argparse
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--listen", default="127.0.0.1:0", help="HOST:PORT (port 0 = any free)")
    ap.add_argument("--log", required=True, help="JSON-lines file the deliveries are appended to")
    args = ap.parse_args()
    host, port = args.listen.rsplit(":", 1)
    out = open(args.log, "a", buffering=1, encoding="utf-8")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw)
            except ValueError:
                body = {}
            if not isinstance(body, dict):
                body = {}
            line = json.dumps({
                "t": time.time(),
                "webhookId": self.headers.get("webhook-id"),
                "taskId": body.get("taskId"),
                "status": body.get("status"),
            })
            with lock:
                out.write(line + "\n")
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *_args) -> None:
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 1024

    srv = Server((host, int(port)), Handler)
    print(json.dumps({"url": f"http://{host}:{srv.server_address[1]}/hook"}), flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
