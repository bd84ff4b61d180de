"""external-dns: DNS records for Ingress hosts, with the provider token in a sops Secret.

The provider's Secret and chart values are its data (:mod:`wizard.providers.spec`, no network
code). Adopted where it is. An older setup a provider's ``legacy`` entry describes (the guide's
in-tree Hetzner provider of external-dns 0.10) migrates to the current values: the old ``env``
entry that read the Secret under another key is removed, and the Secret's key is renamed by
writing it anew with the token given again; without a new token the step stops and says why and
what to pass (``SecretChange.needs_token``).
"""

from __future__ import annotations

from typing import Any

from wizard import catalog, yamlio
from wizard.errors import UserError
from wizard.plan import SecretChange, StepPlan
from wizard.providers import spec as providers
from wizard.sopsconfig import token_secret_file
from wizard.steps.adopt import adopt_release, component_folder, existing_doc, folder_entry, found_release, place
from wizard.steps.base import Context, Step, flux_kustomization, helm_docs, list_in_folder

NAMESPACE = "external-dns"
FOLDER = "external-dns"
RELEASE = "external-dns"
CHARTS = ("external-dns",)


def deep_update(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            deep_update(base[key], value)
        else:
            base[key] = value
    return base


def _secret_keys(doc: Any) -> list[str]:
    keys: list[str] = []
    for field in ("data", "stringData"):
        values = doc.get(field)
        if isinstance(values, dict):
            keys += [str(k) for k in values]
    return keys


def _legacy_note(old: str) -> str:
    """Why an older setup's external-dns provider ``old`` changes (a provider's ``legacy`` entry)."""
    notes = [p.legacy.note for p in providers.specs().values() if p.legacy and p.legacy.provider == old]
    return f" ({notes[0]})." if notes else "."


def _legacy_token_note(held: list[str]) -> str:
    """Why a token an older setup's Secret held (under ``held``) must be given again."""
    notes = [
        p.legacy.token_note
        for p in providers.specs().values()
        if p.legacy and p.legacy.token_note and set(p.legacy.secret_keys) & set(held)
    ]
    return f"; {notes[0]}" if notes else ""


def migrator(secret_name: str, key: str, provider: str) -> Any:
    """The migration of an existing external-dns HelmRelease to the provider table's values."""

    def migrate(existing: Any, rel: str, sp: StepPlan) -> None:
        if existing.get("kind") != "HelmRelease":
            return
        values = (existing.get("spec") or {}).get("values")
        if not isinstance(values, dict):
            return
        old = values.get("provider")
        wanted = providers.get(provider).chart_provider
        if isinstance(old, str) and old != wanted:
            sp.notes.append(
                f"HelmRelease {RELEASE} in {rel}: provider: {old} -> provider.name: {wanted}{_legacy_note(old)}"
            )
        env = values.get("env")
        if not isinstance(env, list):
            return
        stale = [
            e
            for e in env
            if isinstance(e, dict)
            and ((e.get("valueFrom") or {}).get("secretKeyRef") or {}).get("name") == secret_name
            and ((e.get("valueFrom") or {}).get("secretKeyRef") or {}).get("key") != key
        ]
        for e in stale:
            ref = e["valueFrom"]["secretKeyRef"]
            env.remove(e)
            sp.notes.append(
                f"HelmRelease {RELEASE} in {rel}: env {e.get('name')} (from Secret {secret_name}, key {ref.get('key')}) "
                f"removed: it pointed at a key the Secret will not hold; the token is read from key {key} now."
            )
        if not env:
            yamlio.delete_key(values, "env")

    return migrate


def _provider_of(values: dict[str, Any]) -> tuple[str, str]:
    """(provider name, webhook image) an external-dns release's values select."""
    p = values.get("provider")
    if isinstance(p, str):
        return p, ""
    p = p if isinstance(p, dict) else {}
    image = ((p.get("webhook") or {}).get("image") or {}) if isinstance(p.get("webhook"), dict) else {}
    return str(p.get("name") or ""), str(image.get("repository") or "") if isinstance(image, dict) else ""


def _env_secret(values: dict[str, Any], env_name: str) -> tuple[str, str] | None:
    """(Secret name, key) the release reads ``env_name`` from (main container or the webhook sidecar)."""
    p = values.get("provider")
    hook = (p.get("webhook") or {}) if isinstance(p, dict) else {}
    for env in (values.get("env") or [], (hook.get("env") if isinstance(hook, dict) else None) or []):
        for e in env if isinstance(env, list) else []:
            ref = ((e or {}).get("valueFrom") or {}).get("secretKeyRef") if isinstance(e, dict) else None
            if isinstance(e, dict) and e.get("name") == env_name and isinstance(ref, dict) and ref.get("name"):
                return str(ref["name"]), str(ref.get("key") or "")
    return None


class ExternalDnsStep(Step):
    name = "external-dns"
    title = "external-dns"
    summary = "external-dns for the zone, token in a sops-encrypted Secret"
    needs = ("domain", "dns_provider")
    kustomization = "external-dns"
    flux_apis = ("helm_repository", "helm_release", "kustomization")

    def _adopt(self, ctx: Context, sp: StepPlan, release: Any, prov: providers.ProviderSpec) -> None:
        _adopt_release(self, ctx, sp, release, prov)

    def plan(self, ctx: Context) -> StepPlan:
        self.require(ctx)
        sp = StepPlan(self.name, self.title)
        a = ctx.answers
        prov = providers.get(a.dns_provider or "")
        secret_name, key = prov.secret.name, prov.token.key
        folder = component_folder(ctx, self.kustomization, ctx.component(FOLDER, NAMESPACE))
        release = found_release(ctx, self.name, CHARTS, folder, own_file="external-dns.yaml")
        if release is not None:
            self._adopt(ctx, sp, release, prov)
            return sp

        docs = helm_docs(ctx, "external-dns", "manifests/external-dns/external-dns.yaml", self.name)
        values = yamlio.require_doc(docs.docs, "HelmRelease")["spec"]["values"]
        deep_update(values, prov.chart_values())
        values["domainFilters"][:] = [a.resolved_zone]
        values["txtOwnerId"] = a.resolved_owner

        files = place(ctx, sp, folder, "namespace.yaml", catalog.load_asset("manifests/external-dns/namespace.yaml"))
        found = existing_doc(ctx, folder, "Secret", secret_name, NAMESPACE)
        secret_file = token_secret_file(ctx, sp, folder, secret_name, found, key)
        entry = folder_entry(folder, secret_file)
        if entry is not None:
            files.append(entry)
        files += place(ctx, sp, folder, "external-dns.yaml", docs, migrator(secret_name, key, a.dns_provider or ""))
        list_in_folder(ctx, sp, folder, files)

        template = catalog.load_asset("manifests/external-dns/secret.yaml")
        meta = template.docs[0]["metadata"]
        meta["name"] = secret_name
        meta["namespace"] = NAMESPACE
        exists = ctx.ws.exists(secret_file)
        needs_token = ""
        if found is not None and key not in (held := _secret_keys(found[1])):
            needs_token = (
                f"The Secret {NAMESPACE}/{secret_name} in {secret_file} holds the token under "
                f"{', '.join(held) or 'no key'}, but external-dns reads it from {key} now (the "
                f"{prov.label} {'webhook' if prov.external_dns == 'webhook' else 'provider'}'s variable), so it must be "
                "written anew under that key"
                + _legacy_token_note(held)
                + ". Pass the token with --token-env VAR (the name of an environment variable holding it) or "
                "--token-stdin, or run in a terminal to be asked for it. Nothing was written."
            )
            sp.notes.append(
                f"Secret {secret_name} in {secret_file}: key {', '.join(held)} -> {key} (written anew with the token "
                "you give; sops encrypts it)."
            )
        sp.secret = SecretChange(
            path=secret_file,
            step=self.name,
            name=secret_name,
            namespace=NAMESPACE,
            key=key,
            kustomization=self.kustomization,
            template=template,
            exists=exists,
            needs_token=needs_token,
        )
        if secret_file not in sp.paths:
            sp.paths.append(secret_file)
        # The folder holds a sops-encrypted file, so the Kustomization needs the decryption block
        # (without it: "illegal base64 data at input byte 3" when Flux applies ENC[...] raw).
        flux_kustomization(
            ctx, sp, self.kustomization, FOLDER, stem="external-dns", decryption=True, path=folder, namespace=NAMESPACE
        )
        return sp


def _adopt_release(
    step: ExternalDnsStep, ctx: Context, sp: StepPlan, release: Any, prov: providers.ProviderSpec
) -> None:
    """The cluster's own external-dns, whatever it is called (cluster-template's network/cloudflare-dns):
    its provider must be the answers' one; its token Secret is the one it reads (kept, or re-encrypted
    with a new token under the key it reads); the zone must be within its domainFilters and the smoke
    test's source among its sources. Its owner id, policy and other values stay."""
    a = ctx.answers
    values = release.values
    have, image = _provider_of(values)
    want = prov.values.get("provider", {})
    want_name = str(want.get("name") or "")
    want_image = str(((want.get("webhook") or {}).get("image") or {}).get("repository") or "")
    if have != want_name or (want_image and image.rsplit("/", 1)[-1] != want_image.rsplit("/", 1)[-1]):
        shown = f"{have} ({image})" if image else have or "no provider"
        raise UserError(
            f"This cluster already runs external-dns ({release.describe()}) with the provider {shown}, but the "
            f"answers say dns_provider: {a.dns_provider}. A second external-dns would fight over the same "
            "records, so the external-dns step writes nothing. Set dns_provider to the provider it uses, or change "
            "that release yourself first."
        )
    changes: dict[str, Any] = {}
    filters = values.get("domainFilters")
    zone = a.resolved_zone
    if isinstance(filters, list) and filters and zone not in filters:
        if any("${" in str(f) for f in filters):  # a postBuild substitution: its value is the cluster's secret
            sp.notes.append(
                f"{release.name}'s domainFilters {filters} are substituted by Flux when it applies them, so "
                f"edge-wizard cannot tell whether they cover {zone}; they are kept. If they do not, external-dns "
                "publishes no record for the smoke test."
            )
        else:
            changes["domainFilters"] = [*filters, zone]
    sources = values.get("sources")
    if isinstance(sources, list) and "ingress" not in sources and _ingress_edge(ctx):
        changes["sources"] = [*sources, "ingress"]
    adopt_release(
        ctx,
        sp,
        release,
        changes,
        why="its owner id, policy and other values stay as they are (changing the owner id would orphan its records).",
    )
    owner = values.get("txtOwnerId") or "default"
    sp.notes.append(
        f"external-dns marks its records with the owner id {owner!r} (its txtOwnerId); the proof looks for that owner."
    )
    env_name = _env_name(prov)
    ref = _env_secret(values, env_name) if env_name else None
    if ref is None:
        sp.warnings.append(
            f"{release.describe()} reads no {env_name or 'token'} from a Secret that edge-wizard can see, so its "
            "token is left as it is; a token given to this run is only checked with the provider."
        )
        return
    secret_name, key = ref
    ns = release.namespace
    model = ctx.layout.model
    secrets = [
        o
        for o in (model.objects(ctx.layout.index, {"Secret"}) if model else [])
        if (o.name, o.namespace) == (secret_name, ns)
    ]
    if not secrets:
        sp.notes.append(
            f"The token Secret {ns}/{secret_name} that {release.name} reads is not in the repository (created "
            "another way): it is kept as it is."
        )
        return
    template = catalog.load_asset("manifests/external-dns/secret.yaml")
    meta = template.docs[0]["metadata"]
    meta["name"] = secret_name
    meta["namespace"] = ns
    sp.secret = SecretChange(
        path=secrets[0].path,
        step=step.name,
        name=secret_name,
        namespace=ns,
        key=key,
        kustomization=secrets[0].applier.ks.name,
        template=template,
        exists=True,
    )
    if secrets[0].path not in sp.paths:
        sp.paths.append(secrets[0].path)


def _env_name(prov: providers.ProviderSpec) -> str:
    """The environment variable the provider's token reaches external-dns in."""
    values = prov.values
    hook = (values.get("provider") or {}).get("webhook") or {}
    for env in (values.get("env") or [], hook.get("env") or []):
        for e in env:
            if isinstance(e, dict) and e.get("name"):
                return str(e["name"])
    return ""


def _ingress_edge(ctx: Context) -> bool:
    """The smoke test is published from an Ingress (not a Gateway route)."""
    from wizard import controllers

    other = controllers.foreign(ctx.layout)
    return other is None or other.serves_ingress or controllers.installed(ctx.layout) is not None
