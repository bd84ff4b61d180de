"""Domains and zones without the network: normalise a name, derive the registrable zone, list candidates."""

from __future__ import annotations

import re

from wizard.errors import UserError

__all__ = ["candidate_zones", "check_zone_covers", "derive_zone", "normalize_domain"]

_LABEL_RE = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_TLD_RE = re.compile(r"^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$")

# Common second levels under which registrations happen (heuristic, not the full Public Suffix List).
_PUBLIC_SECOND_LEVELS = frozenset(
    """
    co.uk org.uk ac.uk gov.uk me.uk ltd.uk plc.uk net.uk sch.uk nhs.uk police.uk
    com.au net.au org.au edu.au gov.au asn.au id.au
    co.nz net.nz org.nz ac.nz govt.nz geek.nz school.nz
    co.za org.za net.za web.za gov.za ac.za
    co.jp ne.jp or.jp ac.jp go.jp ad.jp ed.jp gr.jp lg.jp
    com.br net.br org.br gov.br edu.br art.br
    com.tr net.tr org.tr gen.tr biz.tr web.tr av.tr edu.tr gov.tr
    com.cn net.cn org.cn gov.cn edu.cn ac.cn
    com.mx org.mx gob.mx net.mx edu.mx
    com.ar net.ar org.ar gob.ar
    com.sg net.sg org.sg edu.sg gov.sg
    com.hk net.hk org.hk edu.hk gov.hk
    co.in net.in org.in firm.in gen.in ind.in ac.in gov.in
    co.kr or.kr ne.kr ac.kr go.kr re.kr
    co.il org.il net.il ac.il gov.il muni.il
    com.tw net.tw org.tw edu.tw gov.tw idv.tw
    co.th in.th ac.th go.th or.th
    com.my net.my org.my edu.my gov.my
    com.ua net.ua org.ua in.ua kiev.ua
    com.pl net.pl org.pl
    co.at or.at ac.at gv.at
    com.es org.es nom.es edu.es gob.es
    co.id or.id web.id ac.id go.id
    com.vn net.vn org.vn edu.vn gov.vn
    com.ph net.ph org.ph
    com.pk net.pk org.pk
    com.ng org.ng
    com.eg org.eg
    com.sa net.sa org.sa
    co.ke or.ke
    com.co net.co org.co
    com.pe org.pe
    com.ve
    com.uy
    com.ec
    com.gt
    com.pa
    com.do
    com.cy
    com.mt
    com.gr
    com.ru net.ru org.ru
    co.ua
    co.hu
    co.cr
    co.ve
    co.tz
    co.ug
    co.zw
    co.bw
    com.np
    com.bd
    com.lk
    com.qa
    com.kw
    com.bh
    com.om
    com.lb
    com.jo
    com.pt
    """.split()
)

# Generic rule for two-letter country TLDs: these second levels are almost always public suffixes.
_GENERIC_SECOND_LEVELS = frozenset("co com net org ac edu gov govt ne or go gob ltd plc".split())


def normalize_domain(domain: str, *, what: str = "domain") -> str:
    """Lower-case, strip a trailing dot and a leading ``*.``, IDNA-encode and validate.

    Raises ``UserError`` for something that cannot be a DNS name.
    """
    raw = domain
    d = (domain or "").strip().lower()
    if d.startswith("*."):
        d = d[2:]
    d = d.rstrip(".")
    if not d:
        raise UserError(
            f"The {what} is empty. The wizard needs the DNS name the cluster's hosts live under, "
            "for example apps.example.com. Enter a domain and run again."
        )
    if "://" in d or "/" in d or " " in d or "@" in d or ":" in d:
        raise UserError(
            f"The {what} {raw!r} is not a DNS name (it looks like a URL or contains spaces). "
            "external-dns and cert-manager need a bare name such as apps.example.com. Enter just the name and run again."
        )
    try:
        d = d.encode("idna").decode("ascii")
    except UnicodeError:
        raise UserError(
            f"The {what} {raw!r} is not a valid DNS name (it cannot be encoded as IDNA). "
            "Use a name such as apps.example.com and run again."
        ) from None
    labels = d.split(".")
    if len(d) > 253 or not all(_LABEL_RE.match(label) for label in labels):
        raise UserError(
            f"The {what} {raw!r} is not a valid DNS name: each dot-separated part must be 1-63 letters, digits "
            "or hyphens, not starting or ending with a hyphen. Fix the name and run again."
        )
    if len(labels) < 2 or not _TLD_RE.match(labels[-1]):
        raise UserError(
            f"The {what} {raw!r} is not a public DNS name (it needs at least a name and a top-level domain, "
            "e.g. example.com). Public certificates and DNS providers need one. Enter the full name and run again."
        )
    return d


def _public_suffix_len(labels: list[str]) -> int:
    """Number of labels of the (heuristic) public suffix: 1 or 2."""
    if len(labels) >= 2:
        last2 = ".".join(labels[-2:])
        if last2 in _PUBLIC_SECOND_LEVELS:
            return 2
        if len(labels[-1]) == 2 and labels[-2] in _GENERIC_SECOND_LEVELS and len(labels) >= 3:
            return 2
    return 1


def derive_zone(domain: str) -> str:
    """The registrable domain of ``domain`` (no network): last two labels, or three under co.uk & co."""
    d = normalize_domain(domain)
    labels = d.split(".")
    n = _public_suffix_len(labels) + 1
    if len(labels) < n:
        raise UserError(
            f"The domain {d} is a public suffix (like co.uk), not a domain anyone can own. "
            "Enter your own domain, e.g. example.co.uk or apps.example.co.uk, and run again."
        )
    return ".".join(labels[-n:])


def candidate_zones(domain: str) -> list[str]:
    """All suffixes of the domain with at least two labels, longest first (each could be a zone)."""
    labels = normalize_domain(domain).split(".")
    return [".".join(labels[i:]) for i in range(len(labels) - 1)]


def check_zone_covers(domain: str, zone: str) -> None:
    if domain != zone and not domain.endswith("." + zone):
        raise UserError(
            f"The zone {zone} does not contain the domain {domain}. external-dns only writes records inside the zones "
            f"in domainFilters, so records for {domain} would never be created. Use a zone that {domain} ends with "
            f"(for example {derive_zone(domain)}) or leave the zone empty to let the wizard find it."
        )
