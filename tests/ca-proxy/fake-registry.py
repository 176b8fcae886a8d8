#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""A fake container registry for Berth's tests: the Docker Registry HTTP API
v2, read-only and without authentication, serving one image made at start
(FROM scratch with one file, /hello.txt) as berth-test/hello:1. It listens
on 127.0.0.1 with plain HTTP (a test TLS proxy sits in front of it), prints
its port as the first line of standard output, and logs each request to
standard error. Every line it prints says it is a fake.

Usage: fake-registry.py [--port N]
"""

import argparse
import gzip
import hashlib
import http.server
import io
import json
import platform
import re
import sys
import tarfile

PREFIX = "berth-test fake registry:"
REPOSITORY = "berth-test/hello"
TAG = "1"
HELLO = b"Hello from Berth's fake registry, through the test TLS proxy\n"

MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
CONFIG_TYPE = "application/vnd.docker.container.image.v1+json"
LAYER_TYPE = "application/vnd.docker.image.rootfs.diff.tar.gzip"


def digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def docker_arch():
    machine = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


def make_image():
    """The blobs by digest, and the manifest."""
    layer_tar = io.BytesIO()
    with tarfile.open(fileobj=layer_tar, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("hello.txt")
        info.size = len(HELLO)
        info.mode = 0o644
        info.mtime = 0
        tar.addfile(info, io.BytesIO(HELLO))
    layer_tar = layer_tar.getvalue()
    layer = gzip.compress(layer_tar, mtime=0)
    config = json.dumps({
        "architecture": docker_arch(),
        "os": "linux",
        "config": {"Cmd": ["/hello.txt"]},
        "rootfs": {"type": "layers", "diff_ids": [digest(layer_tar)]},
        "history": [{"created_by": "berth-test fake registry"}],
    }, sort_keys=True).encode()
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": {"mediaType": CONFIG_TYPE, "size": len(config), "digest": digest(config)},
        "layers": [{"mediaType": LAYER_TYPE, "size": len(layer), "digest": digest(layer)}],
    }, sort_keys=True).encode()
    return {digest(config): config, digest(layer): layer}, manifest


BLOBS, MANIFEST = make_image()
MANIFEST_DIGEST = digest(MANIFEST)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "berth-test-fake-registry"

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (PREFIX, fmt % args))
        sys.stderr.flush()

    def reply(self, status, body, content_type, extra=None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Docker-Distribution-API-Version", "registry/2.0")
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def not_found(self, code, message):
        body = json.dumps({"errors": [{"code": code, "message": PREFIX + " " + message}]})
        self.reply(404, body.encode(), "application/json")

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path in ("/v2", "/v2/"):
            self.reply(200, b"{}", "application/json")
            return
        match = re.fullmatch(r"/v2/(.+)/(manifests|blobs)/([^/]+)", path)
        if match is None or match.group(1) != REPOSITORY:
            self.not_found("NAME_UNKNOWN", "only %s is served here" % REPOSITORY)
            return
        kind, reference = match.group(2), match.group(3)
        if kind == "manifests":
            if reference not in (TAG, MANIFEST_DIGEST):
                self.not_found("MANIFEST_UNKNOWN", "only tag %s is served here" % TAG)
                return
            self.reply(200, MANIFEST, MANIFEST_TYPE, {"Docker-Content-Digest": MANIFEST_DIGEST})
            return
        blob = BLOBS.get(reference)
        if blob is None:
            self.not_found("BLOB_UNKNOWN", "no blob %s" % reference)
            return
        self.reply(200, blob, "application/octet-stream", {"Docker-Content-Digest": reference})

    do_HEAD = do_GET


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    sys.stderr.write("%s serving %s:%s (config %s) on 127.0.0.1:%d\n"
                     % (PREFIX, REPOSITORY, TAG, json.loads(MANIFEST)["config"]["digest"],
                        server.server_address[1]))
    sys.stderr.flush()
    server.serve_forever()


if __name__ == "__main__":
    main()
