"""sops for edge-wizard, in three jobs (the public names of the old ``wizard.sops`` module are kept):

* :mod:`wizard.sops.rules` - the repository's ``.sops.yaml``: find it (only the repository's own),
  resolve the creation rule for a file, check it before anything is written;
* :mod:`wizard.sops.writer` - :class:`SopsSecretWriter`, encrypting the DNS token through stdin;
* :mod:`wizard.sops.cluster` - for doctor: can the cluster's key decrypt a file?
"""

from __future__ import annotations

from wizard.sops.cluster import can_cluster_key_decrypt
from wizard.sops.rules import (
    CONFIG_NAME,
    KNOWN_RULE_FIELDS,
    MUST_ENCRYPT,
    MUST_NOT_ENCRYPT,
    OTHER_KEY_TYPES,
    RECOMMENDED_REGEX,
    Resolved,
    Rule,
    _check_rule,
    _rule_from,
    explain_glob_regex,
    find_config,
    glob_matches,
    glob_to_regex,
    load_rules,
    looks_like_glob,
    outside_configs,
    resolve,
)
from wizard.sops.writer import (
    INSTALL_HINT,
    STDIN_MIN_VERSION,
    TIMEOUT,
    SopsSecretWriter,
    find_sops,
    parse_version,
)

__all__ = [
    "CONFIG_NAME",
    "INSTALL_HINT",
    "KNOWN_RULE_FIELDS",
    "MUST_ENCRYPT",
    "MUST_NOT_ENCRYPT",
    "OTHER_KEY_TYPES",
    "RECOMMENDED_REGEX",
    "STDIN_MIN_VERSION",
    "TIMEOUT",
    "Resolved",
    "Rule",
    "SopsSecretWriter",
    "_check_rule",
    "_rule_from",
    "can_cluster_key_decrypt",
    "explain_glob_regex",
    "find_config",
    "find_sops",
    "glob_matches",
    "glob_to_regex",
    "load_rules",
    "looks_like_glob",
    "outside_configs",
    "parse_version",
    "resolve",
]
