"""The proof of kustosz.jobs end to end: a request's copy made from the web page is a job. Where
no worker runs (the web tests' client) it is made in the request, exactly as before; under
serve it is made by serve's worker (threads on SQLite, the shared queue on PostgreSQL) and the
person waits on a page that shows how far it got, then lands on the request's page with the
same message as before. What refuses a copy is refused before anything is queued."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from kustosz import jobs
from kustosz.custody.copies import make_copy
from kustosz.db.custody import Copy
from kustosz.db.jobs import JobState
from kustosz.jobs import Threads
from kustosz.jobs.queue import QueueWorker
from kustosz.vault import Vault
from kustosz.web import jobs_pages
from tests.conftest import snapshot
from tests.web.web_helpers import (
    Material,
    csrf_of,
    make_material,
    signed_in,
    undecided_request,
    user,
)


def _approved(m: Material) -> int:
    from datetime import UTC, datetime

    from kustosz.custody.decisions import decide

    req_id = undecided_request(m)
    with m.vault.transaction() as s:
        decide(s, m.vault.policy, req_id, by="burmistrz", agree=True,
               on=datetime.now(UTC).astimezone(m.vault.policy.timezone).date(), actor="test",
               keyed_by="burmistrz")
    return req_id


def _copy_of(vault: Vault, req_id: int) -> Copy | None:
    with vault.reading() as s:
        return s.execute(select(Copy).where(Copy.request_id == req_id)).scalar_one_or_none()


def _jobs(vault: Vault) -> list[tuple[object, ...]]:
    with vault.engine.connect() as conn:
        return [tuple(r) for r in conn.exec_driver_sql("SELECT id, kind, state FROM jobs")]


@pytest.fixture
def m(tmp_path: Path) -> Iterator[Material]:
    from tests.web.web_helpers import both_vault

    vault = both_vault(tmp_path / "vault")
    yield make_material(vault, tmp_path)
    jobs.stop(vault, 10)
    vault.close()


def test_without_a_worker_the_copy_is_made_in_the_request_as_before(m: Material) -> None:
    req_id = _approved(m)
    c = signed_in(m.vault, "informatyk")
    r = c.post(f"/requests/{req_id}/copy", data={"csrf": csrf_of(m.vault, c)},
               follow_redirects=False)
    copy = _copy_of(m.vault, req_id)
    assert r.status_code == 303 and copy is not None
    page = c.get(r.headers["location"])
    assert f"Sporządzono kopię nr {copy.number}." in page.text
    [(job_id, kind, state)] = _jobs(m.vault)
    assert (kind, state) == ("copy.make", "done")
    view = jobs.get(m.vault, int(job_id))  # type: ignore[call-overload]
    assert view.result["number"] == copy.number and view.started_by == "informatyk"
    assert (view.progress, view.note) == (1.0, "Podpisywanie i zapisywanie kopii")


def test_under_serve_the_person_waits_on_a_page_then_lands_on_the_request(
        m: Material, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jobs_pages, "SETTLE_S", 0.0)  # a copy never ends within no time
    runner = Threads(m.vault)  # serve's worker, its threads not started yet
    jobs.use(m.vault, runner)
    req_id = _approved(m)
    c = signed_in(m.vault, "informatyk")
    r = c.post(f"/requests/{req_id}/copy", data={"csrf": csrf_of(m.vault, c)},
               follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/jobs/")
    job_url = r.headers["location"]
    waiting = c.get(job_url, follow_redirects=False)
    # never reloaded (issue 50 item 4): its script asks the job's JSON
    assert waiting.status_code == 200 and "refresh" not in waiting.headers
    assert f'data-job-poll="/api{job_url}"' in waiting.text
    assert "Sporządzanie kopii nagrań" in waiting.text
    assert "Zadanie czeka na rozpoczęcie." in waiting.text and 'value="0"' in waiting.text
    assert _copy_of(m.vault, req_id) is None
    english = signed_in(m.vault, "informatyk")
    english.cookies.set("kustosz_lang", "en", domain="testserver.local")
    assert "Making the copy of the recordings" in english.get(job_url).text
    # Someone else does not see it (it names a case).
    user(m.vault, "drugi", ["custodian"])
    assert signed_in(m.vault, "drugi").get(job_url).status_code == 404
    runner.start()
    view = jobs.wait(m.vault, int(job_url.rsplit("/", 1)[1]), 60)
    assert view.state == JobState.DONE
    state = c.get(f"/api{job_url}").json()  # the same for automation
    assert (state["kind"], state["state"], state["progress"], state["attempts"]) == (
        "copy.make", "done", 1.0, 1)
    assert state["result"]["number"] == view.result["number"] and state["error"] is None
    assert signed_in(m.vault, "drugi").get(f"/api{job_url}").status_code == 404
    done = c.get(job_url, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].startswith(
        f"/requests/{req_id}?msg=")
    copy = _copy_of(m.vault, req_id)
    assert copy is not None
    assert f"Sporządzono kopię nr {copy.number}." in c.get(done.headers["location"]).text


def test_a_copy_that_fails_in_the_worker_shows_why_on_the_page(
        m: Material, monkeypatch: pytest.MonkeyPatch) -> None:
    """Queued, then copied by the command line before the worker got to it: the job fails
    with the same words the page gave when the copy was made in the request."""
    monkeypatch.setattr(jobs_pages, "SETTLE_S", 0.0)
    runner = Threads(m.vault)
    jobs.use(m.vault, runner)
    req_id = _approved(m)
    c = signed_in(m.vault, "informatyk")
    r = c.post(f"/requests/{req_id}/copy", data={"csrf": csrf_of(m.vault, c)},
               follow_redirects=False)
    job_url = r.headers["location"]
    made = make_copy(m.vault, req_id, by="informatyk", actor="cli")
    runner.start()
    view = jobs.wait(m.vault, int(job_url.rsplit("/", 1)[1]), 60)
    assert (view.state, view.attempts) == (JobState.FAILED, 1)  # a refusal is not retried
    failed = c.get(job_url, follow_redirects=False)
    assert failed.status_code == 200 and "refresh" not in failed.headers
    assert f"Do wniosku nr {req_id} sporządzono już kopię nr {made.number}." in failed.text
    assert f'href="/requests/{req_id}"' in failed.text


def test_what_refuses_a_copy_is_refused_before_anything_is_queued(m: Material) -> None:
    jobs.use(m.vault, Threads(m.vault))  # not started: nothing would run it anyway
    req_id = undecided_request(m)
    c = signed_in(m.vault, "informatyk")
    before = snapshot(m.vault)
    r = c.post(f"/requests/{req_id}/copy", data={"csrf": csrf_of(m.vault, c)})
    assert r.status_code == 422 and "nie został jeszcze rozpatrzony" in r.text
    assert _jobs(m.vault) == [] and snapshot(m.vault) == before


@pytest.mark.pg
def test_on_the_shared_queue_the_copy_is_made_by_a_worker(pg_database: str,
                                                          tmp_path: Path) -> None:
    from tests.web.web_helpers import both_vault

    vault = both_vault(tmp_path / "vault", pg_database)
    try:
        m = make_material(vault, tmp_path)
        worker = QueueWorker(vault, name="node-a", poll_s=0.2).start()
        jobs.use(vault, worker)
        req_id = _approved(m)
        c = signed_in(vault, "informatyk")
        r = c.post(f"/requests/{req_id}/copy", data={"csrf": csrf_of(vault, c)},
                   follow_redirects=False)
        assert r.status_code == 303
        if r.headers["location"].startswith("/jobs/"):  # slower than SETTLE_S: wait for it
            view = jobs.wait(vault, int(r.headers["location"].rsplit("/", 1)[1]), 60)
            assert view.state == JobState.DONE
            r = c.get(r.headers["location"], follow_redirects=False)
        copy = _copy_of(vault, req_id)
        assert copy is not None
        assert f"Sporządzono kopię nr {copy.number}." in c.get(r.headers["location"]).text
        with vault.engine.connect() as conn:  # procrastinate ran it and forgot it
            assert conn.exec_driver_sql("SELECT count(*) FROM procrastinate_jobs").scalar() == 0
    finally:
        jobs.stop(vault, 10)
        vault.close()


def test_the_api_makes_the_copy_through_the_same_job(
        m: Material, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a worker: 201 with the copy and its job, as before. Under serve, a copy not made
    within the settle time: 202 with the job's address, whose state ends done with the copy;
    asked again, the refusal (copied already) is 422 with nothing queued."""
    req_id = _approved(m)
    c = signed_in(m.vault, "informatyk", api=True)
    r = c.post("/api/copies", json={"request": req_id})
    assert r.status_code == 201, r.text
    made = r.json()
    [(job_id, kind, state)] = _jobs(m.vault)
    assert (made["job"], kind, state) == (job_id, "copy.make", "done")
    assert jobs.get(m.vault, made["job"]).result["number"] == made["number"]

    other = _approved(m)
    monkeypatch.setattr(jobs_pages, "SETTLE_S", 0.0)
    runner = Threads(m.vault)  # serve's worker, its threads not started yet
    jobs.use(m.vault, runner)
    r = c.post("/api/copies", json={"request": other})
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["state"] == "queued" and body["url"] == f"/api/jobs/{body['job']}"
    assert r.headers["location"] == body["url"] and _copy_of(m.vault, other) is None
    runner.start()
    jobs.wait(m.vault, body["job"], 60)
    state = c.get(body["url"]).json()
    copy = _copy_of(m.vault, other)
    assert copy is not None and (state["state"], state["result"]["number"]) == (
        "done", copy.number)
    before = _jobs(m.vault)
    again = c.post("/api/copies", json={"request": other})
    assert again.status_code == 422 and again.json()["detail"][0]["loc"][-1] == "request"
    assert _jobs(m.vault) == before


def test_the_command_line_makes_the_copy_through_the_same_job(m: Material) -> None:
    from typer.testing import CliRunner

    from kustosz.cli import app

    req_id = _approved(m)
    result = CliRunner().invoke(app, ["--data", str(m.vault.root), "copies", "make",
                                      str(req_id), "--by", "informatyk", "--no-playable"],
                                env={"KUSTOSZ_ACTOR": "informatyk"})
    assert result.exit_code == 0, result.output
    copy = _copy_of(m.vault, req_id)
    assert copy is not None and result.output.startswith(f"copy {copy.number} made: ")
    [(job_id, kind, state)] = _jobs(m.vault)
    view = jobs.get(m.vault, int(job_id))  # type: ignore[call-overload]
    assert (kind, state, view.started_by) == ("copy.make", "done", "informatyk")
    assert view.args["playable"] is False and view.result["number"] == copy.number
    refused = CliRunner().invoke(app, ["--data", str(m.vault.root), "copies", "make",
                                       str(req_id), "--by", "informatyk"],
                                 env={"KUSTOSZ_ACTOR": "informatyk"})
    assert refused.exit_code == 2 and "error:" in refused.output and "błąd:" in refused.output
    assert len(_jobs(m.vault)) == 1  # refused before anything was queued
