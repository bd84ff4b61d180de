"""The step table (wizard.steptable): the same states as planning each step through the engine,
the reason for a blocked step, nothing written, and assets parsed once per process."""

from __future__ import annotations

from pathlib import Path

from wizard import catalog, yamlio
from wizard.engine import Engine
from wizard.steptable import step_table

from support.steptables import engine_states, table


def test_blocked_rows_say_why(guide_repo: Path) -> None:
    rows = {r.step: r for r in table(guide_repo, None)}
    assert rows["external-dns"].state == "blocked"
    assert "domain" in rows["external-dns"].problem and "--answers FILE" in rows["external-dns"].problem
    assert rows["ingress"].state == "new" and rows["ingress"].problem == ""
    assert {r.step: r.state for r in rows.values()} == engine_states(guide_repo, None)


def test_unavailable_steps_are_blocked_without_planning(guide_repo: Path, answers_file: Path) -> None:
    layout, ans = Engine(repo=guide_repo, answers_file=str(answers_file)).load()
    rows = step_table(layout, ans, ["ingress", "firewall"], unavailable={"firewall": "no cluster policy API"})
    assert [(r.step, r.state, r.problem) for r in rows] == [
        ("ingress", "new", ""),
        ("firewall", "blocked", "no cluster policy API"),
    ]


def test_assets_are_parsed_once_and_handed_out_as_copies() -> None:
    catalog._parsed_asset.cache_clear()
    a = catalog.load_asset("manifests/ingress/ingress-nginx.yaml")
    b = catalog.load_asset("manifests/ingress/ingress-nginx.yaml")
    assert catalog._parsed_asset.cache_info().misses == 1
    assert a is not b and a.docs[0] is not b.docs[0]
    fresh = yamlio.parse(catalog.asset_text("manifests/ingress/ingress-nginx.yaml"))
    assert yamlio.render(a) == yamlio.render(fresh)  # comments and layout come along
    a.docs[0]["metadata"]["name"] = "changed"
    assert b.docs[0]["metadata"]["name"] != "changed"
    assert yamlio.render(catalog.load_asset("manifests/ingress/ingress-nginx.yaml")) == yamlio.render(fresh)
