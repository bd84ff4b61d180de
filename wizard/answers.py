"""The answers schema: one schema for the answers file and the state file ``.edge-wizard.yaml``.

The state file lives at the repository root, is committed, and never holds a secret.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, get_type_hints

from wizard import yamlio
from wizard.errors import UserError

STATE_FILE = ".edge-wizard.yaml"
MAX_ANSWERS_BYTES = 64 * 1024  # an answers or state file is a dozen short lines

INGRESS_CONTROLLERS = ("traefik", "ingress-nginx")  # wizard.controllers.NAMES
ISSUERS = ("letsencrypt-staging", "letsencrypt-production")
# keep: an existing DNS-01 ClusterIssuer keeps its solvers (new issuers solve HTTP-01); http01: all HTTP-01
ACME_SOLVERS = ("keep", "http01")
PATH_KEYS = ("flux", "components", "firewall_policy")
SECRET_LIKE_KEYS = ("token", "dns_token", "api_token", "secret")  # and each provider's credentials: _secret_like

_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@([A-Za-z0-9-]+\.)+[A-Za-z0-9-]{2,}$")
_ATOM = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+$")
_OWNER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$")
_SECRET_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
# RFC 5321 4.5.3.1: local part 64 octets, domain 255, the whole path 256 with its <> (so 254)
EMAIL_LOCAL_MAX, EMAIL_MAX = 64, 254


def providers() -> tuple[str, ...]:
    """The DNS providers (assets/providers.yaml, in its order)."""
    from wizard.providers import spec

    return spec.names()


def validate_domain(value: str, key: str = "domain") -> str | None:
    """Return an error sentence, or None when ``value`` is a valid DNS name."""
    if not isinstance(value, str) or not value:
        return f"{key} is empty. Give a DNS name such as example.com."
    if value.endswith("."):
        return f"{key} {value!r} ends with a dot. Write it without the trailing dot: {value.rstrip('.')}."
    if value != value.lower():
        return f"{key} {value!r} has upper-case letters. Write it in lower case: {value.lower()}."
    if "://" in value or "/" in value:
        return f"{key} {value!r} looks like a URL. Give just the DNS name, e.g. example.com."
    labels = value.split(".")
    if len(labels) < 2:
        return f"{key} {value!r} has a single label. Give a name with at least two labels, e.g. example.com."
    if len(value) > 253:
        return f"{key} is longer than 253 characters, the limit for a DNS name."
    for label in labels:
        if not _LABEL.match(label):
            return (
                f"{key} {value!r} has the label {label!r}, which is not valid (RFC 1123: letters a-z, "
                "digits and inner hyphens, 1 to 63 characters)."
            )
    if labels[-1].isdigit():
        return f"{key} {value!r} looks like an IP address. Give a DNS name, e.g. example.com."
    return None


def validate_email(value: str, key: str = "email") -> str | None:
    if not isinstance(value, str) or not _EMAIL.match(value or ""):
        shown = _show(value)
        return (
            f"{key} {shown} is not an e-mail address. It is the ACME account's contact (Let's Encrypt writes about the account there); "
            "give one like you@example.com."
        )
    local, _, domain = value.rpartition("@")
    if len(value) > EMAIL_MAX or len(local) > EMAIL_LOCAL_MAX:
        return (
            f"{key} is {len(value)} characters long (the part before the @ {len(local)}), beyond the limits of "
            f"e-mail (RFC 5321: {EMAIL_LOCAL_MAX} before the @, {EMAIL_MAX} in all), so Let's Encrypt would refuse "
            "the account. Give a real address like you@example.com."
        )
    if not all(_ATOM.match(part) for part in local.split(".")):
        return f"{key} {_show(value)} has a dot at the start or end of the name, or two in a row; that is not an e-mail address."
    err = validate_domain(domain.lower(), f"the domain of {key}")
    if err:
        return err
    return None


def _show(value: Any, limit: int = 60) -> str:
    """A value as it may appear in a message: repr, printable, shortened."""
    from wizard.redact import printable

    text = repr(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return printable(text, newlines=False)


def validate_address(value: Any, key: str = "ingress_address") -> str | None:
    """The address the Ingress status carries (an IPv4/IPv6 address, or a DNS name for several nodes)."""
    import ipaddress

    if isinstance(value, str):
        try:
            ip = ipaddress.ip_address(value)
        except ValueError:
            ip = None
        if ip is not None:
            if ip.is_unspecified or ip.is_multicast:
                return f"{key} {value!r} is not an address a client can reach. Give a node's public IP address."
            return None
        if validate_domain(value, key) is None:
            return None
    return (
        f"{key} is {_show(value)}, neither an IP address nor a DNS name. Give the public IP address of your node "
        "(e.g. 203.0.113.10), or for several nodes a DNS name that resolves to all of them; external-dns points "
        "each Ingress's record at it."
    )


def validate_choice(value: Any, key: str, accepted: tuple[str, ...]) -> str | None:
    if not isinstance(value, str) or value not in accepted:
        return f"{key} is {_show(value)}. Accepted: {', '.join(accepted)}."
    return None


def validate_rel_path(value: Any, key: str) -> str | None:
    """``paths.*``: a relative, normalised path inside the repository (an error sentence, or None)."""
    if not isinstance(value, str) or not value.strip():
        return f"{key} is {_show(value)}; give a folder or file path relative to the repository root, e.g. manifests/infrastructure."
    v = value.strip()
    parts = v.replace("\\", "/").split("/")
    if v.startswith(("/", "~")) or re.match(r"^[A-Za-z]:", v):
        why = "an absolute path"
    elif ".." in parts:
        why = "a path that climbs out with '..'"
    elif any(ord(c) < 32 or c == "\\" for c in v):
        why = "a path with control characters or backslashes"
    elif len(v) > 1024:
        why = "a path longer than 1024 characters"
    else:
        return None
    return (
        f"{key} is {_show(v)}, {why}. edge-wizard only reads and writes inside the repository, so every paths: value "
        "must be relative to the repository root (e.g. manifests/infrastructure). Nothing was written."
    )


def in_zone(name: str, zone: str) -> bool:
    """The one zone rule: ``name`` is the zone itself or a name under it."""
    return name == zone or name.endswith("." + zone)


def zone_problem(domain: str, zone: str) -> str | None:
    """Why ``zone`` cannot hold ``domain`` (None: it can)."""
    if in_zone(domain, zone):
        return None
    return (
        f"zone {zone!r} is not a suffix of domain {domain!r}. The zone is the DNS zone at your provider that holds "
        "the domain (e.g. domain k8s.example.com, zone example.com)."
    )


def host_problem(host: str, zone: str) -> str | None:
    """Why ``host`` gets no DNS record in ``zone`` (None: it does)."""
    if in_zone(host, zone):
        return None
    return (
        f"smoke_test_host {host!r} is outside the zone {zone!r}, so external-dns would never create its record. "
        "Pick a host under the zone."
    )


def derive_zone(domain: str) -> str:
    """The registrable domain, without asking the DNS provider (which knows better)."""
    from wizard.providers.zones import derive_zone as provider_derive

    return provider_derive(domain)


@dataclass
class Answers:
    domain: str | None = None
    zone: str | None = None
    email: str | None = None
    dns_provider: str | None = None
    # None: the controller the repository has, else Traefik (wizard.controllers.resolve)
    ingress_controller: str | None = None
    ingress_address: str | None = None  # the nodes' public address for the Ingress status (Traefik)
    smoke_test_host: str | None = None
    smoke_test_issuer: str = "letsencrypt-production"
    txt_owner_id: str | None = None
    webhook_rule: bool = True
    sops_secret: str | None = None
    acme_solver: str = "keep"
    paths: dict[str, str] = field(default_factory=dict)
    steps: list[str] | None = None  # the steps set up so far (state file); plan's default
    removed: list[str] | None = None  # steps removed again (state file: `run smoke-test --remove`)
    # the cluster of a repository holding several (--cluster NAME); its state is kept under clusters.<name>
    cluster: str | None = None

    # -- derived values -------------------------------------------------------------------
    @property
    def resolved_zone(self) -> str | None:
        if self.zone:
            return self.zone
        return derive_zone(self.domain) if self.domain else None

    @property
    def resolved_host(self) -> str | None:
        if self.smoke_test_host:
            return self.smoke_test_host
        return f"podinfo.apps.{self.domain}" if self.domain else None

    @property
    def resolved_owner(self) -> str:
        return self.txt_owner_id or (self.domain or "edge-wizard")

    def changed(self, **changes: Any) -> Answers:
        """These answers with ``changes`` applied, checked like an answers file's (UserError); a None
        value changes nothing, as in the answers file."""
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise TypeError(f"not an answer: {', '.join(sorted(unknown))}")
        return build(asdict(self), changes)

    def require(self, keys: tuple[str, ...], why: str) -> None:
        missing = [k for k in keys if getattr(self, k) in (None, "")]
        if missing:
            names = ", ".join(missing)
            raise UserError(
                f"The answer{'s' if len(missing) > 1 else ''} {names} {'are' if len(missing) > 1 else 'is'} "
                f"missing; {why} needs {'them' if len(missing) > 1 else 'it'}. Put "
                f"{' and '.join(f'`{k}:`' for k in missing)} in the answers file (--answers FILE) or in "
                f"{STATE_FILE}, or run edge-wizard interactively to be asked."
            )

    def to_mapping(self) -> dict[str, Any]:
        """The state file's content: only what was answered, never a secret."""
        out: dict[str, Any] = {}
        derived = {"zone": self.resolved_zone, "smoke_test_host": self.resolved_host} if self.domain else {}
        for key in STATE_TEXT_KEYS:
            value = getattr(self, key)
            if value in (None, ""):
                value = derived.get(key)  # same place whether typed or derived: front ends agree byte for byte
            if value not in (None, ""):
                out[key] = value
        if self.acme_solver != "keep":  # only a choice made is recorded (older state files stay as they are)
            out["acme_solver"] = self.acme_solver
        out["firewall"] = {"webhook_rule": self.webhook_rule}
        if self.sops_secret:
            out["sops_secret"] = self.sops_secret
        if self.paths:
            out["paths"] = dict(self.paths)
        if self.steps:
            out["steps"] = list(self.steps)
        if self.removed:
            out["removed"] = list(self.removed)
        return out


# The answer keys, from the fields of Answers (in their order): the text answers; those the state
# file records as given (or derived), in its order (sops_secret and acme_solver by their own rule in
# to_mapping; the cluster names the state file's section instead); the keys of an answers file
# (webhook_rule is written firewall: {webhook_rule: ...}).
TEXT_KEYS = tuple(f.name for f in fields(Answers) if get_type_hints(Answers)[f.name] in (str, str | None))
STATE_TEXT_KEYS = tuple(k for k in TEXT_KEYS if k not in ("sops_secret", "acme_solver", "cluster"))
ACCEPTED_KEYS = tuple("firewall" if f.name == "webhook_rule" else f.name for f in fields(Answers))


def _secret_like(key: str) -> bool:
    """A key that would hold a credential: a generic name, a provider's credential field (token),
    that field after the provider's name (hetzner_token) or the key of its Secret (HETZNER_API_KEY)."""
    from wizard.providers import spec

    k = key.lower()
    if k in SECRET_LIKE_KEYS:
        return True
    return any(
        k in (field, f"{name.replace('-', '_')}_{field}", cred.key.lower())
        for name, p in spec.specs().items()
        for field, cred in p.credentials.items()
    )


def _flatten(raw: dict[str, Any], source: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise UserError(
            f"{source} must be a YAML mapping of answers (domain:, email:, dns_provider: ...). "
            "Fix the file and run again."
        )
    for key in raw:
        if _secret_like(str(key)):
            raise UserError(
                f"{source} has a key {key!r}. The DNS token must never be written to a file: remove "
                "that line and pass the token with --token-env VAR or --token-stdin (or type it at "
                "the masked prompt)."
            )
        if key not in ACCEPTED_KEYS:
            raise UserError(f"{source} has an unknown key {key!r}. Accepted keys: {', '.join(ACCEPTED_KEYS)}.")
    flat = {k: v for k, v in raw.items() if k not in ("firewall", "paths")}
    fw = raw.get("firewall")
    if fw is not None:
        if not isinstance(fw, dict) or set(fw) - {"webhook_rule"}:
            raise UserError(f"{source}: firewall accepts one key, webhook_rule: true|false.")
        if "webhook_rule" in fw:
            flat["webhook_rule"] = fw["webhook_rule"]
    paths = raw.get("paths")
    if paths is not None:
        if not isinstance(paths, dict) or set(paths) - set(PATH_KEYS):
            raise UserError(f"{source}: paths accepts the keys {', '.join(PATH_KEYS)}.")
        errors = [e for k, v in paths.items() if (e := validate_rel_path(v, f"paths.{k}"))]
        if errors:
            raise UserError(f"{source}: " + " ".join(errors))
        flat["paths"] = {k: _norm_rel(v) for k, v in paths.items()}
    return flat


def _norm_rel(value: str) -> str:
    parts = [p for p in value.strip().split("/") if p not in ("", ".")]
    return "/".join(parts)


def read_file(path: Path, *, missing_ok: bool = False) -> dict[str, Any]:
    """Read an answers file into flat keys; raise UserError on any problem."""
    source = str(path)
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_ANSWERS_BYTES + 1)
    except FileNotFoundError:
        if missing_ok:
            return {}
        raise UserError(f"The answers file {source} does not exist. Check the path given to --answers.") from None
    except OSError as exc:
        raise UserError(f"The answers file {source} cannot be read ({exc.strerror}).") from None
    return parse_text(data, source)


def read_state(repo_root: Path, cluster: str | None = None) -> dict[str, Any]:
    """The committed state file (``.edge-wizard.yaml``), checked like every managed path (no symlink).
    In a repository with several clusters it keeps one section per cluster (``clusters.<name>``): that
    section for ``cluster``; the top level (a repository with one cluster) otherwise."""
    from wizard.plan import read_managed

    text = read_managed(repo_root, STATE_FILE)
    if text is None:
        return {}
    raw = _load_state(text)
    sections = raw.pop(CLUSTERS_KEY, None)
    if sections is not None and not isinstance(sections, dict):
        raise UserError(f"{STATE_FILE}: {CLUSTERS_KEY} must map each cluster's name to its answers. Fix the file.")
    if cluster is not None and sections is not None:
        section = sections.get(cluster)
        if section is None:
            return {}
        return _flatten(section, f"{STATE_FILE} ({CLUSTERS_KEY}.{cluster})")
    return _flatten(raw, STATE_FILE) if raw else {}


CLUSTERS_KEY = "clusters"


def _load_state(text: str) -> dict[str, Any]:
    """The state file's top-level mapping, read as answers files are (bounded, no aliases), unflattened."""
    doc = _load_checked(text.encode("utf-8"), STATE_FILE)  # the same refusals as for an answers file
    if doc is not None and not isinstance(doc, dict):
        return _flatten(doc, STATE_FILE)  # raises: not a mapping
    return dict(doc or {})


def parse_text(data: bytes, source: str) -> dict[str, Any]:
    """Answers/state bytes into flat keys: bounded, UTF-8, no anchors/aliases, valid YAML."""
    doc = _load_checked(data, source)
    return {} if doc is None else _flatten(doc, source)


def _load_checked(data: bytes, source: str) -> Any:
    """The first document of answers/state bytes: bounded, UTF-8, no anchors/aliases, valid YAML."""
    if len(data) > MAX_ANSWERS_BYTES:
        raise UserError(
            f"{source} is larger than {MAX_ANSWERS_BYTES // 1024} KB; an answers file is a dozen short lines "
            "(domain:, email:, dns_provider: ...). Check that it is the right file, then run again."
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise UserError(f"{source} is not UTF-8 text. Save it as UTF-8 and run again.") from None
    try:
        yamlio.refuse_aliases(text, source)
    except yamlio.YamlRefused as exc:
        raise UserError(f"{exc} Remove them (write each value out) and run again.") from None
    try:
        docs = yamlio.load_plain(text, source)
    except Exception as exc:  # ruamel raises several types; its text would quote the file's content
        raise UserError(f"{source} is not valid YAML ({_yaml_where(exc)}). Fix the file and run again.") from None
    return docs[0] if docs else None


def _yaml_where(exc: BaseException) -> str:
    """Line and column of a YAML error, and its kind: never the text around it (it may be a secret)."""
    problem = str(getattr(exc, "problem", "") or "").strip()
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    words = ": ".join(x for x in (where, problem) if x)
    return words or type(exc).__name__


def build(*layers: dict[str, Any]) -> Answers:
    """Merge flat answer layers (later wins) and validate them."""
    merged: dict[str, Any] = {}
    for layer in layers:
        for key, value in layer.items():
            if key == "paths":
                merged.setdefault("paths", {}).update(value)
            elif value is not None:
                merged[key] = value
    type_errors = check_types(merged)
    if type_errors:
        raise UserError(" ".join(type_errors))
    answers = Answers(**{f.name: merged[f.name] for f in fields(Answers) if f.name in merged})
    errors = validate(answers)
    if errors:
        raise UserError(" ".join(errors))
    return answers


def check_types(merged: dict[str, Any]) -> list[str]:
    """Each key's type (and a sane length) before any value is used: one sentence per bad key."""
    errors: list[str] = []
    for key in TEXT_KEYS:
        v = merged.get(key)
        if v is None:
            continue
        if not isinstance(v, str):
            errors.append(f"{key} is {_show(v)} ({type(v).__name__}); it must be text. Quote it in the YAML file.")
        elif len(v) > 1024 or "\n" in v or "\r" in v:
            errors.append(
                f"{key} is {'more than 1024 characters long' if len(v) > 1024 else 'several lines'}; it must be one short line."
            )
    if "webhook_rule" in merged and not isinstance(merged["webhook_rule"], bool):
        errors.append(f"firewall.webhook_rule is {_show(merged['webhook_rule'])}; accepted: true or false.")
    for key in ("steps", "removed"):
        names = merged.get(key)
        if names is not None and (not isinstance(names, list) or not all(isinstance(x, str) for x in names)):
            errors.append(f"{key} is {_show(names)}; give a list of step names.")
    paths = merged.get("paths")
    if paths is not None:
        if not isinstance(paths, dict):
            errors.append(f"paths is {_show(paths)}; give a mapping of {', '.join(PATH_KEYS)}.")
        else:
            errors += [e for k, v in paths.items() if (e := validate_rel_path(v, f"paths.{k}"))]
    return errors


def validate(a: Answers) -> list[str]:  # noqa: C901 (see pyproject.toml)
    errors: list[str] = []
    if a.domain is not None:
        err = validate_domain(a.domain)
        if not err and a.zone is None:
            try:
                derive_zone(a.domain)
            except UserError as exc:  # a public suffix (co.uk) or a name no provider can hold
                err = str(exc)
        if err:
            errors.append(err)
    if a.zone is not None:
        err = validate_domain(a.zone, "zone")
        if err:
            errors.append(err)
        elif a.domain and (err := zone_problem(a.domain, a.zone)):
            errors.append(err)
    if a.email is not None:
        err = validate_email(a.email)
        if err:
            errors.append(err)
    if a.dns_provider is not None:
        err = validate_choice(a.dns_provider, "dns_provider", providers())
        if err:
            errors.append(err)
    if a.ingress_controller is not None:
        err = validate_choice(a.ingress_controller, "ingress_controller", INGRESS_CONTROLLERS)
        if err:
            errors.append(err)
    if a.ingress_address is not None:
        err = validate_address(a.ingress_address)
        if err:
            errors.append(err)
    err = validate_choice(a.smoke_test_issuer, "smoke_test_issuer", ISSUERS)
    if err:
        errors.append(err)
    err = validate_choice(a.acme_solver, "acme_solver", ACME_SOLVERS)
    if err:
        errors.append(err + " (keep: existing DNS-01 issuers keep their solvers; http01: every issuer solves HTTP-01)")
    if not isinstance(a.webhook_rule, bool):
        errors.append(f"firewall.webhook_rule is {a.webhook_rule!r}; accepted: true or false.")
    if a.smoke_test_host is not None:
        err = validate_domain(a.smoke_test_host, "smoke_test_host")
        if err:
            errors.append(err)
        elif a.domain and not errors and (err := host_problem(a.smoke_test_host, a.resolved_zone or "")):
            errors.append(err)
    for key in ("steps", "removed"):
        names = getattr(a, key)
        if names is None:
            continue
        from wizard.stepnames import NAMES

        if not isinstance(names, list) or any(st not in NAMES for st in names):
            errors.append(f"{key} is {names!r}; give a list of step names from: {', '.join(NAMES)}.")
    if a.sops_secret is not None and (len(a.sops_secret) > 253 or not _SECRET_NAME.match(a.sops_secret)):
        errors.append(
            f"sops_secret {_show(a.sops_secret)} is not a valid Secret name (lower-case letters, digits, '-' and '.', "
            "at most 253 characters), e.g. sops-age."
        )
    if a.txt_owner_id is not None and not _OWNER.match(a.txt_owner_id):
        errors.append(
            f"txt_owner_id {_show(a.txt_owner_id)} is not a usable external-dns owner id: one word of letters, digits, "
            "'.', '-' and '_' (at most 253 characters), e.g. my-cluster."
        )
    return errors


def state_path(repo_root: Path) -> Path:
    return repo_root / STATE_FILE


STATE_HEADER = (
    "# edge-wizard state: the answers of the last run, committed so a re-run (or a colleague)\n"
    "# starts from them. It never holds a secret; the DNS token lives only in the\n"
    "# sops-encrypted Secret.\n"
)


def render_state(answers: Answers, existing: str | None, cluster: str | None = None) -> str:
    """The state file text: ``existing`` merged with our keys (comments kept), or a new file. With
    ``cluster`` (a repository holding several) only that cluster's section (``clusters.<name>``) changes."""
    data = answers.to_mapping()
    data.pop("cluster", None)
    if existing is not None:
        try:
            doc = yamlio.parse(existing, source=STATE_FILE)
        except ValueError:
            doc = None
        if doc is not None and doc.docs and isinstance(doc.docs[0], dict):
            top = doc.docs[0]
            if cluster is not None:
                sections = top.get(CLUSTERS_KEY)
                if not isinstance(sections, dict):
                    sections = top[CLUSTERS_KEY] = yamlio.CommentedMap()
                if not isinstance(sections.get(cluster), dict):
                    sections[cluster] = yamlio.CommentedMap()
                target = sections[cluster]
            else:
                target = top
            if yamlio.to_plain({k: v for k, v in target.items() if k != CLUSTERS_KEY}) == data:
                return existing
            for key in list(target):
                if key not in data and key != CLUSTERS_KEY:
                    del target[key]
            yamlio.merge_managed(target, data)
            return yamlio.render(doc)
    if cluster is not None:
        return STATE_HEADER + _dump_plain({CLUSTERS_KEY: {cluster: data}})
    return STATE_HEADER + _dump_plain(data)


def _dump_plain(data: dict[str, Any]) -> str:
    import io

    from ruamel.yaml import YAML

    y = YAML(typ="rt")
    y.indent(mapping=2, sequence=4, offset=2)
    out = io.StringIO()
    y.dump(data, out)
    return out.getvalue()
