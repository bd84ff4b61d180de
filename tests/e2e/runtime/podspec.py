"""What a kubelet prepares before a container starts, done through the API: the pod's volumes as files
(Secrets, ConfigMaps, projected service-account tokens, downward API, emptyDirs), the container's
environment (values, fieldRef, resourceFieldRef, secretKeyRef/configMapKeyRef, envFrom) and its
command line with ``$(VAR)`` references expanded and mount paths rewritten to the pod's folder."""

from __future__ import annotations

import base64
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .api import Api, ApiError

SA_MOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"


class NotReadyYet(Exception):
    """The pod cannot start yet (a Secret or ConfigMap it needs is missing): ``reason``/``message``
    are what the kubelet would report on the container."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass
class Prepared:
    mounts: list[tuple[str, Path]] = field(default_factory=list)  # (mountPath, local dir), longest first
    token_file: Path | None = None
    ca_file: Path | None = None

    def rewrite(self, value: str) -> str:
        """Replace a mount path (as a path prefix anywhere in ``value``) by the pod's local folder."""
        for mount, local in self.mounts:
            m = mount.rstrip("/")
            value = re.sub(re.escape(m) + r"(?=/|$|[\s,;:=\"'])", str(local).replace("\\", "\\\\"), value)
        return value


def _b64(d: dict[str, str] | None) -> dict[str, bytes]:
    return {k: base64.b64decode(v) for k, v in (d or {}).items()}


class PodFiles:
    """Reads what a pod references through the API and writes its volumes under ``root``."""

    def __init__(self, api: Api, pod: dict[str, Any], root: Path, allocatable: dict[str, str]) -> None:
        self.api = api
        self.pod = pod
        self.meta = pod["metadata"]
        self.ns = self.meta["namespace"]
        self.root = root
        self.allocatable = allocatable

    # ------------------------------------------------------------------ API objects
    def secret(self, name: str, optional: bool = False, volume: str = "") -> dict[str, bytes] | None:
        obj = self.api.get_or_none(f"/api/v1/namespaces/{self.ns}/secrets/{name}")
        if obj is None:
            if optional:
                return None
            if volume:
                raise NotReadyYet(
                    "ContainerCreating", f'MountVolume.SetUp failed for volume "{volume}" : secret "{name}" not found'
                )
            raise NotReadyYet("CreateContainerConfigError", f'secret "{name}" not found')
        return _b64(obj.get("data"))

    def configmap(self, name: str, optional: bool = False) -> dict[str, bytes] | None:
        obj = self.api.get_or_none(f"/api/v1/namespaces/{self.ns}/configmaps/{name}")
        if obj is None:
            if optional:
                return None
            raise NotReadyYet("CreateContainerConfigError", f'configmap "{name}" not found')
        out = {k: v.encode() for k, v in (obj.get("data") or {}).items()}
        out.update(_b64(obj.get("binaryData")))
        return out

    def token(self, audience: list[str] | None, seconds: int) -> str:
        sa = self.pod["spec"].get("serviceAccountName") or "default"
        body: dict[str, Any] = {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {
                "expirationSeconds": seconds,
                "boundObjectRef": {
                    "kind": "Pod",
                    "apiVersion": "v1",
                    "name": self.meta["name"],
                    "uid": self.meta["uid"],
                },
            },
        }
        if audience:
            body["spec"]["audiences"] = audience
        try:
            r = self.api.request("POST", f"/api/v1/namespaces/{self.ns}/serviceaccounts/{sa}/token", body)
        except ApiError as e:
            raise NotReadyYet("ContainerCreating", f"failed to fetch token: {e}") from None
        return r["status"]["token"]

    # ------------------------------------------------------------------ field and resource refs
    def field(self, path: str, pod_ip: str, host_ip: str) -> str:
        m = self.meta
        simple = {
            "metadata.name": m.get("name", ""),
            "metadata.namespace": self.ns,
            "metadata.uid": m.get("uid", ""),
            "spec.nodeName": self.pod["spec"].get("nodeName", ""),
            "spec.serviceAccountName": self.pod["spec"].get("serviceAccountName", "default"),
            "status.podIP": pod_ip,
            "status.podIPs": pod_ip,
            "status.hostIP": host_ip,
            "status.hostIPs": host_ip,
        }
        if path in simple:
            return simple[path]
        mm = re.fullmatch(r"metadata\.(labels|annotations)\['([^']+)'\]", path)
        if mm:
            return (m.get(mm.group(1)) or {}).get(mm.group(2), "")
        raise NotReadyYet("CreateContainerConfigError", f"unsupported fieldRef {path}")

    def resource(self, container: dict[str, Any], ref: dict[str, Any]) -> str:
        res = ref.get("resource", "")
        kind, _, what = res.partition(".")
        value = ((container.get("resources") or {}).get(kind) or {}).get(what)
        if value is None:  # no limit: the node's allocatable, like the kubelet
            value = self.allocatable.get(what, "0")
        n = _quantity(str(value)) / _quantity(str(ref.get("divisor") or "1"))
        return str(max(1, int(-(-n // 1)))) if what == "cpu" else str(int(n))

    # ------------------------------------------------------------------ volumes
    def volumes(self, container: dict[str, Any], pod_ip: str, host_ip: str) -> Prepared:
        spec = self.pod["spec"]
        vols = {v["name"]: v for v in spec.get("volumes") or []}
        vroot = self.root / "volumes"
        prep = Prepared()
        for vm in container.get("volumeMounts") or []:
            v = vols.get(vm["name"])
            if v is None:
                continue
            local = vroot / vm["name"]
            if not local.exists():
                self._materialise(v, local, container, pod_ip, host_ip)
            if vm.get("subPath"):
                local = local / vm["subPath"]
            prep.mounts.append((vm["mountPath"], local))
            if vm["mountPath"].rstrip("/") == SA_MOUNT:
                prep.token_file, prep.ca_file = local / "token", local / "ca.crt"
        prep.mounts.sort(key=lambda m: len(m[0]), reverse=True)
        return prep

    def _write(self, d: Path, files: dict[str, bytes], items: list[dict[str, Any]] | None) -> None:
        d.mkdir(parents=True, exist_ok=True)
        if items:
            files = {i["path"]: files[i["key"]] for i in items if i["key"] in files}
        for rel, data in files.items():
            p = d / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
            p.chmod(0o600)

    def _materialise(self, v: dict[str, Any], local: Path, c: dict[str, Any], pod_ip: str, host_ip: str) -> None:
        tmp = local.with_name(local.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        try:
            if "secret" in v:
                s = v["secret"]
                data = self.secret(s["secretName"], s.get("optional", False), volume=local.name)
                self._write(tmp, data or {}, s.get("items"))
            elif "configMap" in v:
                cm = v["configMap"]
                self._write(tmp, self.configmap(cm["name"], cm.get("optional", False)) or {}, cm.get("items"))
            elif "projected" in v:
                for src in v["projected"].get("sources") or []:
                    if "serviceAccountToken" in src:
                        t = src["serviceAccountToken"]
                        aud = [t["audience"]] if t.get("audience") else None
                        tok = self.token(aud, int(t.get("expirationSeconds") or 3607))
                        self._write(tmp, {t["path"]: tok.encode()}, None)
                    elif "configMap" in src:
                        cm = src["configMap"]
                        self._write(tmp, self.configmap(cm["name"], cm.get("optional", False)) or {}, cm.get("items"))
                    elif "secret" in src:
                        s = src["secret"]
                        self._write(tmp, self.secret(s["name"], s.get("optional", False)) or {}, s.get("items"))
                    elif "downwardAPI" in src:
                        self._downward(tmp, src["downwardAPI"], c, pod_ip, host_ip)
            elif "downwardAPI" in v:
                self._downward(tmp, v["downwardAPI"], c, pod_ip, host_ip)
            # emptyDir, hostPath and the rest: an empty folder of the pod's own
            tmp.rename(local)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    def _downward(self, d: Path, spec: dict[str, Any], c: dict[str, Any], pod_ip: str, host_ip: str) -> None:
        files = {}
        for item in spec.get("items") or []:
            if "fieldRef" in item:
                files[item["path"]] = self.field(item["fieldRef"]["fieldPath"], pod_ip, host_ip).encode()
            elif "resourceFieldRef" in item:
                files[item["path"]] = self.resource(c, item["resourceFieldRef"]).encode()
        self._write(d, files, None)

    # ------------------------------------------------------------------ environment
    def env(self, c: dict[str, Any], pod_ip: str, host_ip: str) -> dict[str, str]:
        env: dict[str, str] = {}
        for ef in c.get("envFrom") or []:
            prefix = ef.get("prefix", "")
            if "secretRef" in ef:
                data = self.secret(ef["secretRef"]["name"], ef["secretRef"].get("optional", False)) or {}
            else:
                data = self.configmap(ef["configMapRef"]["name"], ef["configMapRef"].get("optional", False)) or {}
            env.update({prefix + k: v.decode(errors="replace") for k, v in data.items()})
        for e in c.get("env") or []:
            name = e["name"]
            if "value" in e:
                env[name] = expand(e.get("value") or "", env)
                continue
            vf = e.get("valueFrom") or {}
            if "fieldRef" in vf:
                env[name] = self.field(vf["fieldRef"]["fieldPath"], pod_ip, host_ip)
            elif "resourceFieldRef" in vf:
                env[name] = self.resource(c, vf["resourceFieldRef"])
            elif "secretKeyRef" in vf:
                ref = vf["secretKeyRef"]
                data = self.secret(ref["name"], ref.get("optional", False))
                if data is not None and ref["key"] in data:
                    env[name] = data[ref["key"]].decode(errors="replace")
                elif data is not None and not ref.get("optional"):
                    raise NotReadyYet(
                        "CreateContainerConfigError",
                        f"couldn't find key {ref['key']} in Secret {self.ns}/{ref['name']}",
                    )
            elif "configMapKeyRef" in vf:
                ref = vf["configMapKeyRef"]
                data = self.configmap(ref["name"], ref.get("optional", False))
                if data is not None and ref["key"] in data:
                    env[name] = data[ref["key"]].decode(errors="replace")
                elif data is not None and not ref.get("optional"):
                    raise NotReadyYet(
                        "CreateContainerConfigError",
                        f"couldn't find key {ref['key']} in ConfigMap {self.ns}/{ref['name']}",
                    )
        return env


def expand(s: str, env: dict[str, str]) -> str:
    """Kubernetes ``$(VAR)`` expansion: ``$$`` escapes, unknown references stay as written."""

    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        return env.get(m.group(1), m.group(0))

    return re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)", sub, s)


_SUFFIX = {
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "m": 10**-3,
}


def _quantity(q: str) -> float:
    m = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", q.strip())
    if not m:
        return 0.0
    return float(m.group(1)) * _SUFFIX.get(m.group(2), 1)
