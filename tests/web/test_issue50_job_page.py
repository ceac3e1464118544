"""The job page follows its job in place (issue 50 item 4, WCAG 2.2.1, F41): no `Refresh`
header, a live region and a visible "Odśwież" link for a browser without scripts, and the JSON
its script asks — behind the page's own gate: nobody signed in gets 401, another person's job
is as if there were none (404), an administrator sees it.

The real browser (focus kept, no reload, the live region's words changing) is in
test_issue50_browser.py."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.conftest import make_vault
from web_helpers import client, signed_in, user

from kustosz import jobs
from kustosz.jobs import JobContext, Threads
from kustosz.vault import Vault
from kustosz.web import jobs_pages


class Steps:
    """A job kind that reports where it is and waits for the test before each next step."""

    def __init__(self) -> None:
        self.reported = threading.Semaphore(0)
        self.go = threading.Semaphore(0)

    def run(self, ctx: JobContext, steps: int) -> dict[str, int]:
        for step in range(steps):
            ctx.progress(step / steps, f"Krok {step + 1} z {steps}")
            self.reported.release()
            assert self.go.acquire(timeout=60)
        return {"steps": steps}


@pytest.fixture
def office(tmp_path: Path) -> Iterator[tuple[Vault, Steps]]:
    vault = make_vault(tmp_path / "vault")
    user(vault, "anna", ["custodian"])
    user(vault, "jan", ["custodian"])
    user(vault, "admin", ["administrator"])
    steps = Steps()
    jobs.register("test.steps", steps.run, title_pl="Sporządzanie kopii nagrań")
    jobs.use(vault, Threads(vault).start())
    try:
        yield vault, steps
    finally:
        for _ in range(10):
            steps.go.release()
        jobs.stop(vault, 30)
        jobs.unregister("test.steps")
        vault.close()


def test_the_page_has_no_refresh_but_a_live_region_and_a_link(
        office: tuple[Vault, Steps]) -> None:
    vault, steps = office
    job_id = jobs.defer(vault, "test.steps", started_by="anna", steps=3)
    assert steps.reported.acquire(timeout=30)
    c = signed_in(vault, "anna")
    r = c.get(f"/jobs/{job_id}")
    assert r.status_code == 200
    assert "refresh" not in {k.lower() for k in r.headers}, r.headers
    assert '<meta http-equiv="refresh"' not in r.text.lower()
    live = re.search(r'<p id="job-said"[^>]*>([^<]*)</p>', r.text)
    assert live, r.text
    assert 'role="status"' in live.group(0) and 'aria-live="polite"' in live.group(0)
    assert live.group(1) == "Krok 1 z 3"
    # without scripts the person reloads by hand; the script follows the job's JSON
    assert re.search(rf'<a href="/jobs/{job_id}">Odśwież</a>', r.text)
    assert f'data-job-poll="/api/jobs/{job_id}"' in r.text
    assert '<script src="/static/job.js" defer></script>' in r.text
    assert "Strona odświeża się sama" not in r.text


def test_the_json_says_what_the_page_says_and_only_to_its_owner(
        office: tuple[Vault, Steps], monkeypatch: pytest.MonkeyPatch) -> None:
    vault, steps = office
    job_id = jobs.defer(vault, "test.steps", started_by="anna", steps=2)
    assert steps.reported.acquire(timeout=30)
    anna = signed_in(vault, "anna")
    state = anna.get(f"/api/jobs/{job_id}").json()
    assert (state["state"], state["percent"], state["said"], state["next"]) == (
        "running", 0, "Krok 1 z 2", None)
    # nobody signed in, and another person of the same role: refused, nothing told
    anon = client(vault).get(f"/api/jobs/{job_id}")
    assert anon.status_code == 401 and "Krok" not in anon.text
    other = signed_in(vault, "jan").get(f"/api/jobs/{job_id}")
    assert other.status_code == 404 and "Krok" not in other.text
    assert signed_in(vault, "jan").get(f"/jobs/{job_id}").status_code == 404
    assert signed_in(vault, "admin").get(f"/api/jobs/{job_id}").status_code == 200

    steps.go.release()
    assert steps.reported.acquire(timeout=30)
    anna.cookies.set("kustosz_lang", "en", domain="testserver.local")
    state = anna.get(f"/api/jobs/{job_id}").json()
    assert (state["percent"], state["said"]) == (50, "Krok 2 z 2")

    # done: the words once, and where the result is (a kind with a result page)
    monkeypatch.setitem(jobs_pages.DONE, "test.steps",
                        lambda view: ("/requests/7", f"Zrobiono {view.result['steps']} kroki."))
    steps.go.release()
    view = jobs.wait(vault, job_id, 30)
    assert view.finished
    anna.cookies.set("kustosz_lang", "pl", domain="testserver.local")
    state = anna.get(f"/api/jobs/{job_id}").json()
    assert state["state"] == "done" and state["percent"] == 100
    assert state["said"] == "Gotowe. Zrobiono 2 kroki."
    assert state["next"].startswith("/requests/7?msg=") and "&sig=" in state["next"]
