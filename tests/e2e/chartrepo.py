"""A throwaway Helm HTTP repository for the e2e tier.

Packages the real upstream charts (``../shared/upstream/charts/``, or
``$EDGE_WIZARD_UPSTREAM/charts``: ingress-nginx, external-dns, cert-manager, podinfo and
traefik at the versions assets/catalog.yaml pins) into deterministic
``<name>-<version>.tgz`` files plus an ``index.yaml`` (sha256 digests, absolute URLs)
and serves the directory on 127.0.0.1 with a threaded ``http.server``.

    repo = ChartRepo(tmp_path / "charts")
    repo.start()          # packages + serves; repo.url == "http://127.0.0.1:PORT/"
    ...
    repo.stop()
"""

from __future__ import annotations

import fnmatch
import functools
import gzip
import hashlib
import http.server
import io
import os
import tarfile
import threading
from collections.abc import Callable
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
UPSTREAM = Path(os.environ.get("EDGE_WIZARD_UPSTREAM") or REPO_ROOT.parent / "shared" / "upstream")
CHARTS_SRC = UPSTREAM / "charts"
_CREATED = "2026-01-01T00:00:00Z"


def helmignored(src: Path) -> Callable[[str], bool]:
    """What ``helm package`` leaves out by the chart's ``.helmignore`` (globs on a path or on any of its
    names; ``dir/`` for a folder). The traefik chart relies on it: its ``crds/kustomization.yaml``
    would otherwise be installed as a CRD ("no matches for kind Kustomization")."""
    f = src / ".helmignore"
    lines = f.read_text().splitlines() if f.is_file() else []
    pats = [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith(("#", "!"))]

    def ignored(rel: str) -> bool:
        parts = rel.split("/")
        for p in pats:
            folder = p.endswith("/")
            pat = p.rstrip("/")
            if "/" in pat:
                if fnmatch.fnmatch(rel, pat) or (folder and rel.startswith(pat + "/")):
                    return True
            elif any(fnmatch.fnmatch(n, pat) for n in (parts[:-1] if folder else parts)):
                return True
        return False

    return ignored


def package_chart(src: Path, out_dir: Path) -> tuple[dict, Path]:
    """Write ``<name>-<version>.tgz`` for the chart dir ``src`` (as ``helm package`` would: without what
    ``.helmignore`` names); return (Chart.yaml, path)."""
    meta = yaml.safe_load((src / "Chart.yaml").read_text())
    name, version = meta["name"], str(meta["version"])
    ignored = helmignored(src)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for f in sorted(p for p in src.rglob("*") if p.is_file()):
            rel = f.relative_to(src).as_posix()
            if ignored(rel):
                continue
            data = f.read_bytes()
            info = tarfile.TarInfo(f"{name}/{rel}")
            info.size = len(data)
            info.mode = 0o644
            info.mtime = 0
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    out = out_dir / f"{name}-{version}.tgz"
    gz = io.BytesIO()
    with gzip.GzipFile(fileobj=gz, mode="wb", mtime=0, filename="") as z:
        z.write(buf.getvalue())
    out.write_bytes(gz.getvalue())
    return meta, out


def build_repo(out_dir: Path, url: str, charts_src: Path = CHARTS_SRC) -> Path:
    """Package every chart under ``charts_src`` into ``out_dir`` and write index.yaml."""
    out_dir.mkdir(parents=True, exist_ok=True)
    url = url.rstrip("/") + "/"
    entries: dict[str, list[dict]] = {}
    charts = sorted(p.parent for p in charts_src.glob("*/Chart.yaml"))
    if not charts:
        raise FileNotFoundError(
            f"no Helm charts in {charts_src}: the e2e tier serves the real upstream charts from there "
            "(set EDGE_WIZARD_UPSTREAM to the folder holding charts/)"
        )
    for chart in charts:
        meta, tgz = package_chart(chart, out_dir)
        entry = dict(meta)
        entry.update(
            created=_CREATED,
            digest=hashlib.sha256(tgz.read_bytes()).hexdigest(),
            urls=[url + tgz.name],
        )
        entries.setdefault(meta["name"], []).append(entry)
    index = {"apiVersion": "v1", "entries": entries, "generated": _CREATED}
    (out_dir / "index.yaml").write_text(yaml.safe_dump(index, sort_keys=True))
    return out_dir / "index.yaml"


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - keep test output quiet
        pass


class ChartRepo:
    def __init__(self, dir: Path | str, charts_src: Path | str = CHARTS_SRC):  # noqa: A002
        self.dir = Path(dir)
        self.charts_src = Path(charts_src)
        self._server: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    def start(self) -> ChartRepo:
        self.dir.mkdir(parents=True, exist_ok=True)
        handler = functools.partial(_Handler, directory=str(self.dir))
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/"
        build_repo(self.dir, self.url, self.charts_src)
        self._thread = threading.Thread(target=self._server.serve_forever, name="chartrepo", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> ChartRepo:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
