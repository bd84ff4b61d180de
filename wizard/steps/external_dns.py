"""external-dns: DNS records for Ingress hosts, with the provider token in a sops Secret."""

from __future__ import annotations

from typing import Any

from wizard import catalog, yamlio
from wizard.plan import SecretChange, StepPlan
from wizard.steps.base import Context, Step, ensure_listed, flux_kustomization, helm_docs, write_docs

NAMESPACE = "external-dns"
FOLDER = "external-dns"


def deep_update(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            deep_update(base[key], value)
        else:
            base[key] = value
    return base


class ExternalDnsStep(Step):
    name = "external-dns"
    title = "external-dns"
    summary = "external-dns for the zone, token in a sops-encrypted Secret"
    needs = ("domain", "dns_provider")
    kustomization = "external-dns"

    def plan(self, ctx: Context) -> StepPlan:
        self.require(ctx)
        sp = StepPlan(self.name, self.title)
        a = ctx.answers
        prov = catalog.provider(a.dns_provider or "")
        folder = ctx.component(FOLDER)
        secret_file = f"{folder}/{prov['secret']['name']}.yaml"

        docs = helm_docs(ctx, "external-dns", "manifests/external-dns/external-dns.yaml")
        values = yamlio.require_doc(docs.docs, "HelmRelease")["spec"]["values"]
        deep_update(values, prov["values"])
        values["domainFilters"][:] = [a.resolved_zone]
        values["txtOwnerId"] = a.resolved_owner

        write_docs(ctx, sp, f"{folder}/namespace.yaml", catalog.load_asset("manifests/external-dns/namespace.yaml"))
        write_docs(ctx, sp, f"{folder}/external-dns.yaml", docs)
        for f in ("namespace.yaml", f"{prov['secret']['name']}.yaml", "external-dns.yaml"):
            ensure_listed(ctx, sp, f"{folder}/kustomization.yaml", f)

        template = catalog.load_asset("manifests/external-dns/secret.yaml")
        meta = template.docs[0]["metadata"]
        meta["name"] = prov["secret"]["name"]
        meta["namespace"] = NAMESPACE
        sp.secret = SecretChange(
            path=secret_file,
            step=self.name,
            name=prov["secret"]["name"],
            namespace=NAMESPACE,
            key=prov["secret"]["key"],
            kustomization=self.kustomization,
            template=template,
            exists=ctx.ws.exists(secret_file),
        )
        if secret_file not in sp.paths:
            sp.paths.append(secret_file)
        # The folder holds a sops-encrypted file, so the Kustomization needs the decryption block
        # (without it: "illegal base64 data at input byte 3" when Flux applies ENC[...] raw).
        flux_kustomization(ctx, sp, self.kustomization, FOLDER, stem="external-dns", decryption=True)
        return sp
