"""edge-wizard doctor, repository checks: each pitfall planted into a clean wizard-written stage
is reported (exactly it, with its fix), and the clean guide repo / clean stage report nothing
but the intended ingress-nginx retirement warning. Also: the CLI handler (`doctor --json`, text).
Without a stage (the clean guide repository, cluster checks skipped): tests/unit/test_doctor.py."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from wizard import doctor
from wizard.doctor import Finding

from support.agekeys import make_age_key
from support.doctor import findings, only
from support.repos import ANSWERS, make_guide_repo
from support.tools import require_tool

FLUX = "manifests/cluster/flux-system"
INFRA = "manifests/infrastructure"


def problems(root: Path) -> list[Finding]:
    """Errors and warnings, without the intended ingress-nginx retirement warning."""
    return [f for f in findings(root) if f.severity != "info" and f.id != "ingress-nginx-retired"]


def edit(root: Path, rel: str, old: str, new: str) -> None:
    p = root / rel
    text = p.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {rel}"
    p.write_text(text.replace(old, new, 1), encoding="utf-8")


# -- fixtures: one clean, wizard-written full stage per style, copied per test ------------------------
@pytest.fixture(scope="module", params=["2023", "2024"])
def _stage(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    sops = require_tool("sops")
    require_tool("age-keygen")
    base = tmp_path_factory.mktemp(f"stage-{request.param}")
    key = make_age_key(base / "keys")
    root = make_guide_repo(base / "repo", style=request.param, age_recipient=key.recipient)
    answers = base / "answers.yaml"
    # the ingress-nginx stage: these checks were written against it (test_doctor_ingress.py: Traefik)
    answers.write_text(ANSWERS + "ingress_controller: ingress-nginx\n", encoding="utf-8")
    from wizard.frontends.cli import main

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOME", str(base))
        mp.setenv("SOPS", sops)  # module scope: the autouse PATH setup has not run yet
        mp.setenv("EDGE_TEST_TOKEN", "doctorTestToken123")
        mp.delenv("SOPS_AGE_KEY_FILE", raising=False)
        out = io.StringIO()
        with redirect_stdout(out):
            rc = main(
                [
                    "run",
                    "--repo",
                    str(root),
                    "--answers",
                    str(answers),
                    "--no-commit",
                    "--no-push",
                    "--no-watch",
                    "--yes",
                    "--token-env",
                    "EDGE_TEST_TOKEN",
                    "--skip-token-check",
                    "--accept-foreign-recipients",  # the cluster holds the key, this machine does not
                ]
            )
    assert rc == 0, out.getvalue()
    assert (root / f"{INFRA}/external-dns/hetzner-token.yaml").is_file()
    return root


@pytest.fixture
def stage(_stage: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "stage"
    shutil.copytree(_stage, dst)
    return dst


def test_clean_stage_reports_only_the_ingress_nginx_retirement(stage: Path) -> None:
    fs = findings(stage)
    f = only(fs, "ingress-nginx-retired")
    assert f.severity == "warning"
    assert f.path == f"{INFRA}/ingress-nginx/ingress-nginx.yaml"
    assert "Gateway API" in f.why and "ingress2gateway" in f.why
    assert doctor.exit_code(fs) == 0


# -- sops --------------------------------------------------------------------------------------------
def test_sops_glob_rule_is_reported(stage: Path) -> None:
    edit(stage, ".sops.yaml", r"path_regex: manifests/.*\.yaml", "path_regex: manifests/*.yaml")
    f = only(problems(stage), "sops-glob-regex")
    assert f.severity == "error" and f.path == ".sops.yaml"
    assert "manifests/*.yaml" in f.seen and f"{INFRA}/external-dns/hetzner-token.yaml" in f.seen
    assert r"manifests/.*\.yaml$" in f.fix


def test_sops_glob_rule_with_a_later_catch_all_is_a_warning(stage: Path) -> None:
    edit(stage, ".sops.yaml", r"path_regex: manifests/.*\.yaml", "path_regex: manifests/*.yaml")
    text = (stage / ".sops.yaml").read_text(encoding="utf-8")
    rule = text.split("creation_rules:\n", 1)[1]
    (stage / ".sops.yaml").write_text(
        text + rule.replace("path_regex: manifests/*.yaml", r"path_regex: .*\.yaml"), encoding="utf-8"
    )
    f = only(problems(stage), "sops-glob-regex")
    assert f.severity == "warning" and "creation rule #2" in f.why


def test_sops_glob_that_is_no_regex_at_all(stage: Path) -> None:
    edit(stage, ".sops.yaml", r"path_regex: manifests/.*\.yaml", "path_regex: '*.yaml'")
    f = only(problems(stage), "sops-glob-regex")
    assert f.severity == "error" and "not even a valid regular expression" in f.seen


def test_decryption_block_missing(stage: Path) -> None:
    rel = f"{FLUX}/external-dns.yaml"
    text = (stage / rel).read_text(encoding="utf-8")
    (stage / rel).write_text(text.split("  decryption:\n", 1)[0], encoding="utf-8")
    f = only(problems(stage), "decryption-missing")
    assert f.severity == "error" and f.path == rel and f.step == "external-dns"
    assert f"{INFRA}/external-dns/hetzner-token.yaml" in f.seen
    assert "configuring decryption is required" in f.why and "illegal base64 data" in f.why
    assert "provider: sops" in f.fix


def test_encrypted_file_in_the_root_kustomization(stage: Path) -> None:
    shutil.copy(stage / f"{INFRA}/external-dns/hetzner-token.yaml", stage / f"{FLUX}/token.yaml")
    edit(
        stage,
        f"{FLUX}/kustomization.yaml",
        "gotk-sync.yaml\n",
        "gotk-sync.yaml\n- token.yaml\n"
        if "\n- gotk-sync" in (stage / f"{FLUX}/kustomization.yaml").read_text()
        else "gotk-sync.yaml\n  - token.yaml\n",
    )
    f = only(problems(stage), "decryption-missing")
    assert "'flux-system'" in f.seen and "root Kustomization" in f.fix and f.step is None


def test_sops_file_with_encrypted_metadata(stage: Path) -> None:
    key = make_age_key(stage.parent / "k2")
    plain = (
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: other\n  namespace: external-dns\nstringData:\n  token: abc\n"
    )
    enc = subprocess.run(
        [
            require_tool("sops"),
            "encrypt",
            "--age",
            key.recipient,
            "--input-type",
            "yaml",
            "--output-type",
            "yaml",
            "--filename-override",
            "x.yaml",
        ],
        input=plain,
        capture_output=True,
        text=True,
        cwd=stage.parent,
    )
    assert enc.returncode == 0, enc.stderr
    assert "kind: ENC[" in enc.stdout
    (stage / f"{INFRA}/external-dns/other.yaml").write_text(enc.stdout, encoding="utf-8")
    f = only(problems(stage), "sops-encrypted-metadata")
    assert f.path == f"{INFRA}/external-dns/other.yaml" and f.severity == "error"
    assert "kind" in f.seen and "metadata.name" in f.seen and "encrypted_regex" in f.fix


# -- Flux API versions and Helm sources ---------------------------------------------------------------
def test_removed_flux_api_version(stage: Path) -> None:
    rel = f"{INFRA}/ingress-nginx/ingress-nginx.yaml"
    edit(stage, rel, "apiVersion: helm.toolkit.fluxcd.io/v2\n", "apiVersion: helm.toolkit.fluxcd.io/v2beta1\n")
    f = only(problems(stage), "flux-api-version")
    assert f.severity == "error" and f.path == rel
    assert "helm.toolkit.fluxcd.io/v2beta1" in f.seen and "2.7" in f.seen and "2.9.4" in f.seen
    assert "helm.toolkit.fluxcd.io/v2" in f.fix


def test_api_version_newer_than_the_repos_flux(stage: Path) -> None:
    edit(stage, f"{FLUX}/gotk-components.yaml", "Flux Version: v2.9.4", "Flux Version: v2.2.0")
    fs = problems(stage)
    assert {f.id for f in fs} == {"flux-api-version", "flux-too-old"}
    # the same verdict as preflight's: the steps are refused on this Flux, with the upgrade path
    too_old = only([f for f in fs if f.id == "flux-too-old"], "flux-too-old")
    assert "v2.2.0" in too_old.seen and "flux install --export" in too_old.fix
    fs = [f for f in fs if f.id == "flux-api-version"]
    assert all(f.severity == "error" and "only Flux 2.3" in f.seen for f in fs)
    # every HelmRelease/HelmRepository (v2/v1) the stage wrote, and the healthChecks naming helm v2
    assert any("HelmRepository 'jetstack'" in f.seen for f in fs)
    assert any("healthCheck on HelmRelease 'cert-manager'" in f.seen for f in fs)


def test_deprecated_api_still_served_is_a_warning(stage: Path) -> None:
    edit(stage, f"{FLUX}/gotk-components.yaml", "Flux Version: v2.9.4", "Flux Version: v2.6.1")
    rel = f"{INFRA}/smoke-test/podinfo.yaml"
    edit(stage, rel, "apiVersion: helm.toolkit.fluxcd.io/v2\n", "apiVersion: helm.toolkit.fluxcd.io/v2beta2\n")
    f = only(problems(stage), "flux-api-version")
    assert f.severity == "warning" and f.path == rel and "2.8" in f.seen


def test_helm_source_name_mismatch(stage: Path) -> None:
    rel = f"{INFRA}/cert-manager/cert-manager.yaml"
    edit(stage, rel, "  name: jetstack\n", "  name: jetstak\n")  # the HelmRepository's name
    f = only(problems(stage), "helm-source-mismatch")
    assert f.path == rel and "HelmRepository 'jetstack'" in f.seen and "'jetstak'" in f.seen
    assert "'jetstak'" in f.fix


def test_helm_source_in_another_namespace(stage: Path) -> None:
    rel = f"{INFRA}/smoke-test/podinfo.yaml"
    edit(stage, rel, "        namespace: podinfo\n", "        namespace: flux-system\n")
    f = only(problems(stage), "helm-source-mismatch")
    assert "namespace flux-system" in f.seen and "podinfo" in f.fix


# -- wiring ------------------------------------------------------------------------------------------
def test_flux_file_not_listed(stage: Path) -> None:
    k = f"{FLUX}/kustomization.yaml"
    text = (stage / k).read_text(encoding="utf-8")
    (stage / k).write_text(
        "\n".join(ln for ln in text.splitlines() if "external-dns.yaml" not in ln) + "\n", encoding="utf-8"
    )
    f = only(problems(stage), "component-not-listed")
    assert f.path == f"{FLUX}/external-dns.yaml" and f.step == "external-dns"
    assert "- external-dns.yaml" in f.fix


def test_listed_flux_file_missing_and_path_missing(stage: Path) -> None:
    (stage / f"{FLUX}/smoke-test.yaml").unlink()
    shutil.rmtree(stage / f"{INFRA}/cluster-issuers")
    fs = problems(stage)
    assert [f.id for f in fs] == ["component-not-listed", "component-not-listed"]
    assert any("lists smoke-test.yaml, which does not exist" in f.seen for f in fs)
    assert any(f"path ./{INFRA}/cluster-issuers" in f.seen for f in fs)


# -- component configuration ------------------------------------------------------------------------
def test_external_dns_in_tree_hetzner(stage: Path) -> None:
    rel = f"{INFRA}/external-dns/external-dns.yaml"
    text = (stage / rel).read_text(encoding="utf-8")
    head = text.split("    provider:\n", 1)[0]
    (stage / rel).write_text(head + "    provider: hetzner\n", encoding="utf-8")
    f = only(problems(stage), "external-dns-hetzner-in-tree")
    assert f.step == "external-dns" and "0.11" in f.why and "webhook" in f.fix


def test_cert_manager_install_crds(stage: Path) -> None:
    rel = f"{INFRA}/cert-manager/cert-manager.yaml"
    edit(stage, rel, "  values:\n", "  values:\n    installCRDs: true\n")
    f = only(problems(stage), "cert-manager-installcrds")
    # next to the stage's crds.enabled: the chart's crd-check fails, an error
    assert f.severity == "error" and f.step == "cert-manager" and "crd-check" in f.why
    assert "edge-wizard run cert-manager" in f.fix
    # its fix writes the migration (installCRDs removed) and doctor is quiet again
    from support.stepruns import run_cli

    answers = stage / "answers.yaml"
    answers.write_text(ANSWERS, encoding="utf-8")
    assert run_cli(stage, answers, "cert-manager") == 0
    assert "installCRDs: true" not in (stage / rel).read_text(encoding="utf-8")
    assert problems(stage) == []


def test_cert_manager_install_crds_alone_is_a_warning(stage: Path) -> None:
    rel = f"{INFRA}/cert-manager/cert-manager.yaml"
    edit(stage, rel, "    crds:\n      enabled: true\n", "    installCRDs: true\n    crds:\n")
    f = only(problems(stage), "cert-manager-installcrds")
    assert f.severity == "warning" and "deprecated" in f.why


def test_install_crds_on_an_old_chart_is_fine(stage: Path) -> None:
    rel = f"{INFRA}/cert-manager/cert-manager.yaml"
    edit(stage, rel, "  values:\n", "  values:\n    installCRDs: true\n")
    edit(stage, rel, '">=1.21.0 <1.22.0"', '">=v1.12.0 <1.13.0"')
    assert problems(stage) == []


# -- host firewall -----------------------------------------------------------------------------------
def test_no_http_rule_while_ingress_uses_host_ports(guide_repo: Path, answers_file: Path) -> None:
    from wizard.frontends.cli import main

    with redirect_stdout(io.StringIO()):
        assert (
            main(
                [
                    "run",
                    "ingress",
                    "--repo",
                    str(guide_repo),
                    "--answers",
                    str(answers_file),
                    "--no-commit",
                    "--no-push",
                    "--no-watch",
                    "--yes",
                ]
            )
            == 0
        )
    f = only(problems(guide_repo), "firewall-no-http-rule")
    assert f.path == f"{INFRA}/cluster-policies/host-fw-control-plane.yaml"
    assert f.step == "firewall" and "80/443" in f.seen and f.severity == "error"
    with redirect_stdout(io.StringIO()):
        assert (
            main(
                [
                    "run",
                    "firewall",
                    "--repo",
                    str(guide_repo),
                    "--answers",
                    str(answers_file),
                    "--no-commit",
                    "--no-push",
                    "--no-watch",
                    "--yes",
                ]
            )
            == 0
        )
    assert problems(guide_repo) == []


SECOND_POLICY = """apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata:
  name: allow-http
spec:
  nodeSelector:
    matchLabels:
      node-role.kubernetes.io/control-plane: ""
  ingress:
    - fromEntities: [world]
      toPorts:
        - ports:
            - {port: "80", protocol: TCP}
            - {port: "443", protocol: TCP}
"""


def test_second_policy_for_http(stage: Path) -> None:
    rel = f"{INFRA}/cluster-policies/allow-http.yaml"
    (stage / rel).write_text(SECOND_POLICY, encoding="utf-8")
    f = only(problems(stage), "firewall-second-policy")
    assert f.path == rel and f.severity == "error" and "lock-out" in f.why
    assert "host-fw-control-plane" in f.seen


def test_ingress_nginx_retired_names_the_migration(stage: Path) -> None:
    f = next(f for f in findings(stage) if f.id == "ingress-nginx-retired")
    assert f.severity == "warning" and f.step is None and "Gateway API" in f.fix


# -- the command, JSON, exit codes, cluster skipped ------------------------------------------------------
def _cmd(root: Path, *extra: str, offline: bool = True) -> tuple[int, str]:
    from wizard.frontends.cli import main

    buf = io.StringIO()
    with redirect_stdout(buf):
        rc = main(["doctor", "--repo", str(root), *(["--offline"] if offline else []), *extra])
    return rc, buf.getvalue()


def test_cmd_json_one_object_per_finding_and_exit_code(stage: Path) -> None:
    rc, out = _cmd(stage, "--json")
    objs = [json.loads(line) for line in out.splitlines()]
    found = [o for o in objs if o["event"] == "Finding"]
    assert rc == 0 and [o["id"] for o in found] == ["ingress-nginx-retired"] and found[0]["fix"]
    assert objs[-1]["event"] == "Done" and len(objs) == len(found) + 1  # one object per finding, then the end
    edit(stage, ".sops.yaml", r"path_regex: manifests/.*\.yaml", "path_regex: manifests/*.yaml")
    rc, out = _cmd(stage, "--json")
    objs = [json.loads(line) for line in out.splitlines()]
    assert rc == 1 and objs[-1]["event"] == "Failed" and objs[-1]["exit_code"] == 1
    assert sorted(o["id"] for o in objs if o["event"] == "Finding") == ["ingress-nginx-retired", "sops-glob-regex"]


def test_cmd_text_names_the_step(stage: Path) -> None:
    rel = f"{INFRA}/cert-manager/cert-manager.yaml"
    edit(stage, rel, "    crds:\n      enabled: true\n", "    installCRDs: true\n    crds:\n")
    rc, out = _cmd(stage)
    assert rc == 0
    assert "⚠ [cert-manager-installcrds]" in out and "run: edge-wizard run cert-manager" in out
    assert "0 error(s), 2 warning(s)" in out
