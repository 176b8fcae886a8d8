#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# fake-mirror.sh DIR PORT — a FAKE k3s release mirror for Berth's tests.
#
# Serves, over HTTPS on 127.0.0.1:PORT (0: any free port), what Berth reads
# from k3s's real servers, built from the release directories in DIR:
#
#   /v1-release/channels              the channels document, in the shape of
#                                     update.k3s.io's (DIR/.mirror/channels.json
#                                     when that exists, else made from DIR)
#   /repos/k3s-io/k3s/releases        the releases in GitHub's JSON shape, newest
#                                     first, over two pages (?page=1 and ?page=2,
#                                     a Link header with rel="next" as GitHub
#                                     sends; DIR/.mirror/page-size, when it
#                                     exists, holds another page size)
#   /download/<version>/<file>        DIR/<version>/<file>, the layout of
#                                     github.com/k3s-io/k3s/releases/download
#
# and broken variants of each of those under a prefix:
#
#   /broken/bad-checksum/...          checksum files (sha256sum-*.txt) with every
#                                     digest wrong; the rest as above
#   /broken/truncated/...             assets (not checksum files) cut at half
#                                     their announced Content-Length
#   /broken/status-500/...            HTTP 500 for everything
#   /broken/hang/...                  the request is read and never answered
#
# A release is a directory DIR/<tag> (e.g. DIR/v1.30.2+k3s1) holding its
# assets; make-fake-release.sh makes one. A file ".draft" in it makes the
# release a draft; a tag with "-rc", "-alpha" or "-beta" is a pre-release.
#
# The mirror's own files are in DIR/.mirror/ (never served): the test CA
# (ca.pem: trust it with BERTH_K3S_CA_FILE, never by turning verification
# off), the server's certificate and key, "port" (the port it listens on),
# "ready" (written once it accepts connections: wait for it), and
# requests.log (a line per request: "GET /path?query"). It runs until it is
# sent SIGTERM or SIGINT. Everything it prints says it is a fake.
set -eu

if [ $# -ne 2 ]; then
  echo "usage: $0 DIR PORT (fake k3s mirror for tests)" >&2
  exit 2
fi
dir=$1
port=$2
here=$(cd "$(dirname "$0")" && pwd)
state="$dir/.mirror"

mkdir -p "$state"
rm -f "$state/ready" "$state/port"

if [ ! -s "$state/ca.pem" ] || [ ! -s "$state/server.pem" ]; then
  # A CA of the test's own, and a certificate for 127.0.0.1 and localhost
  # signed by it.
  (
    cd "$state"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -keyout ca.key -out ca.pem -days 30 \
      -subj "/CN=Berth fake k3s mirror test CA" \
      -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -keyout server.key -out server.csr -subj "/CN=127.0.0.1" 2>/dev/null
    printf '%s\n' \
      "subjectAltName=IP:127.0.0.1,DNS:localhost" \
      "basicConstraints=critical,CA:FALSE" \
      "keyUsage=critical,digitalSignature" \
      "extendedKeyUsage=serverAuth" > server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
      -out server.pem -days 30 -extfile server.ext 2>/dev/null
    rm -f server.csr server.ext ca.srl
  ) || { echo "fake k3s mirror: could not make the test CA with openssl" >&2; exit 1; }
fi

exec python3 "$here/fake-mirror.py" "$dir" "$port"
