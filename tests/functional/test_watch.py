"""Issue 16 item 8 (cluster part): bad kubeconfigs and clusters end in one clear sentence, exit 2 and
a ``Failed`` JSON record - never a traceback. Written by the hardening work; the lead's
``wizard/kube.py`` connector makes them pass."""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from wizard.frontends.cli import main

from support.repos import make_guide_repo


class _Html(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # a captive portal / proxy login page instead of the API
        body = b"<html><body><h1>Please log in</h1></body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def html_api():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Html)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def _kubeconfig(server: str, user: str) -> str:
    return f"""apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: {server}
users:
- name: u
  user:
{user}
contexts:
- name: ctx
  context: {{cluster: c, user: u}}
current-context: ctx
"""


CASES = {
    "invalid-yaml": lambda api: "apiVersion: v1\nclusters: [\n  - {name: c\n",
    "empty": lambda api: "",
    "exec-plugin-fails": lambda api: _kubeconfig(
        "https://127.0.0.1:1",
        "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: sh\n"
        '      args: ["-c", "echo \'error: login expired, run: kubelogin\' >&2; exit 1"]\n'
        "      interactiveMode: Never",
    ),
    "html-api": lambda api: _kubeconfig(api, "    token: not-a-real-token-0123456789"),
    "bad-client-cert": lambda api: _kubeconfig(
        "https://127.0.0.1:1",
        "    client-certificate-data: "
        + base64.b64encode(b"-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n").decode()
        + "\n    client-key-data: "
        + base64.b64encode(b"not a key").decode(),
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_watch_with_a_bad_kubeconfig_fails_cleanly(
    case: str,
    tmp_path: Path,
    html_api: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo = make_guide_repo(tmp_path / "repo")
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(CASES[case](html_api))
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    rc = main(["watch", "--repo", str(repo), "--timeout", "10s", "--json"])
    out = capsys.readouterr()
    assert rc == 2, out.err[-2000:]
    records = [json.loads(line) for line in out.out.splitlines() if line.startswith("{")]
    assert records and records[-1]["event"] == "Failed" and records[-1]["exit_code"] == 2
    message = records[-1]["message"]
    assert "kubeconfig" in message.lower() or str(kubeconfig) in message
    assert "Traceback" not in out.err and "not-a-real-token" not in out.out + out.err
    assert message.count(". ") <= 3  # one short paragraph, not a dump
