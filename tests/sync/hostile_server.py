"""A central server that misbehaves on purpose, as a hostile or broken network would.

Run as `python hostile_server.py MODE LOG [HOST]`; it prints its port, and that of a second
listener (the "other origin" a redirect points at) on the first line. Every request
either listener receives is appended to LOG as `port method path`. Enrolment always
works, so a real device can enrol and then meet the misbehaviour:

* `trickle`       every answer's headers arrive one byte every 0.2 s;
* `trickle-body`  headers at once, then the body one byte every 0.2 s;
* `redirect`      every /v1/ request but enrolment gets 307 to the other origin;
* `lie`           push answers: right for the first record, a foreign id for the
                  second, the wrong revision for the third, nothing for the rest,
                  plus two answers for records never sent;
* `page-forever`  the changes feed says `more: true` and never moves its cursor;
* `page-endless`  the changes feed moves its cursor by one and says `more: true`, forever;
* `huge`          the changes feed answers 300 MB (no Content-Length);
* anything else   a well-behaved (empty) server.

Bounded: a trickle stops after 60 s or when the client hangs up.
"""

from __future__ import annotations

import json
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODE, LOG = sys.argv[1], sys.argv[2]
HOST = sys.argv[3] if len(sys.argv) > 3 else "127.0.0.1"
NOW = "2026-12-01T09:00:00Z"
log_lock = threading.Lock()


def log(port: int, method: str, path: str) -> None:
    with log_lock, open(LOG, "a", encoding="utf-8") as file:
        file.write(f"{port} {method} {path}\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # one request per connection; a body ends when the connection does
    other_origin = ""

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def _handle(self, method: str) -> None:
        log(self.server.server_port, method, self.path)
        length = int(self.headers.get("content-length") or 0)
        body = json.loads(self.rfile.read(length) or b"null") if length else None
        if self.server is other_server:
            return self._json({"error": "dit is een andere server"}, status=404)
        path = self.path.split("?")[0]
        if path == "/v1/enroll":
            return self._json({"device_id": str(uuid.uuid4()), "token": "t" * 43, "server_time": NOW})
        if MODE == "redirect":
            self.send_response(307)
            self.send_header("Location", self.other_origin + self.path)
            self.end_headers()
            return None
        if MODE == "trickle":
            return self._trickle(b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{}")
        if MODE == "trickle-body":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            return self._trickle(b'{"changes": [], "next_cursor": 0, "more": false}' + b" " * 1000)
        if path == "/v1/inclusions/push":
            return self._json({"results": self._push_results(body["records"])})
        if path == "/v1/changes":
            cursor = int(self.path.partition("cursor=")[2].split("&")[0] or 0)
            if MODE == "page-forever":
                return self._json({"changes": [], "next_cursor": cursor, "more": True})
            if MODE == "page-endless":
                return self._json({"changes": [], "next_cursor": cursor + 1, "more": True})
            if MODE == "huge":
                return self._huge()
            return self._json({"changes": [], "next_cursor": cursor, "more": False})
        if path == "/v1/health":
            return self._json({"status": "ok", "server_version": "vijandig", "protocol_version": 1,
                               "database": "sqlite"})
        return self._json({"found": False, "checked_at": NOW})

    def _push_results(self, records: list[dict]) -> list[dict]:
        if MODE != "lie":
            return [{"id": r["id"], "revision": r["revision"], "result": "accepted"} for r in records]
        results = [{"id": records[0]["id"], "revision": records[0]["revision"], "result": "accepted"}]
        if len(records) > 1:
            results.append({"id": str(uuid.uuid4()), "revision": 1, "result": "accepted"})
        if len(records) > 2:
            results.append({"id": records[2]["id"], "revision": records[2]["revision"] + 5, "result": "accepted"})
        results += [{"id": str(uuid.uuid4()), "revision": 1, "result": "accepted"} for _ in range(2)]
        return results

    def _json(self, data, status: int = 200) -> None:
        payload = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _trickle(self, payload: bytes) -> None:
        stop = time.monotonic() + 60
        try:
            for byte in payload:
                if time.monotonic() > stop:
                    return
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(0.2)
        except OSError:
            return  # the client hung up: what it should do

    def _huge(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        chunk = b" " * (1024 * 1024)
        try:
            self.wfile.write(b'{"changes": [')
            for _ in range(300):
                self.wfile.write(chunk)
            self.wfile.write(b'], "next_cursor": 1, "more": false}')
        except OSError:
            return


main_server = ThreadingHTTPServer((HOST, 0), Handler)
other_server = ThreadingHTTPServer((HOST, 0), Handler)
main_server.daemon_threads = other_server.daemon_threads = True
Handler.other_origin = f"http://{HOST}:{other_server.server_port}"
threading.Thread(target=other_server.serve_forever, daemon=True).start()
print(main_server.server_port, other_server.server_port, flush=True)
main_server.serve_forever()
