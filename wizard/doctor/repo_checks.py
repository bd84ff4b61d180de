"""Repository checks: the guide's pitfalls, found by reading files only (offline)."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from wizard.applied import applied_files
from wizard.doctor import Finding, check
from wizard.fluxapi import ADDED_IN, CURRENT, REMOVED_IN
from wizard.index import Doc, FluxKustomization, RepoIndex, is_sops_doc
from wizard.repo import CONTROL_PLANE_LABEL, Layout, norm

FLUX_GROUPS = (
    "source.toolkit.fluxcd.io",
    "kustomize.toolkit.fluxcd.io",
    "helm.toolkit.fluxcd.io",
    "notification.toolkit.fluxcd.io",
    "image.toolkit.fluxcd.io",
)
SOURCE_KINDS = ("HelmRepository", "OCIRepository", "GitRepository", "Bucket", "HelmChart", "ExternalArtifact")

MIGRATION_HINT = (
    "ingress-nginx is retired upstream (final release: chart 4.15.1 / controller 1.15.1, March "
    "2026): no more releases or security fixes. It keeps working for now; plan a move to a Gateway "
    "API implementation (kubernetes-sigs/ingress2gateway converts Ingress objects to Gateway API) "
    "or to another maintained Ingress controller from the Kubernetes documentation's list."
)


def _step_of_kustomization() -> dict[str, str]:
    from wizard import steps

    return {k: s.name for s in steps.ALL for k in s.owned_kustomizations()}


def is_sops_file(doc: Any) -> bool:
    return is_sops_doc(doc)


def _enc(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("ENC[")


# What doctor's checks read (the index parses only files that may hold one of these).
DOCTOR_KINDS = (
    *SOURCE_KINDS,
    "HelmRelease",
    "Kustomization",
    "CiliumClusterwideNetworkPolicy",
    "Ingress",
    "ClusterIssuer",
    "Issuer",
)


@dataclass
class FluxK:
    """A Flux Kustomization read from the Flux folder (the index's model), plus the files it applies."""

    model: FluxKustomization
    files: dict[str, str | None] = field(default_factory=dict)  # applied file -> kustomize namespace
    local: bool = True  # spec.path is a folder of this repository (its sourceRef is the root GitRepository)

    @property
    def doc(self) -> Doc:
        assert self.model.doc is not None
        return self.model.doc

    @property
    def path(self) -> str:
        return self.model.path

    @property
    def target_namespace(self) -> str | None:
        return self.model.target_namespace

    @property
    def decryption(self) -> bool:
        return self.model.decryption


@dataclass
class RepoContext:
    layout: Layout
    docs: list[Doc]
    flux_ks: list[FluxK]
    unreadable: list[str]

    @property
    def root(self) -> Path:
        return self.layout.root

    @property
    def index(self) -> RepoIndex:
        return self.layout.index

    @classmethod
    def build(cls, layout: Layout) -> RepoContext:
        idx = layout.index
        docs = idx.find(DOCTOR_KINDS, groups=FLUX_GROUPS, sops=True)
        flux_ks = []
        for k in idx.flux_kustomizations(layout.flux_dir):
            # a Kustomization from an OCIRepository or another GitRepository applies that source's
            # folders, not this repository's: `path: ./` there is not this repository's root
            local = k.applies_repository(layout.git_repository)
            flux_ks.append(FluxK(k, applied_files(idx, k.path) if local else {}, local))
        return cls(layout, docs, flux_ks, idx.unreadable())

    def of_kind(self, *kinds: str) -> Iterator[Doc]:
        return (d for d in self.docs if d.kind in kinds)

    def namespace_of(self, doc: Doc) -> str | None:
        """The namespace Flux applies ``doc`` in, when it can be told (None: unknown)."""
        for fk in self.flux_ks:
            if doc.path in fk.files:
                if fk.target_namespace:
                    return str(fk.target_namespace)
                if fk.files[doc.path]:
                    return fk.files[doc.path]
        ns = (doc.data.get("metadata") or {}).get("namespace")
        return str(ns) if ns else None


def _version(text: str | None) -> tuple[int, int] | None:
    m = re.match(r"v?(\d+)\.(\d+)", text or "")
    return (int(m.group(1)), int(m.group(2))) if m else None


def _fmt(v: tuple[int, int]) -> str:
    return f"{v[0]}.{v[1]}"


def _helm_chart(d: Doc) -> str:
    chart = ((d.spec.get("chart") or {}).get("spec") or {}).get("chart")
    if chart:
        return str(chart)
    ref = d.spec.get("chartRef") or {}
    return str(ref.get("name", "")) if isinstance(ref, dict) else ""


def _releases(ctx: RepoContext, chart: str) -> list[Doc]:
    return [
        d
        for d in ctx.of_kind("HelmRelease")
        if d.api.startswith("helm.toolkit.fluxcd.io/")
        and (_helm_chart(d) == chart or _helm_chart(d).endswith(f"/{chart}"))
    ]


def _values(d: Doc) -> dict[str, Any]:
    v = d.spec.get("values")
    return v if isinstance(v, dict) else {}


# -- sops --------------------------------------------------------------------------------------
@check("sops-glob-regex", scope="repo")
def sops_glob_regex(ctx: RepoContext) -> Iterable[Finding]:
    """A .sops.yaml path_regex written as a shell glob, which never matches nested manifests."""
    from wizard import sops
    from wizard.errors import UserError

    config = sops.find_config(ctx.root)
    if config is None:
        return
    try:
        config_rel = config.relative_to(ctx.root.absolute()).as_posix()
    except ValueError:
        config_rel = str(config)
    try:
        rules = sops.load_rules(config, config_rel)
    except UserError:
        return
    base = config.parent
    targets = []
    for d in ctx.docs:
        if is_sops_file(d.data):
            try:
                targets.append((ctx.root.absolute() / d.path).relative_to(base).as_posix())
            except ValueError:
                pass
    targets.append(f"{ctx.layout.components_dir}/external-dns/dns-token.yaml")
    targets = list(dict.fromkeys(targets))
    for rule in rules:
        pr = rule.path_regex
        if pr is None or not sops.looks_like_glob(pr):
            continue
        fixed = sops.glob_to_regex(pr)
        try:
            rx = re.compile(pr)
        except re.error as exc:
            yield Finding(
                "sops-glob-regex",
                "error",
                path=config_rel,
                seen=f"{rule.describe()} is a shell glob written as a regex and is not even a valid regular "
                f"expression ({exc}).",
                why="sops reads path_regex as a regular expression and fails on it for every file, so no secret "
                "can be encrypted with this config.",
                fix=f"Write it as a regex: `path_regex: {fixed}` (e.g. `manifests/.*\\.yaml$`).",
            )
            continue
        missed = [t for t in targets if sops.glob_matches(pr, t) and not rx.search(t)]
        if not missed:
            continue
        catcher = next(
            (r for r in rules if r.index > rule.index and (r.path_regex is None or _search(r.path_regex, missed[0]))),
            None,
        )
        later = (
            f" A later rule ({catcher.describe()}) catches those files instead, so they are encrypted for "
            "its recipients, not this rule's."
            if catcher
            else ' No other rule matches them, so sops stops with "no matching creation rules found".'
        )
        yield Finding(
            "sops-glob-regex",
            "warning" if catcher else "error",
            path=config_rel,
            seen=f"{rule.describe()}: '{pr}' is a shell glob written as a regex; as a regex it means "
            f"{sops.explain_glob_regex(pr)}, so it does not match nested paths such as {missed[0]}.",
            why="sops matches path_regex as a regular expression against the path relative to .sops.yaml's "
            "folder (the guide's `manifests/*.yaml` bug, fixed as `manifests/.*.yaml`)." + later,
            fix=f"Change the rule to `path_regex: {fixed}`, then re-encrypt files it should have covered "
            "(`sops updatekeys FILE`).",
        )


def _search(regex: str, text: str) -> bool:
    try:
        return re.search(regex, text) is not None
    except re.error:
        return False


@check("decryption-missing", scope="repo")
def decryption_missing(ctx: RepoContext) -> Iterable[Finding]:
    """A Flux Kustomization applying sops-encrypted files without a decryption block."""
    steps = _step_of_kustomization()
    encrypted = {d.path for d in ctx.docs if is_sops_file(d.data)}
    secret = ctx.layout.sops_secret or "sops-age"
    for fk in ctx.flux_ks:
        if fk.decryption:
            continue
        files = sorted(f for f in fk.files if f in encrypted)
        if not files:
            continue
        name = fk.doc.name
        root_hint = (
            " This is the root Kustomization written by flux bootstrap: move the encrypted file into a "
            "component folder whose Kustomization has decryption."
            if name == "flux-system"
            else ""
        )
        yield Finding(
            "decryption-missing",
            "error",
            path=fk.doc.path,
            seen=f"Flux Kustomization {name!r} (path ./{fk.path}) applies the sops-encrypted "
            f"{', '.join(files)} but has no spec.decryption.",
            why='Flux then applies the ENC[...] values as they are: the reconcile fails with "is SOPS encrypted, '
            'configuring decryption is required" (older Flux: "illegal base64 data at input byte 3"), '
            "and the Secret never reaches the cluster.",
            fix=f"Add `decryption: {{provider: sops, secretRef: {{name: {secret}}}}}` to the spec of Kustomization "
            f"{name!r} in {fk.doc.path}.{root_hint}",
            step=steps.get(name),
        )


@check("sops-encrypted-metadata", scope="repo")
def sops_encrypted_metadata(ctx: RepoContext) -> Iterable[Finding]:
    """A sops file whose apiVersion/kind/metadata are encrypted (no encrypted_regex)."""
    for d in ctx.docs:
        if not is_sops_file(d.data):
            continue
        meta = d.data.get("metadata")
        bad = [k for k in ("apiVersion", "kind") if _enc(d.data.get(k))]
        if isinstance(meta, dict):
            bad += [f"metadata.{k}" for k, v in meta.items() if _enc(v)]
        if not bad:
            continue
        yield Finding(
            "sops-encrypted-metadata",
            "error",
            path=d.path,
            seen=f"{d.path} is sops-encrypted with {', '.join(bad)} encrypted too (ENC[...]).",
            why="Flux and kustomize must read apiVersion, kind and metadata before decrypting; with them encrypted "
            "the file is not a valid object and the Kustomization fails to build.",
            fix=f"Decrypt it (`sops decrypt -i {d.path}`), add `encrypted_regex: ^(data|stringData)$` to the "
            f".sops.yaml rule for it, then encrypt again (`sops encrypt -i {d.path}`).",
        )


# -- Flux API versions and sources -------------------------------------------------------------------
def _api_refs(ctx: RepoContext) -> Iterator[tuple[Doc, str, str, str]]:
    """(doc, apiVersion, kind, where) for every Flux object and Kustomization healthCheck."""
    for d in ctx.docs:
        if d.api.split("/")[0] in FLUX_GROUPS:
            yield d, d.api, d.kind, f"{d.kind} {d.name!r}"
        if d.kind == "Kustomization" and d.api.startswith("kustomize.toolkit.fluxcd.io/"):
            for hc in d.spec.get("healthChecks") or []:
                if isinstance(hc, dict) and str(hc.get("apiVersion", "")).split("/")[0] in FLUX_GROUPS:
                    yield (
                        d,
                        str(hc["apiVersion"]),
                        str(hc.get("kind", "")),
                        f"the healthCheck on {hc.get('kind')} {hc.get('name')!r} of Kustomization {d.name!r}",
                    )


@check("flux-api-version", scope="repo")
def flux_api_version(ctx: RepoContext) -> Iterable[Finding]:
    """Flux API versions the repository's Flux (gotk-components.yaml) no longer or not yet serves."""
    flux = _version(ctx.layout.flux_version)
    flux_txt = f"Flux {ctx.layout.flux_version}" if flux else "this Flux (version unknown: no gotk-components.yaml)"
    for d, api, kind, where in _api_refs(ctx):
        group = api.split("/")[0]
        current = f"{group}/{CURRENT.get(group, 'v1')}"
        removed = REMOVED_IN.get(api)
        added = ADDED_IN.get((api, kind))
        if removed and (flux is None or flux >= removed):
            yield Finding(
                "flux-api-version",
                "error" if flux else "warning",
                path=d.path,
                seen=f"{where} in {d.path} uses {api}, which Flux {_fmt(removed)} removed; the repository runs "
                f"{flux_txt}.",
                why='The cluster no longer serves that API, so Flux cannot apply the object ("no matches for kind '
                f'{kind} in version {api}") and everything after it in the Kustomization stalls.',
                fix=f"Change apiVersion to {current} (check the renamed fields in the Flux changelog; `flux migrate` "
                "rewrites objects already stored in the cluster).",
            )
        elif removed:
            yield Finding(
                "flux-api-version",
                "warning",
                path=d.path,
                seen=f"{where} in {d.path} uses the deprecated {api}; {flux_txt} still serves it, Flux "
                f"{_fmt(removed)} removes it.",
                why="Upgrading Flux will break this object.",
                fix=f"Move it to {current} (HelmRelease v2 and HelmRepository v1 need Flux 2.3 or later; "
                "OCIRepository v1 needs 2.6).",
            )
        elif added and flux is not None and flux < added:
            yield Finding(
                "flux-api-version",
                "error",
                path=d.path,
                seen=f"{where} in {d.path} uses {api}, which only Flux {_fmt(added)} and later serve; the "
                f"repository runs {flux_txt}.",
                why="The cluster's Flux CRDs do not have that version yet (the guide's \"HelmRepository v1 is not "
                'included in Flux CRDs yet" rollback), so the apply fails.',
                fix=f"Upgrade Flux to {_fmt(added)} or later (flux install / bootstrap, which rewrites "
                "gotk-components.yaml), or use the older apiVersion this Flux serves.",
            )


@check("flux-too-old", scope="repo")
def flux_too_old(ctx: RepoContext) -> Iterable[Finding]:
    """The pinned Flux is older than the catalog's minimum: preflight refuses the steps (the same verdict)."""
    from wizard import catalog
    from wizard.fluxapi import upgrade_path

    minimum = str(catalog.catalog()["flux_min_version"])
    flux, least = _version(ctx.layout.flux_version), _version(minimum)
    if flux is None or least is None or flux >= least:
        return
    yield Finding(
        "flux-too-old",
        "warning",
        path=f"{ctx.layout.flux_dir}/gotk-components.yaml",
        seen=f"The repository pins Flux v{ctx.layout.flux_version} ({ctx.layout.flux_dir}/gotk-components.yaml), "
        f"older than v{minimum}.",
        why="That Flux does not serve HelmRelease helm.toolkit.fluxcd.io/v2 and HelmRepository "
        "source.toolkit.fluxcd.io/v1, which edge-wizard writes, so edge-wizard refuses its steps before writing "
        "anything (preflight: Flux version).",
        fix=upgrade_path(ctx.layout.flux_dir),
    )


@check("helm-source-mismatch", scope="repo")
def helm_source_mismatch(ctx: RepoContext) -> Iterable[Finding]:
    """A HelmRelease whose sourceRef/chartRef names no source declared in the repository."""
    sources = [
        (d.kind, d.name, ctx.namespace_of(d), d)
        for d in ctx.of_kind(*SOURCE_KINDS)
        if d.api.startswith("source.toolkit.fluxcd.io/")
    ]
    for hr in ctx.of_kind("HelmRelease"):
        if not hr.api.startswith("helm.toolkit.fluxcd.io/"):
            continue
        ref = ((hr.spec.get("chart") or {}).get("spec") or {}).get("sourceRef") or hr.spec.get("chartRef")
        if not isinstance(ref, dict) or not ref.get("name"):
            continue
        kind = str(ref.get("kind") or "HelmRepository")
        name = str(ref["name"])
        hr_ns = ctx.namespace_of(hr)
        ns = str(ref.get("namespace") or hr_ns or "") or None
        same = [s for s in sources if s[0] == kind and s[1] == name]
        if any(ns is None or s[2] is None or s[2] == ns for s in same):
            continue
        if same:
            found = ", ".join(f"{s[2]} ({s[3].path})" for s in same)
            seen_extra = f"; a {kind} {name!r} exists only in namespace {found}"
            fix = (
                f"Set sourceRef.namespace: {same[0][2]} in HelmRelease {hr.name!r}, or move the {kind} into "
                f"namespace {ns}."
            )
        else:
            names = sorted({s[1] for s in sources if s[0] == kind})
            close = difflib.get_close_matches(name, names, n=1, cutoff=0.5)
            seen_extra = (
                f"; the repository declares {kind}s {', '.join(repr(n) for n in names)}"
                if names
                else f"; the repository declares no {kind} at all"
            )
            fix = (
                f"Rename the sourceRef to {close[0]!r} (or the {kind} to {name!r}) so both match."
                if close
                else f"Declare a {kind} named {name!r} in namespace {ns or hr_ns or 'of the HelmRelease'} (next to the "
                "HelmRelease) or fix the sourceRef name."
            )
        yield Finding(
            "helm-source-mismatch",
            "error",
            path=hr.path,
            seen=f"HelmRelease {hr.name!r} in {hr.path} refers to {kind} {name!r}"
            f"{f' in namespace {ns}' if ns else ''}{seen_extra}.",
            why='helm-controller cannot find the chart source: the HelmRelease stays not Ready with "'
            f"{kind} '{ns or hr_ns}/{name}' not found\" (the guide's jetstack / ingress-inginx mistakes).",
            fix=fix,
        )


# -- wiring of component folders ----------------------------------------------------------------------
@check("component-not-listed", scope="repo")
def component_not_listed(ctx: RepoContext) -> Iterable[Finding]:
    """A Flux file (Kustomization for a component folder) not listed in the Flux folder's kustomization.yaml."""
    lay = ctx.layout
    loaded = ctx.index.load(lay.flux_kustomization_file)
    if ctx.index.text(lay.flux_kustomization_file) is None or ctx.index.error(lay.flux_kustomization_file):
        return
    k = loaded[0] if loaded and isinstance(loaded[0], dict) else {}
    listed = {norm(str(r)) for r in k.get("resources") or []}
    for rel in sorted(listed):
        if "://" not in rel and not (lay.root / lay.flux_dir / rel).exists():
            yield Finding(
                "component-not-listed",
                "error",
                path=lay.flux_kustomization_file,
                seen=f"{lay.flux_kustomization_file} lists {rel}, which does not exist.",
                why="kustomize build fails on a missing resource, so the root Kustomization (flux-system) stops "
                "applying everything, including Flux's own updates.",
                fix=f"Remove {rel} from resources in {lay.flux_kustomization_file}, or restore the file.",
            )
    by_file: dict[str, list[FluxK]] = {}
    for fk in ctx.flux_ks:
        by_file.setdefault(fk.doc.path, []).append(fk)
    for path, fks in sorted(by_file.items()):
        name = PurePosixPath(path).name
        if name in ("gotk-sync.yaml", "gotk-components.yaml") or norm(name) in listed:
            continue
        names = ", ".join(repr(fk.doc.name) for fk in fks)
        folders = ", ".join(f"./{fk.path}" for fk in fks)
        steps = _step_of_kustomization()
        yield Finding(
            "component-not-listed",
            "error",
            path=path,
            seen=f"{path} declares the Flux Kustomization(s) {names} (for {folders}) but "
            f"{lay.flux_kustomization_file} does not list {name}.",
            why="Flux only applies the files the Flux folder's kustomization.yaml lists, so these components are "
            'never deployed and no error says so (the guide\'s "Forgot to add to cluster kustomization").',
            fix=f"Add `- {name}` under resources in {lay.flux_kustomization_file}.",
            step=next((steps[fk.doc.name] for fk in fks if fk.doc.name in steps), None),
        )
    for fk in ctx.flux_ks:
        if fk.local and fk.path and not (lay.root / fk.path).is_dir():
            yield Finding(
                "component-not-listed",
                "error",
                path=fk.doc.path,
                seen=f"Flux Kustomization {fk.doc.name!r} in {fk.doc.path} has path ./{fk.path}, which is not a "
                "folder in the repository.",
                why='Flux fails it with "kustomization path not found" and applies nothing of it.',
                fix="Fix spec.path (it is relative to the repository root), or create the folder.",
            )


# -- component configuration ---------------------------------------------------------------------------
@check("external-dns-hetzner-in-tree", scope="repo")
def external_dns_hetzner(ctx: RepoContext) -> Iterable[Finding]:
    """external-dns configured with the in-tree hetzner provider, removed in external-dns 0.11."""
    for d in _releases(ctx, "external-dns"):
        v = _values(d)
        prov = v.get("provider")
        name = prov.get("name") if isinstance(prov, dict) else prov
        args = [str(a) for a in v.get("extraArgs") or []] if isinstance(v.get("extraArgs"), list) else []
        if name != "hetzner" and "--provider=hetzner" not in args:
            continue
        yield Finding(
            "external-dns-hetzner-in-tree",
            "error",
            path=d.path,
            seen=f'HelmRelease {d.name!r} in {d.path} sets the external-dns provider to "hetzner".',
            why="The in-tree Hetzner provider existed only in external-dns 0.10.x and was removed in 0.11.0; "
            "current charts fail or run without a provider. Hetzner DNS also moved to the Hetzner Cloud API "
            "(the old dns.hetzner.com API was shut down in May 2026).",
            fix="Use the webhook provider (provider.name: webhook with the "
            "ghcr.io/mconfalonieri/external-dns-hetzner-webhook sidecar and a Hetzner Cloud API token); "
            "edge-wizard writes that configuration.",
            step="external-dns",
        )


@check("cert-manager-installcrds", scope="repo")
def cert_manager_installcrds(ctx: RepoContext) -> Iterable[Finding]:
    """installCRDs on a cert-manager chart >= 1.15 (deprecated; crds.enabled replaces it)."""
    for d in _releases(ctx, "cert-manager"):
        if "installCRDs" not in _values(d):
            continue
        version = str(((d.spec.get("chart") or {}).get("spec") or {}).get("version") or "")
        found = [_version(m) for m in re.findall(r"\d+\.\d+", version)]
        if found and max(v for v in found if v) < (1, 15):
            continue
        crds = _values(d).get("crds")
        both = isinstance(crds, dict) and "enabled" in crds
        yield Finding(
            "cert-manager-installcrds",
            "error" if both else "warning",
            path=d.path,
            seen=f"HelmRelease {d.name!r} in {d.path} sets installCRDs"
            + (" and crds.enabled" if both else "")
            + f" on cert-manager chart {version or '(any version)'}.",
            why=(
                "with both keys set the chart's cert-manager.crd-check helper fails the install (\"installCRDs and "
                'crds.enabled are mutually exclusive"), so the HelmRelease never becomes Ready.'
                if both
                else "installCRDs is deprecated since cert-manager 1.15 in favour of crds.enabled / crds.keep, and "
                "the 1.21 chart validates its values strictly; the old key is on its way out."
            ),
            fix="Run `edge-wizard run cert-manager`: it replaces installCRDs with `crds: {enabled: true, keep: true}` "
            "(the old key removed), or make that edit in the HelmRelease values yourself.",
            step="cert-manager",
        )


# -- host firewall -------------------------------------------------------------------------------------
def _host_policies(ctx: RepoContext) -> list[Doc]:
    return [d for d in ctx.of_kind("CiliumClusterwideNetworkPolicy") if "nodeSelector" in d.spec]


def _opens(policy: Doc, entity: str, port: str) -> bool:
    from wizard.steps.firewall import covered

    rules = policy.spec.get("ingress") or []
    return covered(rules if isinstance(rules, list) else [], entity, port)


def _serves_host_ports(ctx: RepoContext) -> Doc | None:
    for name in ("ingress-nginx", "traefik"):  # wizard.controllers
        for d in _releases(ctx, name):
            return d
    for d in ctx.of_kind("HelmRelease"):
        if _values(d).get("hostNetwork") is True:  # Traefik's and most charts' top-level switch
            return d
        c = _values(d).get("controller")
        if isinstance(c, dict) and (
            c.get("hostNetwork") is True or (isinstance(c.get("hostPort"), dict) and c["hostPort"].get("enabled"))
        ):
            return d
    return None


@check("firewall-no-http-rule", scope="repo")
def firewall_no_http_rule(ctx: RepoContext) -> Iterable[Finding]:
    """An ingress controller on the host's ports 80/443, but the host firewall policy does not open them."""
    rel = ctx.layout.firewall_policy
    ingress = _serves_host_ports(ctx)
    if not rel or ingress is None:
        return
    policy = next((d for d in _host_policies(ctx) if d.path == rel), None)
    if policy is None:
        return
    missing = [p for p in ("80", "443") if not _opens(policy, "world", p)]
    if not missing:
        return
    yield Finding(
        "firewall-no-http-rule",
        "error",
        path=rel,
        seen=f"The host firewall policy {policy.name!r} in {rel} opens no rule for {'/'.join(missing)}/TCP from "
        f"world, while HelmRelease {ingress.name!r} ({ingress.path}) listens on the node's own ports.",
        why="Cilium drops the traffic: http://<node> times out (the guide's firewall timeout), and Let's "
        "Encrypt's HTTP-01 challenges fail, so no certificate is issued.",
        fix=f'Append a rule `fromEntities: [world, cluster]` with ports "80" and "443" (TCP) to the existing '
        f"policy in {rel}; never a second policy.",
        step="firewall",
    )


@check("firewall-second-policy", scope="repo")
def firewall_second_policy(ctx: RepoContext) -> Iterable[Finding]:
    """A second host policy opening 80/443 next to the main one (lock-out risk)."""
    policies = _host_policies(ctx)
    if len(policies) < 2:
        return
    main = ctx.layout.firewall_policy
    for p in policies:
        if p.path == main or (main is None and any(_opens(p, e, "6443") for e in ("world", "cluster"))):
            continue  # the main policy (when discovery could not tell: the one that keeps the API open)
        opens = [port for port in ("80", "443") if _opens(p, "world", port)]
        if not opens:
            continue
        sel = (p.spec.get("nodeSelector") or {}).get("matchLabels") or {}
        cp = " (control-plane nodes)" if CONTROL_PLANE_LABEL in sel or not sel else ""
        others = ", ".join(sorted({f"{q.name!r} ({q.path})" for q in policies if q is not p}))
        yield Finding(
            "firewall-second-policy",
            "error",
            path=p.path,
            seen=f"The host policy {p.name!r} in {p.path}{cp} opens {'/'.join(opens)} on its own, next to the "
            f"host policy {others}.",
            why="Cilium locks a host down as soon as any policy selects it. If this policy is applied before (or "
            "without) the main one, the node allows only 80/443 and the Kubernetes (6443) and Talos (50000) "
            "APIs are cut off: a lock-out that needs console access to undo.",
            fix=f"Move its 80/443 rule into the main host policy and delete {p.path} (and its kustomization.yaml "
            "entry) in the same commit.",
            step="firewall",
        )


@check("ingress-nginx-retired", scope="repo")
def ingress_nginx_retired(ctx: RepoContext) -> Iterable[Finding]:
    """ingress-nginx in use: retired upstream."""
    for d in _releases(ctx, "ingress-nginx"):
        yield Finding(
            "ingress-nginx-retired",
            "warning",
            path=d.path,
            seen=f"HelmRelease {d.name!r} in {d.path} installs ingress-nginx "
            f"({((d.spec.get('chart') or {}).get('spec') or {}).get('version') or 'any version'}).",
            why=MIGRATION_HINT,
            fix="Nothing to do today; plan the migration: pick a Gateway API implementation, convert the Ingresses "
            "with ingress2gateway, and move the cert-manager HTTP-01 solver to gatewayHTTPRoute.",
        )
