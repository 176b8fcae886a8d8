#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""A FAKE upgrade responder and GitHub releases API, for Berth's updater tests.

It is not Longhorn's upgrade-responder nor GitHub: it answers the few requests
the updater makes, the way those servers shape their answers, over HTTPS with
the certificate and key the test made. Every message it prints and every text
it serves says it is a fake.

Usage: fake-update-server.py DIR CERT KEY

DIR/config.json, read again for every request, says how to answer:
  {"responder": "ok" | "500" | "malformed" | "hang",
   "versions": [{"Name": "9.9.9", "Supported": true}, ...],   (responder "ok")
   "interval": 60,                  requestIntervalInMinutes, omitted when null
   "latest": "9.9.9" or null,       /releases/latest; null answers 404
   "releases": ["9.9.9", ...]}      tags that exist
A release V offers DIR/assets/berth-V-linux-ARCH.tar.gz for each ARCH file
there, and its .sha512sum: DIR/assets/NAME.sha512sum when the test wrote one
(a wrong digest, say), else the real digest of the archive.

Each request is appended to DIR/requests.jsonl as {"method", "path", "body"}.
Once listening, the port is written to DIR/port.
"""

import hashlib
import http.server
import json
import os
import ssl
import sys
import threading
import time

REPOSITORY = "/repos/berth-desktop/berth/releases/"


def log(text):
    print("fake update server: " + text, file=sys.stderr, flush=True)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        log(fmt % args)

    def config(self):
        with open(os.path.join(self.server.dir, "config.json"), encoding="utf-8") as f:
            return json.load(f)

    def record(self, body):
        entry = {"method": self.command, "path": self.path, "body": body}
        with self.server.lock:
            with open(os.path.join(self.server.dir, "requests.jsonl"), "a", encoding="utf-8") as f:
                f.write(json.dumps(entry) + "\n")

    def send(self, status, body, content_type="application/json"):
        data = body if isinstance(body, bytes) else body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def not_found(self, what):
        self.send(404, json.dumps({"message": "fake update server: no " + what}))

    def base(self):
        return "https://127.0.0.1:%d" % self.server.server_address[1]

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length).decode("utf-8", "replace")
        self.record(body)
        if self.path != "/v1/checkupgrade":
            return self.not_found(self.path)
        config = self.config()
        mode = config.get("responder", "ok")
        if mode == "hang":
            log("holding the responder's answer back, as asked")
            time.sleep(3600)
            return None
        if mode == "500":
            return self.send(500, json.dumps({"message": "fake update server: failing on purpose"}))
        if mode == "malformed":
            return self.send(200, '{"versions": [{"Name": "fake-not-a-version"}]}')
        answer = {"versions": config.get("versions", [])}
        if config.get("interval") is not None:
            answer["requestIntervalInMinutes"] = config["interval"]
        return self.send(200, json.dumps(answer))

    def release(self, version):
        tag = "v" + version
        assets = []
        directory = os.path.join(self.server.dir, "assets")
        for name in sorted(os.listdir(directory)):
            if not name.startswith("berth-%s-linux-" % version) or not name.endswith(".tar.gz"):
                continue
            with open(os.path.join(directory, name), "rb") as f:
                size = len(f.read())
            assets.append({"name": name, "size": size, "label": "",
                           "browser_download_url": "%s/assets/%s" % (self.base(), name)})
            assets.append({"name": name + ".sha512sum", "size": 150, "label": "",
                           "browser_download_url": "%s/assets/%s.sha512sum" % (self.base(), name)})
        return {"url": self.base() + REPOSITORY + "1", "id": 1, "tag_name": tag,
                "name": "Fake Berth %s" % version,
                "body": "A fake release that Berth's tests serve to themselves.",
                "draft": False, "prerelease": False,
                "published_at": "2038-01-01T00:00:00Z", "assets": assets}

    def do_GET(self):
        self.record(None)
        config = self.config()
        if self.path.startswith(REPOSITORY):
            which = self.path[len(REPOSITORY):]
            if which == "latest":
                version = config.get("latest")
            elif which.startswith("tags/v"):
                version = which[len("tags/v"):]
            else:
                version = None
            if version is None or version not in config.get("releases", []):
                return self.not_found("release " + which)
            return self.send(200, json.dumps(self.release(version)))
        if self.path.startswith("/assets/"):
            name = os.path.basename(self.path)
            path = os.path.join(self.server.dir, "assets", name)
            if os.path.exists(path):
                with open(path, "rb") as f:
                    return self.send(200, f.read(), "application/octet-stream")
            archive = os.path.join(self.server.dir, "assets", name[:-len(".sha512sum")])
            if name.endswith(".sha512sum") and os.path.exists(archive):
                with open(archive, "rb") as f:
                    digest = hashlib.sha512(f.read()).hexdigest()
                return self.send(200, "%s  %s\n" % (digest, os.path.basename(archive)),
                                 "text/plain")
            return self.not_found("asset " + name)
        return self.not_found(self.path)


def main():
    directory, cert, key = sys.argv[1:4]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.dir = directory
    server.lock = threading.Lock()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    port_file = os.path.join(directory, "port")
    with open(port_file + ".tmp", "w", encoding="utf-8") as f:
        f.write(str(server.server_address[1]))
    os.rename(port_file + ".tmp", port_file)
    log("listening on 127.0.0.1:%d" % server.server_address[1])
    server.serve_forever()


if __name__ == "__main__":
    main()
