"""external-dns: DNS records for Ingress hosts, with the provider token in a sops Secret.

Adopted where it is. The guide's in-tree ``provider: hetzner`` (external-dns 0.10 only) migrates to
the webhook sidecar: the old ``env`` entry that read the Secret under another key is removed, and
the Secret's key is renamed by writing it anew with the token given again; without a new token the
step stops and says why and what to pass (``SecretChange.needs_token``).
"""

from __future__ import annotations

from typing import Any

from wizard import catalog, yamlio
from wizard.plan import SecretChange, StepPlan
from wizard.steps.adopt import component_folder, existing_doc, folder_entry, place
from wizard.steps.base import Context, Step, flux_kustomization, helm_docs, list_in_folder

NAMESPACE = "external-dns"
FOLDER = "external-dns"
RELEASE = "external-dns"


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


def migrator(secret_name: str, key: str, provider: str) -> Any:
    """The migration of an existing external-dns HelmRelease to the provider table's values."""

    def migrate(existing: Any, rel: str, sp: StepPlan) -> None:
        if existing.get("kind") != "HelmRelease":
            return
        values = (existing.get("spec") or {}).get("values")
        if not isinstance(values, dict):
            return
        old = values.get("provider")
        wanted = catalog.provider(provider)["values"].get("provider", {}).get("name")
        if isinstance(old, str) and old != wanted:
            sp.notes.append(
                f"HelmRelease {RELEASE} in {rel}: provider: {old} -> provider.name: {wanted}"
                + (
                    " (the in-tree Hetzner provider existed only in external-dns 0.10 and is gone since 0.11; the "
                    "Hetzner webhook runs as a sidecar now, against the Hetzner Cloud API)."
                    if old == "hetzner"
                    else "."
                )
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


class ExternalDnsStep(Step):
    name = "external-dns"
    title = "external-dns"
    summary = "external-dns for the zone, token in a sops-encrypted Secret"
    needs = ("domain", "dns_provider")
    kustomization = "external-dns"
    flux_apis = ("helm_repository", "helm_release", "kustomization")

    def plan(self, ctx: Context) -> StepPlan:
        self.require(ctx)
        sp = StepPlan(self.name, self.title)
        a = ctx.answers
        prov = catalog.provider(a.dns_provider or "")
        secret_name, key = prov["secret"]["name"], prov["secret"]["key"]
        folder = component_folder(ctx, self.kustomization, ctx.component(FOLDER))

        docs = helm_docs(ctx, "external-dns", "manifests/external-dns/external-dns.yaml", self.name)
        values = yamlio.require_doc(docs.docs, "HelmRelease")["spec"]["values"]
        deep_update(values, prov["values"])
        values["domainFilters"][:] = [a.resolved_zone]
        values["txtOwnerId"] = a.resolved_owner

        files = place(ctx, sp, folder, "namespace.yaml", catalog.load_asset("manifests/external-dns/namespace.yaml"))
        found = existing_doc(ctx, folder, "Secret", secret_name, NAMESPACE)
        secret_file = found[0] if found else f"{folder}/{secret_name}.yaml"
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
                f"{prov.get('label', a.dns_provider)} webhook's variable), so it must be written anew under that key"
                + (
                    "; the old in-tree provider's token was for the dns.hetzner.com API, which was shut down in May "
                    "2026, so a Hetzner Cloud API token is needed anyway"
                    if "HETZNER_TOKEN" in held
                    else ""
                )
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
        flux_kustomization(ctx, sp, self.kustomization, FOLDER, stem="external-dns", decryption=True, path=folder)
        return sp
