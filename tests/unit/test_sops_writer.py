"""wizard.sops.writer: the plaintext check of sops's output looks at the encrypted values, not the names."""

from __future__ import annotations

import subprocess

import pytest

from support.adopt_repos import ED
from support.tools import require_tool


# -- the plaintext checks look at values, not names ------------------------------------------------------
def test_sops_output_check_compares_only_the_encrypted_values() -> None:
    from wizard.errors import StepFailed
    from wizard.plan import SecretChange
    from wizard.sops.rules import Rule
    from wizard.sops.writer import SopsSecretWriter

    secret = SecretChange(
        path=f"{ED}/hetzner-token.yaml",
        step="external-dns",
        name="hetzner-token",
        namespace="external-dns",
        key="K",
        kustomization="external-dns",
        template=None,
    )
    rule = Rule(index=1, raw={}, path_regex=".*", encrypted_regex="^(data|stringData)$")
    # real sops output for the value "token" in the Secret hetzner-token: no false alarm on the name
    sops = require_tool("sops")
    age = require_tool("age-keygen")
    key = subprocess.run([age], capture_output=True, text=True, check=True).stdout
    recipient = next(line.split(": ")[1] for line in key.splitlines() if line.startswith("# public key"))
    plain = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: hetzner-token\n  namespace: external-dns\ntype: Opaque\nstringData:\n  K: token\n"
    out = subprocess.run(
        [
            sops,
            "--encrypt",
            "--age",
            recipient,
            "--encrypted-regex",
            "^(data|stringData)$",
            "--input-type",
            "yaml",
            "--output-type",
            "yaml",
            "/dev/stdin",
        ],
        input=plain,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "hetzner-token" in out
    SopsSecretWriter.verify(out, secret, rule, "token")  # no exception
    # the token in an encrypted field's value is still found
    leaked = out.replace("K: ENC[", "K: token ENC[", 1)
    with pytest.raises(StepFailed, match="the token appears in plaintext"):
        SopsSecretWriter.verify(leaked, secret, rule, "token")
