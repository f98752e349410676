# SPDX-License-Identifier: GPL-3.0-or-later
"""A loopback stand-in for the Hugging Face Hub, for the installer's tests.

Two servers on 127.0.0.1 (port 0, i.e. chosen by the system): the "hub"
answers the API (revision, tree) and the resolve URLs; LFS files redirect to
the "cdn" server, a different origin like the real CDN.  Both support
Range.  Faults are switched on per test through attributes of FakeHub.
Only loopback addresses are ever used.
"""

import hashlib
import json
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def git_blob_sha1(data):
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class Repo:
    def __init__(self, repo_id, files, lfs=("model.safetensors",), commit=None, gated=False):
        self.id = repo_id
        self.files = dict(files)
        self.lfs = set(lfs)
        self.commit = commit or hashlib.sha1(repo_id.encode()).hexdigest()
        self.gated = gated

    def tree(self):
        out = []
        for path, data in sorted(self.files.items()):
            entry = {"type": "file", "path": path, "size": len(data)}
            if path in self.lfs:
                entry["oid"] = hashlib.sha1(b"pointer " + path.encode()).hexdigest()
                entry["lfs"] = {"oid": hashlib.sha256(data).hexdigest(), "size": len(data),
                                "pointerSize": 134}
            else:
                entry["oid"] = git_blob_sha1(data)
            out.append(entry)
        out.append({"type": "directory", "path": "onnx", "size": 0, "oid": "0" * 40})
        out.append({"type": "file", "path": "pytorch_model.bin", "size": 3, "oid": git_blob_sha1(b"abc")})
        return out


class FakeHub:
    def __init__(self, token="secret"):
        self.repos = {}
        self.token = token
        self.log = []                 # (server, method, path, headers)
        self.lock = threading.Lock()
        # Faults:
        self.drop_at = {}             # path → [offset, count]: stop sending at offset, close
        self.ignore_range = False     # answer 200 with the whole file to Range requests
        self.corrupt = set()          # paths served with one byte changed
        self.throttle = {}            # path → seconds to sleep per 64 bytes
        self.fail = {}                # path → [status, count]: answer that status count times
        self.hub = self._start("hub")
        self.cdn = self._start("cdn")

    # ---- bookkeeping ----------------------------------------------------
    def add(self, repo):
        self.repos[repo.id] = repo
        return repo

    @property
    def endpoint(self):
        return "http://127.0.0.1:%d" % self.hub.server_address[1]

    def requests(self, server=None, contains=""):
        with self.lock:
            return [r for r in self.log if (server is None or r[0] == server) and contains in r[2]]

    def clear_log(self):
        with self.lock:
            self.log.clear()

    def reset_faults(self):
        self.drop_at.clear()
        self.ignore_range = False
        self.corrupt.clear()
        self.throttle.clear()
        self.fail.clear()

    def close(self):
        for s in (self.hub, self.cdn):
            s.shutdown()
            s.server_close()

    # ---- servers ------------------------------------------------------------
    def _start(self, role):
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                with hub.lock:
                    hub.log.append((role, "GET", self.path, dict(self.headers.items())))
                try:
                    if role == "hub":
                        hub._hub_get(self)
                    else:
                        hub._cdn_get(self)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        t = threading.Thread(target=server.serve_forever, daemon=True)
        t.start()
        return server

    def _send(self, h, status, body=b"", ctype="application/json", headers=()):
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(body)

    def _json(self, h, obj, status=200, headers=()):
        self._send(h, status, json.dumps(obj).encode(), headers=headers)

    def _repo_or_error(self, h, repo_id, files=False):
        repo = self.repos.get(repo_id)
        if repo is None:
            self._json(h, {"error": "Repository not found"}, 401 if "Authorization" not in h.headers else 404,
                       headers=[("X-Error-Code", "RepoNotFound")])
            return None
        # Like the Hub, a gated repository's metadata is public, its files are not.
        if files and repo.gated and h.headers.get("Authorization") != "Bearer " + self.token:
            self._json(h, {"error": "Access to this model is restricted"}, 401,
                       headers=[("X-Error-Code", "GatedRepo")])
            return None
        return repo

    def _hub_get(self, h):
        path = h.path.split("?")[0]
        m = re.fullmatch(r"/api/models/([^/]+/[^/]+)/revision/([^/]+)", path)
        if m:
            repo = self._repo_or_error(h, m.group(1))
            if repo is None:
                return
            rev = m.group(2)
            if rev not in ("main", repo.commit):
                self._json(h, {"error": "Invalid rev id: " + rev}, 404,
                           headers=[("X-Error-Code", "RevisionNotFound")])
                return
            self._json(h, {"id": repo.id, "sha": repo.commit, "siblings": []})
            return
        m = re.fullmatch(r"/api/models/([^/]+/[^/]+)/tree/([^/]+)", path)
        if m:
            repo = self._repo_or_error(h, m.group(1))
            if repo is None:
                return
            if m.group(2) != repo.commit:
                self._json(h, {"error": "not a commit"}, 404, headers=[("X-Error-Code", "RevisionNotFound")])
                return
            self._json(h, repo.tree())
            return
        m = re.fullmatch(r"/([^/]+/[^/]+)/resolve/([^/]+)/(.+)", path)
        if m:
            repo = self._repo_or_error(h, m.group(1), files=True)
            if repo is None:
                return
            if m.group(2) != repo.commit or m.group(3) not in repo.files:
                self._json(h, {"error": "Entry not found"}, 404, headers=[("X-Error-Code", "EntryNotFound")])
                return
            name = m.group(3)
            if name in repo.lfs:
                # Like the Hub: LFS files live on the CDN, a different origin.
                loc = "http://127.0.0.1:%d/blobs/%s/%s?signature=x" % (
                    self.cdn.server_address[1], repo.id.replace("/", "--"), name)
                self._send(h, 302, b"", headers=[("Location", loc)])
                return
            self._serve_file(h, name, repo.files[name])
            return
        self._json(h, {"error": "no route"}, 404)

    def _cdn_get(self, h):
        m = re.fullmatch(r"/blobs/([^/]+)/([^?]+)(\?.*)?", h.path)
        repo = self.repos.get(m.group(1).replace("--", "/")) if m else None
        if repo is None or m.group(2) not in repo.files:
            self._send(h, 404, b"no blob", "text/plain")
            return
        self._serve_file(h, m.group(2), repo.files[m.group(2)])

    def _serve_file(self, h, name, data):
        import time
        if name in self.corrupt:
            data = data[:-1] + bytes([data[-1] ^ 0xFF])
        fail = self.fail.get(name)
        if fail is not None and fail[1] > 0:
            fail[1] -= 1
            self._send(h, fail[0], b"busy", "text/plain")
            return
        start = 0
        rng = h.headers.get("Range")
        status = 200
        if rng and not self.ignore_range:
            m = re.fullmatch(r"bytes=(\d+)-", rng)
            start = int(m.group(1))
            if start >= len(data):
                self._send(h, 416, b"", "text/plain", [("Content-Range", "bytes */%d" % len(data))])
                return
            status = 206
        body = data[start:]
        h.send_response(status)
        h.send_header("Content-Type", "application/octet-stream")
        h.send_header("Content-Length", str(len(body)))
        h.send_header("Accept-Ranges", "bytes")
        if status == 206:
            h.send_header("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data)))
        h.end_headers()
        drop = self.drop_at.get(name)
        if drop is not None and drop[1] > 0:
            drop[1] -= 1
            cut = max(0, drop[0] - start)
            h.wfile.write(body[:cut])
            h.wfile.flush()
            h.close_connection = True
            h.connection.shutdown(socket.SHUT_RDWR)
            return
        delay = self.throttle.get(name)
        if delay:
            for i in range(0, len(body), 64):
                h.wfile.write(body[i:i + 64])
                h.wfile.flush()
                time.sleep(delay)
            return
        h.wfile.write(body)


def main():
    """Serves a few tiny models for the C tests: prints the endpoint, then
    runs until standard input closes (at most 120 s)."""
    import os
    import sys
    import tinymodel

    hub = FakeHub()
    hub.add(Repo("acme/tiny-clip", tinymodel.files()))
    hub.add(Repo("acme/slow", tinymodel.files(seed=5)))
    hub.throttle["model.safetensors"] = 0.05
    threading.Timer(120, lambda: os._exit(1)).start()
    print(hub.endpoint, flush=True)
    sys.stdin.read()
    os._exit(0)


if __name__ == "__main__":
    main()
