"""The run's flow (wizard.flow.run_flow) driven by a plain consumer of its events: nothing is done
that the consumer did not see, one engine per run while answers change as session values. Real git
over smart HTTP, real age-keygen and sops."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import pytest

from wizard import demo
from wizard import events as ev
from wizard.answers import Answers
from wizard.engine import Engine
from wizard.flow import BACK, Back, Confirm, Options, ReadOnlyDecisions, Review, Services, TokenChecked, run_flow

from support.clones import http_clone
from support.repos import git, snapshot
from support.tools import require_tool


class Yes(ReadOnlyDecisions):
    """`run STEP --yes`: the steps named in the options, every review confirmed."""

    async def confirm(self, review: Review) -> Confirm:
        return Confirm()


async def _until(events, stop) -> list[ev.Event]:
    """Consume ``events`` up to and including the first one ``stop`` accepts, then stop consuming."""
    seen: list[ev.Event] = []
    async for e in events:
        seen.append(e)
        if stop(e):
            break
    await events.aclose()
    return seen


# -- nothing is done that the consumer did not see -----------------------------------------------
async def test_the_consumer_stops_between_two_written_files(tmp_path: Path, answers_file: Path) -> None:
    """The consumer stops right after the first FileWritten: the run goes no further. The plan's
    files are one transaction (all of them are on disk, whole, when the first FileWritten comes;
    README "Safety"), so the second file's FileWritten is never produced, and nothing after the
    writes happens: no commit, nothing staged, nothing pushed, the run's lock released."""
    with http_clone(tmp_path) as clone:
        head = clone.head()
        before = snapshot(clone.repo)
        options = Options(repo=str(clone.repo), answers_file=str(answers_file), steps=("firewall", "cert-manager"))
        seen = await _until(run_flow(Services(), Yes(), options), lambda e: isinstance(e, ev.FileWritten))

        [ready] = [e for e in seen if isinstance(e, ev.PlanReady)]
        assert len(ready.files) >= 2, ready.files
        assert [e.path for e in seen if isinstance(e, ev.FileWritten)] == [ready.files[0]]
        assert not any(isinstance(e, ev.Committed | ev.Pushed | ev.Done | ev.Failed) for e in seen)
        assert clone.head() == head and clone.remote_head() == head, "a commit the consumer never saw"
        assert git(clone.repo, "diff", "--cached", "--name-only") == "", "the index changed"
        after = snapshot(clone.repo)
        assert {p for p in after if before.get(p) != after[p]} == set(ready.files)  # the transaction, whole
        assert not (clone.repo / ".git/edge-wizard.lock").exists()
        assert not list(clone.repo.rglob("*.tmp"))

        # and the next run commits exactly what the stopped one wrote
        done = [e async for e in run_flow(Services(), Yes(), dataclasses.replace(options, watch=False))][-1]
        assert isinstance(done, ev.Done) and done.outcome == "pushed", done
        assert clone.remote_head() == clone.head() != head
        assert set(git(clone.repo, "show", "--name-only", "--format=", "HEAD").split()) == set(ready.files)


async def test_the_consumer_stops_after_the_age_key_and_no_repository_file_is_written(
    tmp_path: Path, answers_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two writes that are not one transaction: the age key (outside the repository), then the
    repository's files. Stopping right after the event that reports the key leaves the repository
    exactly as it was."""
    require_tool("age-keygen")
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    key = Path.home() / ".config/sops/age/keys.txt"
    with http_clone(tmp_path, style="2024") as clone:
        head = clone.head()
        before = snapshot(clone.repo)
        options = Options(
            repo=str(clone.repo), answers_file=str(answers_file), steps=("prerequisites", "firewall"), cluster=False
        )
        created = lambda e: isinstance(e, ev.Info) and e.message.startswith("Created the age key")  # noqa: E731
        seen = await _until(run_flow(Services(), Yes(), options), created)

        assert created(seen[-1]) and key.is_file()
        assert not any(isinstance(e, ev.FileWritten) for e in seen)
        assert snapshot(clone.repo) == before
        assert clone.head() == head and clone.status() == ""


# -- one engine per run; a changed answer is a session value -----------------------------------------
async def test_one_engine_is_loaded_once_per_run_while_the_answers_change(tmp_path: Path) -> None:
    """The zone the provider names and the smoke test's issuer (staging, then production) change
    the answers during the run; the engine is made and loaded once, and what is written carries
    each change (the state file's zone; the issuer in two commits)."""
    require_tool("sops")
    require_tool("age-keygen")
    box = demo.make_sandbox(tmp_path)
    assert box.encryption
    made: list[Engine] = []
    loads: list[int] = []

    class Counted(Engine):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

        def load(self):
            loads.append(1)
            return super().load()

    def names_a_zone(answers: Answers, token: str, strict: bool = True) -> TokenChecked:
        return TokenChecked((ev.Info("token checked"),), zone="k8s.example.com")

    head = git(box.repo, "rev-parse", "HEAD")
    services = dataclasses.replace(box.services(0), engine=Counted, check_token=names_a_zone)
    with pytest.MonkeyPatch.context() as mp:
        for key, value in box.env().items():
            mp.setenv(key, value)
        events = [e async for e in run_flow(services, demo.AutoDecisions(), box.options(skip_staging=False))]

    done = events[-1]
    assert isinstance(done, ev.Done) and done.outcome == "proven", events[-3:]
    assert len(made) == 1 and len(loads) == 1
    assert any(isinstance(e, ev.Info) and "in the zone k8s.example.com" in e.message for e in events)
    assert git(box.repo, "rev-list", "--count", f"{head}..HEAD") == "2"
    state = (box.repo / ".edge-wizard.yaml").read_text()
    assert "zone: k8s.example.com\n" in state and "smoke_test_issuer: letsencrypt-production\n" in state
    first = git(box.repo, "show", "HEAD~1:manifests/infrastructure/smoke-test/podinfo.yaml")
    assert "letsencrypt-staging" in first
    assert "letsencrypt-production" in (box.repo / "manifests/infrastructure/smoke-test/podinfo.yaml").read_text()


# -- going back starts again from the values before -------------------------------------------------
class _BackOnce(demo.AutoDecisions):
    """A person who picks every step, goes back from the review, and leaves the smoke test out."""

    interactive = True

    def __init__(self) -> None:
        self.picks = self.reviews = 0

    async def steps(self, rows: Sequence[ev.StepRow]) -> list[str]:
        self.picks += 1
        runnable = [r.step for r in rows if r.state != "blocked"]
        return runnable if self.picks == 1 else [s for s in runnable if s != "smoke-test"]

    async def confirm(self, review: Review) -> Confirm | Back:
        self.reviews += 1
        return BACK if self.reviews == 1 else Confirm()


async def test_back_from_the_review_forgets_what_the_later_stages_chose(tmp_path: Path) -> None:
    """The first pass chose staging first for the smoke test (it would be proven); back at the
    steps the smoke test is left out, and nothing of the first pass is written: the state file
    keeps the production issuer and the run proves nothing."""
    box = demo.make_sandbox(tmp_path, encryption=False)
    decisions = _BackOnce()
    events = [e async for e in run_flow(box.services(0), decisions, box.options(skip_staging=False))]

    assert decisions.reviews == 2 and decisions.picks == 2
    assert any(isinstance(e, ev.Info) and "letsencrypt-staging first" in e.message for e in events)
    done = events[-1]
    assert isinstance(done, ev.Done) and done.outcome == "reconciled", done
    assert not any(isinstance(e, ev.Proof) for e in events)
    state = (box.repo / ".edge-wizard.yaml").read_text()
    assert "smoke_test_issuer: letsencrypt-production\n" in state and "smoke-test" not in state


# -- a repository with several clusters --------------------------------------------------------------
class AskedCluster(ReadOnlyDecisions):
    """An interactive front end that picks ``choice`` when asked for the cluster and declines the review."""

    interactive = True

    def __init__(self, choice: str) -> None:
        self.choice = choice
        self.asked: list[tuple[str, str]] = []

    async def cluster(self, clusters: Sequence[tuple[str, str]]) -> str:
        self.asked = list(clusters)
        return self.choice


async def test_interactive_front_ends_are_asked_for_the_cluster(tmp_path: Path) -> None:
    """The official example holds two clusters: an interactive run asks which one (each with what Flux
    starts from) and then plans that cluster's steps; a run that names one is not asked."""
    from support.realrepos import OFFICIAL_OLD, copy_real_repo, fixtures_dir

    if fixtures_dir() is None:
        pytest.skip("../shared/fixtures/real-repos is missing")
    root = copy_real_repo(OFFICIAL_OLD, tmp_path / "repo")
    answers = tmp_path / "answers.yaml"
    answers.write_text("domain: k8s.example.com\nemail: ops@example.com\ndns_provider: hetzner\n")
    decisions = AskedCluster("staging")
    options = Options(repo=str(root), answers_file=str(answers), steps=("cert-manager",))
    events = [e async for e in run_flow(Services(), decisions, options)]
    assert [name for name, _ in decisions.asked] == ["production", "staging"]
    assert "clusters/staging/flux-system/gotk-sync.yaml" in dict(decisions.asked)["staging"]
    assert isinstance(events[-1], ev.Done) and events[-1].outcome == "declined", events[-1]
    notes = " ".join(e.message for e in events if isinstance(e, ev.Migration))
    assert "infra-controllers" in notes  # staging's cert-manager, adopted where its cluster applies it

    named = AskedCluster("production")
    options = dataclasses.replace(options, overrides={"cluster": "staging"})
    events = [e async for e in run_flow(Services(), named, options)]
    assert named.asked == [] and isinstance(events[-1], ev.Done)
