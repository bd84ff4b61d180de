"""Preflight: what the flow checks before it asks anything (UI-free).

The repository (layout, the Flux version it pins against the API versions edge-wizard writes, the
sops rule, the sops/age binaries, the git target, the host firewall policy) and then the cluster
(kubeconfig and context, reachability, the Flux APIs it serves). Each finding is a
:class:`wizard.events.Check`; a ``blocking`` one stops the flow before anything is written.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from wizard.errors import UserError, WizardError
from wizard.events import Check

if TYPE_CHECKING:
    from wizard.engine import Engine
    from wizard.kube import Cluster, KubeConnector
    from wizard.repo import Layout

OK, WARN, FAIL = "ok", "warn", "fail"

# Flux API groups/versions the written manifests use (the catalog pins them; see catalog.yaml).
REQUIRED_APIS = (
    ("source.toolkit.fluxcd.io", "v1"),
    ("kustomize.toolkit.fluxcd.io", "v1"),
    ("helm.toolkit.fluxcd.io", "v2"),
)


def first_sentence(text: str) -> str:
    text = " ".join(str(text).split())
    cut = text.find(". ")
    return text if cut < 0 else text[: cut + 1]


@dataclass
class Report:
    """What the preflight found; ``cluster`` is None when there is no kubeconfig (pushed, not followed)."""

    checks: list[Check] = field(default_factory=list)
    layout: Layout | None = None
    cluster: Cluster | None = None
    cluster_reachable: bool = False

    @property
    def blocking(self) -> list[Check]:
        return [c for c in self.checks if c.status == FAIL and c.blocking]

    def raise_if_blocked(self) -> None:
        blocked = self.blocking
        if blocked:
            c = blocked[0]
            raise UserError(c.detail + (f" {c.fix}" if c.fix else ""))


def _version(text: str | None) -> tuple[int, ...] | None:
    m = re.match(r"v?(\d+)\.(\d+)(?:\.(\d+))?", text or "")
    return tuple(int(g) for g in m.groups() if g is not None) if m else None


# -- the repository -------------------------------------------------------------------------------------
def repo_checks(engine: Engine, *, commit: bool = True) -> tuple[list[Check], Layout | None]:
    """Layout, Flux version, sops rule and binaries, git target, firewall policy (no network)."""
    out: list[Check] = []
    try:
        engine.prefill()  # the answers file, read alone first: its problems are not the layout's
    except WizardError as exc:
        fix = exc.hint or "Fix the file given to --answers, or leave --answers out to be asked."
        return [Check("Answers file", FAIL, exc.message, fix, blocking=True)], None
    try:
        layout, _answers = engine.load()
    except WizardError as exc:
        fix = exc.hint or "Run edge-wizard in your Flux repository's clone, or pass --repo PATH."
        out.append(Check("Repository layout", FAIL, exc.message, fix, blocking=True))
        return out, None
    flux = f"Flux folder {layout.flux_dir}, components in {layout.components_dir}"
    if layout.flux_version:
        flux += f", Flux v{layout.flux_version}"
    out.append(Check("Repository layout", OK, flux))
    out.append(flux_version_check(layout))
    out.append(_sops_rule(layout, engine))
    keys = _sops_keys(layout, engine)
    if keys is not None:
        out.append(keys)
    out.append(_sops_binary())
    age = shutil.which("age-keygen") or shutil.which("age")
    out.append(
        Check("age", OK, "age tools found")
        if age
        else Check(
            "age",
            WARN,
            "age / age-keygen not on PATH (only needed to make or inspect keys)",
            "Install age from your package manager (apt install age).",
        )
    )
    out.append(_git(layout, commit=commit))
    if layout.firewall_missing:
        out.append(
            Check(
                "Host firewall policy",
                OK,
                "none (no Cilium host policy selects the control-plane nodes): the firewall step does not apply",
            )
        )
    elif layout.firewall_problem:
        out.append(
            Check(
                "Host firewall policy",
                WARN,
                first_sentence(layout.firewall_problem),
                "Set paths.firewall_policy in the answers file, or leave the firewall step out (run --skip firewall).",
            )
        )
    else:
        out.append(Check("Host firewall policy", OK, f"{layout.firewall_policy}"))
    return out, layout


def flux_version_check(layout: Layout) -> Check:
    """The Flux the repository pins (gotk-components.yaml) against the catalog's minimum."""
    from wizard import catalog

    minimum = catalog.catalog()["flux_min_version"]
    pinned = _version(layout.flux_version)
    if pinned is None:
        return Check(
            "Flux version",
            WARN,
            "the repository pins no Flux version (no '# Flux Version:' line in gotk-components.yaml); the cluster's "
            "served APIs are checked instead",
        )
    if pinned < (_version(minimum) or (2, 3, 0)):
        return Check(
            "Flux version",
            FAIL,
            f"The repository pins Flux v{layout.flux_version} ({layout.flux_dir}/gotk-components.yaml), older than "
            f"v{minimum}: its CRDs do not serve HelmRelease helm.toolkit.fluxcd.io/v2 and HelmRepository "
            "source.toolkit.fluxcd.io/v1, which edge-wizard writes, so Flux could not apply them.",
            f"Upgrade Flux first: `flux install --export > {layout.flux_dir}/gotk-components.yaml` with a current flux "
            "CLI (or `flux bootstrap` again), commit and push it, let Flux apply it, run `flux migrate`, then run "
            "edge-wizard again.",
            blocking=True,
        )
    return Check("Flux version", OK, f"Flux v{layout.flux_version} serves the APIs edge-wizard writes (v{minimum}+)")


def _sops_rule(layout: Layout, engine: Engine) -> Check:
    from wizard import sops

    rel = _secret_path(layout, engine)
    try:
        resolved = sops.resolve(layout.root, rel)
    except WizardError as exc:
        return Check(
            ".sops.yaml rule",
            FAIL,
            first_sentence(exc.message),
            "The prerequisites step creates or repairs it; or add a creation rule for manifests/ with your age "
            "recipient to .sops.yaml.",
        )
    return Check(".sops.yaml rule", OK, f"{resolved.rule.describe()} covers {rel}")


def _secret_path(layout: Layout, engine: Engine) -> str:
    """The token's file as the repository's rules name it (``<name>.sops.yaml`` where they encrypt only
    such names; wizard.sops.naming)."""
    from wizard.plan import read_managed
    from wizard.providers import spec
    from wizard.sops.naming import name_new_file, rules_of

    provider = (engine.answers.dns_provider if engine.answers else None) or spec.default_name()
    try:
        name = spec.get(provider).secret.name
    except WizardError:
        name = "dns-token"
    folder = f"{layout.components_dir}/external-dns"
    try:
        rules = rules_of(read_managed(layout.root, ".sops.yaml"))
    except WizardError:
        rules = None  # the rule check says why
    return name_new_file(rules, folder, name).path


def _sops_keys(layout: Layout, engine: Engine) -> Check | None:
    """The rule's keys on this machine: PGP public keys in the keyring (else sops cannot encrypt), and
    whether a local secret key (PGP or age) can decrypt the repository's files."""
    from wizard import sops
    from wizard.sops.keys import age_report, pgp_report

    try:
        rule = sops.resolve(layout.root, _secret_path(layout, engine)).rule
    except WizardError:
        return None  # the .sops.yaml rule check says why
    reports = []
    if rule.pgp:
        reports.append(pgp_report(layout.root, rule.pgp))
    if rule.age:
        reports.append(age_report(rule.age, root=layout.root))
    if not reports:
        return None
    kinds = " and ".join(r.kind for r in reports)
    for r in reports:
        if r.problem:
            return Check("sops keys", FAIL, r.problem[:1].upper() + r.problem[1:] + ".", r.fix)
    if any(r.can_decrypt for r in reports):
        return Check(
            "sops keys", OK, f"the rule's {kinds} keys are here; this machine can decrypt the repository's files"
        )
    notes = "; ".join(n for r in reports for n in r.notes)
    return Check(
        "sops keys",
        WARN,
        f"{notes[:1].upper()}{notes[1:]}.",
        "Only the cluster needs the private key; to decrypt here too, point SOPS_AGE_KEY_FILE at it (age) or "
        "import the secret key into gpg (PGP).",
    )


def _sops_binary() -> Check:
    from wizard import sops

    try:
        path = sops.find_sops()
        version = sops.SopsSecretWriter(path).version()
    except WizardError as exc:
        return Check(
            "sops",
            FAIL,
            first_sentence(exc.message),
            "Install sops >= 3.10 from https://github.com/getsops/sops/releases (only the external-dns step needs it).",
        )
    return Check("sops", OK, "sops " + ".".join(map(str, version)))


def _git(layout: Layout, *, commit: bool) -> Check:
    from wizard.gitops import GitOps

    try:
        target = GitOps(layout.root, flux_branch=layout.git_branch, flux_url=layout.git_url).target()
    except WizardError as exc:
        return Check(
            "Git remote and branch",
            FAIL,
            exc.message,
            "Clone your Flux repository with `git clone URL` and run edge-wizard there (or pass --no-commit).",
            blocking=commit,
        )
    detail = f"pushes to {target.remote} ({target.remote_url or 'no URL'}), Flux tracks {target.branch}"
    if target.warnings:
        return Check("Git remote and branch", WARN, detail, first_sentence(target.warnings[0]))
    return Check("Git remote and branch", OK, detail)


# -- the cluster ------------------------------------------------------------------------------------
def served(discovery: dict[str, Any]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for g in discovery.get("groups") or []:
        out[str(g.get("name", ""))] = [str(v.get("version")) for v in g.get("versions") or []]
    return out


def flux_api_problem(discovery: dict[str, Any], where: str) -> str | None:
    """None when the cluster serves the Flux GA APIs edge-wizard writes; else the sentence why not."""
    have = served(discovery)
    missing = [(g, v) for g, v in REQUIRED_APIS if v not in have.get(g, [])]
    if not missing:
        return None
    if not any(g in have for g, _ in REQUIRED_APIS):
        return (
            f"Flux is not installed in the cluster at {where}: none of its APIs "
            f"({', '.join(g for g, _ in REQUIRED_APIS)}) are served. Bootstrap Flux first (flux bootstrap ...), "
            "then run again."
        )
    found = "; ".join(f"{g} serves {', '.join(have.get(g) or ['nothing'])}" for g, _ in missing)
    return (
        f"The cluster's Flux is too old for the manifests edge-wizard writes: they use "
        f"{', '.join(f'{g}/{v}' for g, v in missing)}, but {found}. These GA APIs came with Flux 2.3 (and the beta "
        "ones were removed in 2.7/2.8). Upgrade Flux first (flux install --export > gotk-components.yaml with a "
        "current flux CLI and push it, or flux bootstrap again), run `flux migrate`, then run edge-wizard again."
    )


async def cluster_checks(kube: KubeConnector, *, watch: bool = True) -> tuple[list[Check], Cluster | None, bool]:
    """The kubeconfig and context, then ``GET /apis``. Problems block only when the run would use the
    cluster (``watch``); a cluster that serves too old a Flux always blocks."""
    try:
        cluster = kube.resolve()
    except UserError as exc:
        return [Check("Cluster context", FAIL, exc.message, "Or run with --no-watch.", blocking=watch)], None, False
    if cluster is None:
        return (
            [
                Check(
                    "Cluster context",
                    WARN,
                    "no kubeconfig found ($KUBECONFIG, ~/.kube/config): the change will be pushed but not followed",
                    "Point KUBECONFIG at your cluster's kubeconfig (talosctl kubeconfig) to follow Flux live.",
                )
            ],
            None,
            False,
        )
    checks = [Check("Cluster context", OK, f"context {cluster.context} ({cluster.server})")]
    try:
        discovery = await kube.discovery()
    except UserError as exc:
        checks.append(
            Check(
                "Cluster",
                FAIL if watch else WARN,
                exc.message,
                "Fix the kubeconfig or context, or run with --no-watch to push without following Flux.",
                blocking=watch,
            )
        )
        return checks, cluster, False
    problem = flux_api_problem(discovery, cluster.server)
    if problem:
        checks.append(Check("Flux APIs", FAIL, problem, blocking=True))
    else:
        checks.append(Check("Flux APIs", OK, "served: " + ", ".join(f"{g}/{v}" for g, v in REQUIRED_APIS)))
    return checks, cluster, True
