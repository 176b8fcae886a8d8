#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""A TLS-intercepting HTTP proxy for Berth's tests, as a corporate proxy
behaves: it answers CONNECT host:443 for the host names it has a
certificate for, makes the TLS connection itself with that certificate
(signed by a test CA), and passes the decrypted bytes to an upstream plain
HTTP server on 127.0.0.1 (the fake registry). It is a test stand-in, not a
general proxy, and every line it prints says so. It listens on 127.0.0.1,
prints its port as the first line of standard output, and logs each
CONNECT to standard error.

Usage: tls-proxy.py --upstream PORT --site NAME=CERT,KEY [--site ...]
"""

import argparse
import socket
import socketserver
import ssl
import sys
import threading

PREFIX = "berth-test fake TLS proxy:"


def log(message):
    sys.stderr.write("%s %s\n" % (PREFIX, message))
    sys.stderr.flush()


def pump(source, sink):
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for sock, how in ((sink, socket.SHUT_WR), (source, socket.SHUT_RD)):
            try:
                sock.shutdown(how)
            except OSError:
                pass


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        request = self.rfile.readline(8192).decode("latin-1").strip()
        while True:
            line = self.rfile.readline(8192)
            if line in (b"\r\n", b"\n", b""):
                break
        parts = request.split()
        if len(parts) != 3 or parts[0] != "CONNECT":
            log("refused %r: only CONNECT is served" % request)
            self.wfile.write(b"HTTP/1.1 405 Only CONNECT\r\nContent-Length: 0\r\n\r\n")
            return
        host, _, port = parts[1].rpartition(":")
        context = self.server.contexts.get(host)
        if context is None or port != "443":
            log("refused CONNECT %s: no certificate for it" % parts[1])
            self.wfile.write(b"HTTP/1.1 502 No such site\r\nContent-Length: 0\r\n\r\n")
            return
        log("CONNECT %s" % parts[1])
        self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        self.wfile.flush()
        try:
            client = context.wrap_socket(self.connection, server_side=True)
        except (ssl.SSLError, OSError) as error:
            log("TLS with the client for %s failed: %s" % (host, error))
            return
        log("TLS established for %s" % host)
        upstream = socket.create_connection(("127.0.0.1", self.server.upstream))
        back = threading.Thread(target=pump, args=(upstream, client), daemon=True)
        back.start()
        pump(client, upstream)
        back.join()
        upstream.close()


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", type=int, required=True)
    parser.add_argument("--site", action="append", default=[], required=True)
    args = parser.parse_args()
    server = Server(("127.0.0.1", 0), Handler)
    server.upstream = args.upstream
    server.contexts = {}
    for site in args.site:
        name, _, files = site.partition("=")
        cert, _, key = files.partition(",")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        server.contexts[name] = context
    print(server.server_address[1], flush=True)
    log("listening on 127.0.0.1:%d for %s, upstream 127.0.0.1:%d"
        % (server.server_address[1], ", ".join(sorted(server.contexts)), args.upstream))
    server.serve_forever()


if __name__ == "__main__":
    main()
