"""firewall: add the 80/443 rule (and optionally 8443 from the cluster) to the EXISTING host policy.

Never a second policy: Cilium only restricts a host once some policy selects it, so a separate
80/443 policy applied before the main one would lock the node down to 80/443 and cut off the
Kubernetes and Talos APIs.
"""

from __future__ import annotations

import difflib
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from wizard import controllers, yamlio
from wizard.errors import UserError
from wizard.plan import StepPlan
from wizard.repo import CONTROL_PLANE_LABEL
from wizard.steps.base import Context, Step

HTTP_COMMENT = "Allow HTTP and HTTPS access from anywhere"
WEBHOOK_COMMENT = "Allow the ingress-nginx admission webhook (hostNetwork, port 8443) from inside the cluster"


def _ports(rule: Any) -> set[tuple[str, str]]:
    out = set()
    for tp in rule.get("toPorts") or []:
        for p in (tp or {}).get("ports") or []:
            out.add((str(p.get("port")), str(p.get("protocol", "TCP")).upper()))
    return out


def covered(rules: list[Any], entity: str, port: str) -> bool:
    """Is ``port``/TCP already open to ``entity`` (or to all) by some rule?"""
    for rule in rules:
        if not isinstance(rule, dict):
            continue
        ents = {str(e) for e in rule.get("fromEntities") or []}
        if entity in ents or "all" in ents:
            if (port, "TCP") in _ports(rule) or (port, "ANY") in _ports(rule):
                return True
    return False


def make_rule(entities: list[str], ports: list[str]) -> CommentedMap:
    q = DoubleQuotedScalarString
    rule = CommentedMap()
    rule["fromEntities"] = CommentedSeq(entities)
    plist = CommentedSeq()
    for port in ports:
        m = CommentedMap()
        m["port"] = q(port)
        m["protocol"] = q("TCP")
        plist.append(m)
    tp = CommentedMap()
    tp["ports"] = plist
    rule["toPorts"] = CommentedSeq([tp])
    return rule


class FirewallStep(Step):
    name = "firewall"
    title = "Host firewall 80/443"
    summary = "open 80/443 in the existing Cilium host policy (and ingress-nginx's 8443 from the cluster)"

    def plan(self, ctx: Context) -> StepPlan:
        sp = StepPlan(self.name, self.title)
        rel = ctx.layout.require_firewall_policy()
        sp.paths.append(rel)
        text = ctx.ws.read(rel) or ""
        try:
            doc = yamlio.parse(text, source=rel)
        except ValueError as exc:
            raise UserError(f"{exc}. Fix the policy file and run again.") from None
        policy = next(
            d
            for d in doc.docs
            if isinstance(d, dict)
            and d.get("kind") == "CiliumClusterwideNetworkPolicy"
            and CONTROL_PLANE_LABEL in (((d.get("spec") or {}).get("nodeSelector") or {}).get("matchLabels") or {})
        )
        spec = policy["spec"]
        rules = spec.get("ingress")
        if rules is None:
            raise UserError(
                f"The host policy in {rel} has no ingress rules, so it allows nothing yet; adding only "
                "80/443 would lock the node out of its Kubernetes and Talos APIs. Check the policy first."
            )
        ctrl = controllers.resolve(ctx.layout, ctx.answers)
        missing_http = [p for p in ctrl.host_ports if not covered(rules, "world", p)]
        webhook = ctrl.webhook_port  # ingress-nginx's admission webhook; Traefik has none
        want_webhook = bool(webhook) and ctx.answers.webhook_rule and not covered(rules, "cluster", str(webhook))
        if not missing_http and not want_webhook:
            ctx.ws.touch(rel, self.name)
            return sp
        seq_col = (len(_key_indent(text, "ingress")) if "ingress" in text else 2) + doc.indent.offset
        if missing_http:
            rules.append(make_rule(["world", "cluster"], missing_http))
            rules.yaml_set_comment_before_after_key(len(rules) - 1, before="\n" + HTTP_COMMENT, indent=seq_col)
        if want_webhook:
            rules.append(make_rule(["cluster"], [str(webhook)]))
            rules.yaml_set_comment_before_after_key(len(rules) - 1, before="\n" + WEBHOOK_COMMENT, indent=seq_col)
        new = yamlio.render(doc)
        # the lines of the old text not kept as they were (what `diff` would show as removed)
        ops = difflib.SequenceMatcher(None, text.splitlines(), new.splitlines()).get_opcodes()
        removed = [i for op, i1, i2, _, _ in ops if op in ("delete", "replace") for i in range(i1, i2)]
        if removed:
            raise UserError(
                f"Adding the rule to {rel} would also reformat {len(removed)} existing line(s), and "
                "edge-wizard only appends. Add the 80/443 rule by hand (see README, firewall step) "
                "or report this file's layout as a bug."
            )
        ctx.ws.write(rel, new, self.name)
        return sp


def _key_indent(text: str, key: str) -> str:
    for line in text.splitlines():
        stripped = line.lstrip()
        if stripped.startswith(f"{key}:"):
            return line[: len(line) - len(stripped)]
    return "  "
