"""For doctor: can the cluster's age key decrypt a file? (sops with only that key, through a pipe)."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from wizard import childenv, redact
from wizard.sops.writer import TIMEOUT, find_sops


def can_cluster_key_decrypt(
    repo_root: str | os.PathLike[str], rel_path: str, age_private_key: str, *, sops: str | None = None
) -> bool:
    """True when ``age_private_key`` (the cluster's AGE-SECRET-KEY-1... lines) decrypts the file.

    The key reaches sops through a pipe (SOPS_AGE_KEY_FILE=/dev/fd/N), not argv and not an env
    value; HOME, XDG_CONFIG_HOME and GNUPGHOME point at an empty folder so no local key helps.
    """
    binary = sops or find_sops()
    root = Path(repo_root)
    drop = (
        "SOPS_AGE_KEY",
        "SOPS_AGE_KEY_FILE",
        "SOPS_AGE_KEY_CMD",
        "SOPS_AGE_SSH_PRIVATE_KEY_FILE",
        "SOPS_AGE_SSH_PRIVATE_KEY_CMD",
        "SOPS_PGP_FP",
        "SOPS_KMS_ARN",
        "SOPS_KEYSERVICE",
    )
    data = (age_private_key.strip() + "\n").encode("utf-8")
    with tempfile.TemporaryDirectory(prefix="edge-wizard-empty-") as empty:
        redact.remember(age_private_key.strip())
        env = {k: v for k, v in childenv.env().items() if k not in drop}
        env.update(HOME=empty, XDG_CONFIG_HOME=empty, GNUPGHOME=empty)
        r, w = os.pipe()
        try:
            if len(data) > 60000:
                return False
            os.write(w, data)
            os.close(w)
            w = -1
            env["SOPS_AGE_KEY_FILE"] = f"/dev/fd/{r}"
            try:
                res = subprocess.run(
                    [binary, "--decrypt", "--input-type", "yaml", "--output-type", "yaml", rel_path],
                    cwd=root,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    pass_fds=(r,),
                    timeout=TIMEOUT,
                    check=False,
                )
            except (OSError, subprocess.TimeoutExpired):
                return False
            return res.returncode == 0
        finally:
            os.close(r)
            if w != -1:
                os.close(w)
