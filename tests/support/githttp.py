"""A smart-HTTP git server for tests: stdlib HTTP server bridging to ``git http-backend`` (CGI).

Binds 127.0.0.1 on a free port only. Serves every bare repository under ``root`` (``<name>.git``),
with fetch and push, protocol v0 and v2 (the ``Git-Protocol`` header is passed through), gzip
request bodies (``Content-Encoding`` handed to http-backend) and chunked request bodies (de-chunked
here). Optional Basic auth. ``fail_next_push()`` makes the next receive-pack request fail.

    with GitHTTPServer(tmp_path) as srv:
        srv.create_bare("fleet")
        url = srv.url + "fleet.git"
"""

from __future__ import annotations

import base64
import hmac
import os
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

__all__ = ["GitHTTPServer"]

_STRIP_ENV = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_CONFIG_PARAMETERS",
    "GIT_CONFIG_COUNT",
    "GIT_NAMESPACE",
    "GIT_PROTOCOL",
)


def _git_http_backend() -> str:
    exec_path = subprocess.run(["git", "--exec-path"], check=True, capture_output=True, text=True).stdout.strip()
    return os.path.join(exec_path, "git-http-backend")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    # -- plumbing -------------------------------------------------------------------------
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        self.server.owner.log.append(format % args)

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            self.server.owner.chunked_requests += 1
            chunks: list[bytes] = []
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    raise ConnectionError("truncated chunked body")
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    # Trailer section: lines until an empty one.
                    while True:
                        trailer = self.rfile.readline(65537)
                        if trailer in (b"\r\n", b"\n", b""):
                            break
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline(3)  # the CRLF after each chunk
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, reason: str, headers: list[tuple[str, str]], body: bytes) -> None:
        self.send_response(status, reason or None)
        have_length = False
        for key, value in headers:
            if key.lower() == "content-length":
                have_length = True
            self.send_header(key, value)
        if not have_length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _authorised(self) -> bool:
        owner = self.server.owner
        if owner.username is None:
            return True
        header = self.headers.get("Authorization") or ""
        if not header.lower().startswith("basic "):
            return False
        try:
            decoded = base64.b64decode(header[6:].strip()).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return False
        user, _, password = decoded.partition(":")
        return hmac.compare_digest(user, owner.username) and hmac.compare_digest(password, owner.password or "")

    # -- request handling -----------------------------------------------------------------
    def _handle(self) -> None:
        owner = self.server.owner
        body = self._read_body() if self.command == "POST" else b""
        parts = urlsplit(self.path)
        path_info = unquote(parts.path)
        query = parts.query
        owner.requests.append((self.command, path_info, query))

        if not self._authorised():
            self.close_connection = True
            self._send(
                401,
                "Unauthorized",
                [
                    ("WWW-Authenticate", 'Basic realm="edge-wizard test git"'),
                    ("Content-Type", "text/plain"),
                    ("Connection", "close"),
                ],
                b"authentication required\n",
            )
            return

        is_push = path_info.endswith("/git-receive-pack") or "service=git-receive-pack" in query
        if is_push:
            with owner.lock:
                fail = owner._fail_next_push
                owner._fail_next_push = None
            if fail is not None:
                self._send(fail, "", [("Content-Type", "text/plain")], b"push refused by test\n")
                return

        env = {
            k: v
            for k, v in os.environ.items()
            if k not in _STRIP_ENV and not k.startswith(("GIT_CONFIG_KEY_", "GIT_CONFIG_VALUE_"))
        }
        env.update(
            GATEWAY_INTERFACE="CGI/1.1",
            SERVER_PROTOCOL="HTTP/1.1",
            SERVER_SOFTWARE="edge-wizard-test-githttp",
            GIT_PROJECT_ROOT=str(owner.root),
            GIT_HTTP_EXPORT_ALL="1",
            REMOTE_USER=owner.username or "tester",
            REMOTE_ADDR=self.client_address[0],
            PATH_INFO=path_info,
            QUERY_STRING=query,
            REQUEST_METHOD=self.command,
            # Enable receive-pack explicitly (http-backend also does so when REMOTE_USER is set).
            GIT_CONFIG_COUNT="1",
            GIT_CONFIG_KEY_0="http.receivepack",
            GIT_CONFIG_VALUE_0="true",
        )
        if self.headers.get("Content-Type"):
            env["CONTENT_TYPE"] = self.headers["Content-Type"]
        if self.command == "POST":
            env["CONTENT_LENGTH"] = str(len(body))
        proto = self.headers.get("Git-Protocol")
        if proto:
            env["GIT_PROTOCOL"] = proto
            env["HTTP_GIT_PROTOCOL"] = proto
        encoding = self.headers.get("Content-Encoding")
        if encoding:
            env["HTTP_CONTENT_ENCODING"] = encoding

        proc = subprocess.run([owner.backend], input=body, env=env, capture_output=True, check=False)
        if proc.stderr:
            owner.log.append(proc.stderr.decode("utf-8", "replace"))

        out = proc.stdout
        # Split CGI headers from the body (http-backend uses CRLF; accept LF too).
        idx_crlf = out.find(b"\r\n\r\n")
        idx_lf = out.find(b"\n\n")
        if idx_crlf != -1 and (idx_lf == -1 or idx_crlf <= idx_lf):
            head, payload = out[:idx_crlf], out[idx_crlf + 4 :]
        elif idx_lf != -1:
            head, payload = out[:idx_lf], out[idx_lf + 2 :]
        else:
            self._send(502, "Bad Gateway", [("Content-Type", "text/plain")], b"bad CGI output\n")
            return
        status, reason = 200, "OK"
        headers: list[tuple[str, str]] = []
        for raw in head.decode("latin-1").splitlines():
            if not raw.strip():
                continue
            key, _, value = raw.partition(":")
            key, value = key.strip(), value.strip()
            if key.lower() == "status":
                code, _, reason = value.partition(" ")
                status = int(code)
            else:
                headers.append((key, value))
        self._send(status, reason, headers, payload)

    do_GET = _handle
    do_POST = _handle
    do_HEAD = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: GitHTTPServer


class GitHTTPServer:
    """Smart HTTP git server on 127.0.0.1 for the repositories under ``root``."""

    def __init__(self, root: Path, *, username: str | None = None, password: str | None = None) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.username = username
        self.password = password
        self.backend = _git_http_backend()
        self.lock = threading.Lock()
        self.log: list[str] = []
        self.requests: list[tuple[str, str, str]] = []
        self._fail_next_push: int | None = None
        self.chunked_requests = 0
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> GitHTTPServer:
        if self._httpd is not None:
            return self
        httpd = _Server(("127.0.0.1", 0), _Handler)
        httpd.owner = self
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, name="githttp", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> GitHTTPServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- helpers --------------------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("server not started")
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def repo_url(self, name: str, *, username: str | None = None, password: str | None = None) -> str:
        """URL of ``<name>.git``, optionally with credentials embedded."""
        auth = ""
        if username is not None:
            auth = username + (f":{password}" if password is not None else "") + "@"
        return f"http://{auth}127.0.0.1:{self.port}/{name}.git"

    def create_bare(self, name: str) -> Path:
        path = self.root / f"{name}.git"
        subprocess.run(
            ["git", "init", "--quiet", "--bare", "-b", "main", str(path)],
            check=True,
            capture_output=True,
        )
        return path

    def fail_next_push(self, status: int = 403) -> None:
        """Answer the next receive-pack request (push discovery or pack upload) with ``status``."""
        with self.lock:
            self._fail_next_push = status
