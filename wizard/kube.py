"""The one Kubernetes connector: kubeconfig and context resolved once, one client factory.

    kube = KubeConnector(kubeconfig=None, context=None)
    cluster = kube.resolve()          # None: no kubeconfig at all; UserError: a broken one
    client = kube.async_client()      # lightkube AsyncClient: field manager, timeout, trust_env=False
    apis = await kube.discovery()     # GET /apis, every failure mapped to one sentence
    items, rv = await list_dicts(kube.http(client), path)          # a collection, as dicts
    async for etype, obj in watch_dicts(kube.http(client), path, resource_version=rv): ...

Every error says what was seen and what to do, never a traceback, and never includes credentials.
Credentials given inline in the kubeconfig (``client-key-data``, CA data) are handed to the TLS
layer through anonymous in-memory files (``memfd``), so no key is ever written to disk (lightkube
would otherwise write ``*-data`` values to temporary files). lightkube is imported lazily.

lightkube's internals: this module is the only place that reaches past lightkube's public API, and
only through :meth:`KubeConnector.http` (``AsyncClient._client._client``, the httpx2 client that
lightkube sends through, with the kubeconfig's server, TLS and credentials). The discovery request,
the watch's lists and watches (decoded once into dicts, not lightkube's models) and request counting
use it. ``tests/unit/test_kube.py::test_the_lightkube_internals_edge_wizard_relies_on`` fails
when a lightkube upgrade moves it.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import os
import ssl
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wizard.errors import UserError

FIELD_MANAGER = "edge-wizard"
DEFAULT_TIMEOUT = 10.0
MAX_KUBECONFIG_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class Cluster:
    """Where the connector points: the kubeconfig file, its context and the API server URL."""

    kubeconfig: Path
    context: str
    server: str

    def describe(self) -> str:
        return f"cluster {self.server} (context {self.context}, kubeconfig {self.kubeconfig})"


def kubeconfig_candidates(explicit: str | os.PathLike[str] | None = None, env: Any = None) -> list[Path]:
    """The kubeconfig files kubectl would read, in order: ``--kubeconfig``, ``$KUBECONFIG``, ~/.kube/config."""
    env = os.environ if env is None else env
    if explicit:
        return [Path(explicit).expanduser()]
    parts = [Path(p).expanduser() for p in (env.get("KUBECONFIG") or "").split(os.pathsep) if p]
    return parts or [Path.home() / ".kube" / "config"]


def _first_line(text: str) -> str:
    lines = [ln.strip() for ln in str(text).strip().splitlines() if ln.strip()]
    return (lines[0] if lines else "").rstrip(".")


class _MemFiles:
    """Inline kubeconfig data as in-memory files (Linux memfd; elsewhere a private 0600 file that is
    removed at once after the TLS context read it)."""

    def __init__(self) -> None:
        self.fds: list[int] = []

    def path(self, data: bytes, name: str) -> str:
        if hasattr(os, "memfd_create"):
            fd = os.memfd_create(f"edge-wizard-{name}", os.MFD_CLOEXEC)
            os.write(fd, data)
            self.fds.append(fd)
            return f"/proc/self/fd/{fd}"
        import tempfile  # pragma: no cover - non-Linux

        fd, tmp = tempfile.mkstemp(prefix="edge-wizard-")  # pragma: no cover
        os.write(fd, data)  # pragma: no cover
        os.close(fd)  # pragma: no cover
        return tmp  # pragma: no cover

    def close(self) -> None:
        for fd in self.fds:
            try:
                os.close(fd)
            except OSError:
                pass
        self.fds = []


class KubeConnector:
    """Resolves the kubeconfig and context once; makes every client of the run."""

    def __init__(
        self,
        kubeconfig: str | os.PathLike[str] | None = None,
        context: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.explicit = kubeconfig
        self.wanted_context = context
        self.timeout = timeout
        self._resolved: Cluster | None | bool = False  # False: not resolved yet
        self._raw: dict[str, Any] | None = None
        self._ssl: ssl.SSLContext | None = None
        self._single: Any = None
        self._async: dict[int, Any] = {}
        self._sync: Any = None

    # -- the kubeconfig -------------------------------------------------------------------------
    def locate(self) -> Path | None:
        return next((p for p in kubeconfig_candidates(self.explicit) if p.is_file()), None)

    def resolve(self) -> Cluster | None:
        """The cluster this run talks to, or None when there is no kubeconfig file at all."""
        if self._resolved is not False:
            return self._resolved  # type: ignore[return-value]
        path = self.locate()
        if path is None:
            if self.explicit:
                raise UserError(f"The kubeconfig {self.explicit} does not exist. Check the path, or leave it out.")
            self._resolved = None
            return None
        raw = self._read(path)
        name = self.wanted_context or raw.get("current-context")
        contexts = {
            str(c.get("name")): c.get("context") or {} for c in raw.get("contexts") or [] if isinstance(c, dict)
        }
        if not name:
            raise UserError(
                f"The kubeconfig {path} sets no current context (contexts: {', '.join(sorted(contexts)) or 'none'}). "
                "Pick one with `kubectl config use-context NAME` or pass --context NAME."
            )
        ctx = contexts.get(str(name))
        if ctx is None:
            raise UserError(
                f"The kubeconfig {path} has no context {name!r} (it has: {', '.join(sorted(contexts)) or 'none'}). "
                "Pass one of them with --context NAME."
            )
        clusters = {
            str(c.get("name")): c.get("cluster") or {} for c in raw.get("clusters") or [] if isinstance(c, dict)
        }
        cluster = clusters.get(str(ctx.get("cluster")))
        server = (cluster or {}).get("server") if isinstance(cluster, dict) else None
        if not server:
            raise UserError(
                f"The kubeconfig {path}: context {name!r} points at cluster {ctx.get('cluster')!r}, which has no "
                "server URL. Fix the kubeconfig (talosctl kubeconfig writes a complete one)."
            )
        users = {str(u.get("name")): u.get("user") or {} for u in raw.get("users") or [] if isinstance(u, dict)}
        if ctx.get("user") is not None and str(ctx.get("user")) not in users:
            raise UserError(
                f"The kubeconfig {path}: context {name!r} names the user {ctx.get('user')!r}, which is not in its "
                "users list. Fix the kubeconfig, or pass another --context."
            )
        self._raw = raw
        self._resolved = Cluster(kubeconfig=path, context=str(name), server=str(server))
        return self._resolved

    def _read(self, path: Path) -> dict[str, Any]:
        try:
            if path.stat().st_size > MAX_KUBECONFIG_BYTES:
                raise UserError(
                    f"The kubeconfig {path} is larger than 4 MB, so it is not read. Point KUBECONFIG at the right file."
                )
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise UserError(
                f"The kubeconfig {path} is not a text file. Point KUBECONFIG at your cluster's kubeconfig."
            ) from None
        except OSError as exc:
            raise UserError(f"The kubeconfig {path} cannot be read ({exc.strerror}).") from None
        from wizard import yamlio

        try:
            docs = yamlio.load_plain(text)
        except Exception as exc:  # ruamel raises several types; the text may hold credentials: not shown
            problem = _first_line(getattr(exc, "problem", "") or type(exc).__name__)
            raise UserError(
                f"The kubeconfig {path} is not valid YAML ({problem}). Fix it or regenerate it "
                "(talosctl kubeconfig), or point KUBECONFIG at another file."
            ) from None
        raw = docs[0] if docs else None
        if not isinstance(raw, dict) or not raw:
            raise UserError(
                f"The kubeconfig {path} is empty or not a kubeconfig (no clusters/contexts/users mapping). "
                "Regenerate it (talosctl kubeconfig) or point KUBECONFIG at another file."
            )
        return raw

    @property
    def cluster(self) -> Cluster:
        c = self.resolve()
        if c is None:
            raise UserError(
                "No kubeconfig was found ($KUBECONFIG, ~/.kube/config), so edge-wizard cannot reach the cluster. "
                "Point KUBECONFIG at your cluster's kubeconfig (talosctl kubeconfig writes one)."
            )
        return c

    def where(self) -> str:
        c = self.resolve()
        return c.describe() if c else "no cluster"

    # -- clients ----------------------------------------------------------------------------------
    def _single_config(self) -> Any:
        if self._single is not None:
            return self._single
        cluster = self.cluster
        assert self._raw is not None
        from lightkube import ConfigError, KubeConfig

        raw = self._inline_to_memfd(self._raw, cluster)
        try:
            kc = KubeConfig.from_dict(raw, fname=str(cluster.kubeconfig))
            single = kc.get(context_name=cluster.context)
        except (ConfigError, KeyError, TypeError, ValueError) as exc:
            raise UserError(
                f"The kubeconfig {cluster.kubeconfig} cannot be used ({_first_line(str(exc)) or type(exc).__name__}). "
                "Fix it or regenerate it (talosctl kubeconfig)."
            ) from None
        self._single = single
        return single

    def _inline_to_memfd(self, raw: dict[str, Any], cluster: Cluster) -> dict[str, Any]:
        """A copy of the kubeconfig where every ``*-data`` value is a path to an in-memory file."""
        import copy

        out = copy.deepcopy(raw)
        mem = _MemFiles()
        self._mem = mem
        pairs = (
            ("clusters", "cluster", "certificate-authority-data", "certificate-authority"),
            ("users", "user", "client-certificate-data", "client-certificate"),
            ("users", "user", "client-key-data", "client-key"),
        )
        for section, inner, data_key, file_key in pairs:
            for entry in out.get(section) or []:
                body = entry.get(inner) if isinstance(entry, dict) else None
                if not isinstance(body, dict) or not body.get(data_key):
                    continue
                try:
                    data = base64.b64decode(str(body[data_key]), validate=True)
                except (binascii.Error, ValueError):
                    raise UserError(
                        f"The kubeconfig {cluster.kubeconfig}: {data_key} of {section[:-1]} {entry.get('name')!r} is not "
                        "valid base64. Regenerate the kubeconfig (talosctl kubeconfig)."
                    ) from None
                body[file_key] = mem.path(data, data_key)
                del body[data_key]
        return out

    def _check_tls(self) -> None:
        """Build the TLS context once, so bad certificate data is one sentence, not a traceback."""
        single = self._single_config()
        cluster = self.cluster
        user = single.user
        try:
            if single.cluster.certificate_auth:
                ssl.create_default_context(cafile=single.abs_file(single.cluster.certificate_auth))
            if user is not None and (user.client_cert or user.client_key):
                ctx = ssl.create_default_context()
                ctx.load_cert_chain(single.abs_file(user.client_cert), single.abs_file(user.client_key))
        except (ssl.SSLError, OSError) as exc:
            reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or type(exc).__name__
            raise UserError(
                f"The kubeconfig {cluster.kubeconfig} (context {cluster.context}) has certificate data that cannot be "
                f"loaded ({reason}). Regenerate the kubeconfig (talosctl kubeconfig), or fix its client certificate, "
                "key and certificate-authority entries."
            ) from None

    def async_client(self) -> Any:
        """The lightkube AsyncClient of the running event loop (one per loop)."""
        loop = id(asyncio.get_running_loop())
        client = self._async.get(loop)
        if client is None:
            import httpx2
            from lightkube import AsyncClient

            self._check_tls()
            client = AsyncClient(
                config=self._single_config(),
                field_manager=FIELD_MANAGER,
                timeout=httpx2.Timeout(self.timeout),
                trust_env=False,
            )
            self._async = {loop: client}
        return client

    def sync_client(self) -> Any:
        if self._sync is None:
            import httpx2
            from lightkube import Client

            self._check_tls()
            self._sync = Client(
                config=self._single_config(),
                field_manager=FIELD_MANAGER,
                timeout=httpx2.Timeout(self.timeout),
                trust_env=False,
            )
        return self._sync

    @staticmethod
    def http(client: Any) -> Any:
        """The httpx2 client under a lightkube client (raw GETs, the watch's lists and watches,
        request counting): lightkube's one internal this project uses (see the module's docstring)."""
        return client._client._client

    async def aclose(self) -> None:
        clients, self._async = list(self._async.values()), {}
        for c in clients:
            try:
                await c.close()
            except Exception:
                pass

    # -- the one request every stage starts with ---------------------------------------------------
    async def discovery(self) -> dict[str, Any]:
        """``GET /apis`` (the APIGroupList). Raises UserError with one sentence for every way it fails."""
        client = self.async_client()
        try:
            resp = await self.http(client).get("/apis", timeout=self.timeout)
        except Exception as exc:
            raise self.explain(exc) from None
        return self.parse_json(resp, "API discovery (/apis)")

    def parse_json(self, resp: Any, what: str) -> dict[str, Any]:
        where = self.where()
        if resp.status_code in (401, 403):
            raise UserError(
                f"The Kubernetes API at {where} refused the kubeconfig's credentials (HTTP {resp.status_code}). "
                "Refresh them (e.g. talosctl kubeconfig, or log in again) and run again."
            )
        ctype = resp.headers.get("content-type", "")
        if resp.status_code != 200:
            raise UserError(
                f"The Kubernetes API at {where} answered HTTP {resp.status_code} for {what}. Check that the "
                "kubeconfig's server URL is the cluster's API server (kubectl get ns)."
            )
        try:
            data = resp.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            kind = (
                "an HTML page"
                if "html" in ctype.lower()
                else f"something that is not JSON ({ctype or 'no content type'})"
            )
            raise UserError(
                f"The server at {where} answered {what} with {kind}, so it is not a Kubernetes API server (a proxy, "
                "a login page or a wrong port?). Check the kubeconfig's server URL."
            )
        return data

    def explain(self, exc: BaseException) -> UserError:
        """A connection-time exception as one sentence (never with credentials)."""
        from lightkube import ConfigError

        where = self.where()
        if isinstance(exc, UserError):
            return exc
        if isinstance(exc, ConfigError):
            text = _first_line(str(exc))
            if text.startswith("Exec "):
                cmd = text[5:].split(" returned", 1)[0]
                detail = text.split(":", 1)[1].strip() if ":" in text else ""
                return UserError(
                    f"The kubeconfig's credential plugin `{cmd}` failed for {where}"
                    + (f": {detail}" if detail else "")
                    + ". Log in again with that tool (its login has probably expired), then run again."
                )
            return UserError(f"The kubeconfig for {where} cannot be used ({text}). Fix it or regenerate it.")
        if isinstance(exc, ssl.SSLError | ssl.CertificateError):
            return UserError(
                f"TLS with the Kubernetes API at {where} failed ({_first_line(str(exc))}). The kubeconfig's "
                "certificate-authority does not match the server, or the server URL is wrong."
            )
        import httpx2

        if isinstance(exc, httpx2.TransportError | OSError):
            cause = exc.__cause__ or exc.__context__
            if isinstance(cause, ssl.SSLError):
                return self.explain(cause)
            return UserError(
                f"Cannot reach the Kubernetes API at {where}: {_first_line(str(exc)) or type(exc).__name__}. Check that "
                "the cluster is up and the context is the right one (kubectl get ns)."
            )
        if isinstance(exc, FileNotFoundError | PermissionError):
            return UserError(f"The kubeconfig for {where} names a file that cannot be read ({exc}).")
        return UserError(
            f"Talking to the Kubernetes API at {where} failed ({type(exc).__name__}: {_first_line(str(exc))})."
        )


# -- lists and watches as plain dicts ----------------------------------------------------------------
def selector(terms: Mapping[str, str | Sequence[str]] | None) -> str | None:
    """A label or field selector: ``key=value`` terms, ``key in (a,b)`` for several values."""
    if not terms:
        return None
    return ",".join(f"{k}={v}" if isinstance(v, str) else f"{k} in ({','.join(v)})" for k, v in terms.items())


def _params(labels: Mapping[str, str | Sequence[str]] | None, fields: Mapping[str, str] | None) -> dict[str, str]:
    params = {"labelSelector": selector(labels), "fieldSelector": selector(fields)}
    return {k: v for k, v in params.items() if v}


async def _raise_for_status(resp: Any) -> None:
    """An HTTP error as lightkube's ApiError (its Status: code and message), as lightkube raises it;
    a body that is not a Status (a proxy's page) as httpx2's HTTPStatusError."""
    if resp.status_code < 400:
        return
    from lightkube import ApiError

    await resp.aread()
    try:
        error = ApiError(request=resp.request, response=resp)
    except (ValueError, TypeError, AttributeError):
        resp.raise_for_status()
        raise
    raise error


async def list_dicts(
    http: Any,
    path: str,
    *,
    labels: Mapping[str, str | Sequence[str]] | None = None,
    fields: Mapping[str, str] | None = None,
) -> tuple[list[dict[str, Any]], str]:
    """GET the collection at ``path`` (``wizard.flux.kinds.Kind.path``): its items as dicts, decoded
    once (msgspec), and the resourceVersion to watch it from."""
    import msgspec

    resp = await http.get(path, params=_params(labels, fields))
    await _raise_for_status(resp)
    data = msgspec.json.decode(resp.content)
    return list(data.get("items") or []), str((data.get("metadata") or {}).get("resourceVersion") or "")


async def watch_dicts(
    http: Any,
    path: str,
    *,
    labels: Mapping[str, str | Sequence[str]] | None = None,
    fields: Mapping[str, str] | None = None,
    resource_version: str | None = None,
) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """``(type, object dict)`` for each event of one watch of the collection at ``path``, each line
    decoded once (msgspec), until the server ends the watch (the caller watches again from the last
    resourceVersion). The client's timeouts apply, except for reading (a watch waits). A watch ERROR
    event raises lightkube's ApiError (410 Gone: list again), an HTTP error likewise."""
    import httpx2
    import msgspec
    from lightkube import ApiError
    from lightkube.models.meta_v1 import Status

    params = {"watch": "true", **_params(labels, fields)}
    if resource_version:
        params["resourceVersion"] = resource_version
    t = http.timeout
    req = http.build_request(
        "GET", path, params=params, timeout=httpx2.Timeout(connect=t.connect, read=None, write=t.write, pool=t.pool)
    )
    resp = await http.send(req, stream=True)
    try:
        await _raise_for_status(resp)
        decode = msgspec.json.Decoder().decode
        rest = b""
        async for chunk in resp.aiter_bytes():
            *lines, rest = (rest + chunk).split(b"\n") if rest else chunk.split(b"\n")
            for line in lines:
                if not line.strip():
                    continue
                event = decode(line)
                etype, obj = event.get("type"), event.get("object") or {}
                if etype == "ERROR":
                    raise ApiError(status=Status.from_dict(obj))  # type: ignore[arg-type]  # from_dict is typed DictMixin
                yield etype, obj
    finally:
        await resp.aclose()


def error_code(exc: BaseException) -> int | None:
    """The HTTP status of a failed request (lightkube's ApiError, httpx2's HTTPStatusError), if any."""
    status = getattr(exc, "status", None)
    code = getattr(status, "code", None)
    if code:
        return int(code)
    resp = getattr(exc, "response", None)
    return getattr(resp, "status_code", None) if resp is not None else None


def transport_errors() -> tuple[type[BaseException], ...]:
    """The errors of a connection that failed or dropped (retried, never a status)."""
    import httpx2

    return (httpx2.TransportError, OSError)
