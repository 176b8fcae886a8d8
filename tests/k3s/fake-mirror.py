#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The FAKE k3s release mirror of Berth's tests; see fake-mirror.sh for the
layout it serves. Started by fake-mirror.sh, which makes its certificates."""

import email.utils
import hashlib
import http.server
import json
import os
import re
import signal
import ssl
import sys
import threading
import time
import urllib.parse

WHO = "fake k3s mirror"
TAG = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)(-[0-9A-Za-z.-]+)?(?:\+k3s(\d+))?$")
HANG_SECONDS = 600
STOP = threading.Event()


def say(message):
    sys.stderr.write("%s: %s\n" % (WHO, message))
    sys.stderr.flush()


def version_key(tag):
    """Newest last; tags that are no version sort first."""
    m = TAG.match(tag)
    if not m:
        return (0, (), tag)
    major, minor, patch, pre, build = m.groups()
    return (1, (int(major), int(minor), int(patch), pre is None, pre or "",
                int(build or 0)), tag)


def is_prerelease(tag):
    m = TAG.match(tag)
    return bool(m and m.group(4))


class Mirror:
    def __init__(self, root):
        self.root = root
        self.state = os.path.join(root, ".mirror")
        self.log_lock = threading.Lock()

    def log_request(self, line):
        with self.log_lock:
            with open(os.path.join(self.state, "requests.log"), "a") as log:
                log.write(line + "\n")

    def tags(self):
        """Release directories, newest first."""
        names = [n for n in os.listdir(self.root)
                 if not n.startswith(".") and os.path.isdir(os.path.join(self.root, n))]
        return sorted(names, key=version_key, reverse=True)

    def release(self, base, tag, number):
        path = os.path.join(self.root, tag)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ",
                              time.gmtime(os.stat(path).st_mtime))
        quoted = urllib.parse.quote(tag, safe="")
        assets = []
        for i, name in enumerate(sorted(os.listdir(path))):
            file_path = os.path.join(path, name)
            if name.startswith(".") or not os.path.isfile(file_path):
                continue
            assets.append({
                "url": "%s/repos/k3s-io/k3s/releases/assets/%d" % (base, number * 100 + i),
                "id": number * 100 + i,
                "name": name,
                "label": "",
                "content_type": "application/octet-stream",
                "state": "uploaded",
                "size": os.path.getsize(file_path),
                "download_count": 0,
                "created_at": stamp,
                "updated_at": stamp,
                "browser_download_url": "%s/download/%s/%s" % (base, quoted, name),
            })
        m = TAG.match(tag)
        branch = "release-%s.%s" % (m.group(1), m.group(2)) if m else "master"
        return {
            "url": "%s/repos/k3s-io/k3s/releases/%d" % (base, number),
            "html_url": "%s/releases/tag/%s" % (base, quoted),
            "id": number,
            "tag_name": tag,
            "target_commitish": branch,
            "name": tag,
            "draft": os.path.exists(os.path.join(path, ".draft")),
            "prerelease": is_prerelease(tag),
            "created_at": stamp,
            "published_at": stamp,
            "assets": assets,
            "tarball_url": "%s/tarball/%s" % (base, quoted),
            "zipball_url": "%s/zipball/%s" % (base, quoted),
            "body": "Release notes of a fake release (%s), served by a fake mirror for tests." % tag,
        }

    def channels(self, base):
        override = os.path.join(self.state, "channels.json")
        if os.path.exists(override):
            with open(override, "rb") as f:
                return f.read()
        final = [t for t in self.tags() if TAG.match(t) and not is_prerelease(t)
                 and not os.path.exists(os.path.join(self.root, t, ".draft"))]
        newest_by_minor = {}
        for tag in final:  # newest first
            m = TAG.match(tag)
            newest_by_minor.setdefault("v%s.%s" % (m.group(1), m.group(2)), tag)
        minors = sorted(newest_by_minor, key=lambda b: version_key(b + ".0"), reverse=True)
        data = []

        def channel(name, latest):
            data.append({"id": name, "type": "channel",
                         "links": {"self": "%s/v1-release/channels/%s" % (base, name)},
                         "name": name, "latest": latest})

        if minors:
            # As k3s does: "stable" trails "latest" by a minor release.
            channel("stable", newest_by_minor[minors[1] if len(minors) > 1 else minors[0]])
            channel("latest", final[0])
        testing = [t for t in self.tags() if is_prerelease(t)]
        if testing:
            channel("testing", testing[0])
        for minor in minors:
            channel(minor, newest_by_minor[minor])
        return json.dumps({"id": "channels", "type": "collection",
                           "links": {"self": "%s/v1-release/channels" % base},
                           "actions": {}, "resourceType": "channel",
                           "data": data}, indent=1).encode()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-k3s-mirror/1"

    def setup(self):
        # The TLS handshake, in this connection's thread.
        self.request.do_handshake()
        super().setup()

    def log_message(self, format, *args):
        say(format % args)

    def send_bytes(self, body, content_type="application/octet-stream", headers=()):
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def send_status(self, status, message):
        body = ("%s: %s\n" % (WHO, message)).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        mirror = self.server.mirror
        mirror.log_request("GET " + self.path)
        url = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(url.path)
        query = urllib.parse.parse_qs(url.query)
        host = "https://127.0.0.1:%d" % self.server.server_address[1]
        broken = None
        m = re.match(r"^/broken/([a-z0-9-]+)(/.*)$", path)
        if m:
            broken, path = m.group(1), m.group(2)
            if broken not in ("bad-checksum", "truncated", "status-500", "hang"):
                self.send_status(404, "no broken variant %r" % broken)
                return
        base = host + ("/broken/%s" % broken if broken else "")

        if broken == "status-500":
            self.send_status(500, "broken on purpose (status-500)")
            return
        if broken == "hang":
            STOP.wait(HANG_SECONDS)
            self.close_connection = True
            return

        if path == "/v1-release/channels":
            self.send_bytes(mirror.channels(base), "application/json")
        elif path == "/repos/k3s-io/k3s/releases":
            self.releases(mirror, base, query)
        elif path.startswith("/download/"):
            self.download(mirror, path[len("/download/"):], broken)
        else:
            self.send_status(404, "nothing at %s" % path)

    def releases(self, mirror, base, query):
        tags = mirror.tags()
        try:
            per_page = int(query.get("per_page", ["30"])[0])
            page = int(query.get("page", ["1"])[0])
        except ValueError:
            self.send_status(400, "per_page and page are numbers")
            return
        # Two pages whenever there are two releases: the mirror's page is at
        # most half of them, whatever per_page asks; DIR/.mirror/page-size
        # sets another size.
        size = max(1, min(per_page, (len(tags) + 1) // 2))
        override = os.path.join(mirror.state, "page-size")
        if os.path.exists(override):
            with open(override) as f:
                size = max(1, int(f.read().strip()))
        last = max(1, (len(tags) + size - 1) // size)
        chunk = tags[(page - 1) * size:page * size] if page >= 1 else []
        body = json.dumps([mirror.release(host_of(base), t, i + 1)
                           for i, t in enumerate(chunk)], indent=1).encode()

        def link(p):
            return "%s/repos/k3s-io/k3s/releases?per_page=%d&page=%d" % (base, per_page, p)

        links = []
        if page < last:
            links += ['<%s>; rel="next"' % link(page + 1), '<%s>; rel="last"' % link(last)]
        if page > 1:
            links += ['<%s>; rel="prev"' % link(page - 1), '<%s>; rel="first"' % link(1)]
        headers = [("Link", ", ".join(links))] if links else []
        headers.append(("X-RateLimit-Remaining", "59"))
        self.send_bytes(body, "application/json; charset=utf-8", headers)

    def download(self, mirror, rest, broken):
        parts = rest.split("/")
        if len(parts) != 2 or parts[0] in ("", ".", "..") or parts[0].startswith(".") \
                or parts[1] in ("", ".", "..") or parts[1].startswith("."):
            self.send_status(404, "no such release file %s" % rest)
            return
        file_path = os.path.join(mirror.root, parts[0], parts[1])
        if not os.path.isfile(file_path):
            self.send_status(404, "no such release file %s" % rest)
            return
        with open(file_path, "rb") as f:
            body = f.read()
        is_checksums = parts[1].startswith("sha256sum-")
        if broken == "bad-checksum" and is_checksums:
            body = spoil_checksums(body)
        if broken == "truncated" and not is_checksums:
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[:len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.send_bytes(body, "text/plain" if is_checksums else "application/octet-stream",
                        [("Last-Modified", email.utils.formatdate(usegmt=True))])


def host_of(base):
    return base.split("/broken/")[0]


def spoil_checksums(body):
    """Every digest replaced by the digest of itself: well formed, and wrong."""
    out = []
    for line in body.decode().splitlines():
        fields = line.split(None, 1)
        if len(fields) == 2 and len(fields[0]) == 64:
            line = hashlib.sha256(fields[0].encode()).hexdigest() + "  " + fields[1].lstrip("*")
        out.append(line)
    return ("\n".join(out) + "\n").encode()


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port, mirror, context):
        super().__init__(("127.0.0.1", port), Handler)
        self.mirror = mirror
        self.context = context

    def get_request(self):
        sock, address = self.socket.accept()
        return self.context.wrap_socket(sock, server_side=True,
                                        do_handshake_on_connect=False), address

    def handle_error(self, request, client_address):
        say("a connection from %s:%d ended: %s" % (client_address[0], client_address[1],
                                                   sys.exc_info()[1]))


def main():
    if len(sys.argv) != 3:
        say("usage: fake-mirror.py DIR PORT")
        return 2
    root, port = sys.argv[1], int(sys.argv[2])
    mirror = Mirror(root)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(os.path.join(mirror.state, "server.pem"),
                            os.path.join(mirror.state, "server.key"))
    server = Server(port, mirror, context)

    def stop(signum, frame):
        STOP.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    bound = server.server_address[1]
    tmp = os.path.join(mirror.state, "port.tmp")
    with open(tmp, "w") as f:
        f.write("%d\n" % bound)
    os.rename(tmp, os.path.join(mirror.state, "port"))
    with open(os.path.join(mirror.state, "ready"), "w") as f:
        f.write("https://127.0.0.1:%d\n" % bound)
    say("serving the fake releases of %s at https://127.0.0.1:%d (a fake, for tests)"
        % (root, bound))
    server.serve_forever(poll_interval=0.2)
    server.server_close()
    say("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
