"""What an administrator sees of the recording server (issue 35 item 5): in `/metrics` the
calls recorded now per line — a count, never who — and the sessions since serve started by
outcome; on the dashboard the same count. Read with prometheus-client's own parser."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from tests.cameras.camera_helpers import wait_for
from tests.siprec.siprec_helpers import recording_server, wait_for_calls
from tests.support.siprec import SipClient, metadata, multipart, offer, status_of, to_tag_of
from tests.web.web_helpers import signed_in, user

from kustosz.ingest.phone.siprec import status
from kustosz.vault import Vault
from kustosz.web.metrics import VaultCollector


def scrape(vault: Vault) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    registry = CollectorRegistry()
    registry.register(VaultCollector(vault))
    out: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        for sample in family.samples:
            out.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = \
                sample.value
    return out


def test_the_calls_recorded_now_are_counted_per_line_and_never_named(office: Vault) -> None:
    metrics = scrape(office)
    assert "kustosz_siprec_sessions_active" not in metrics  # no server: no family
    line_up = [v for labels, v in metrics["kustosz_source_up"].items()
               if ("kind", "phone") in labels]
    assert line_up == [0.0]  # nobody listens for its SBC
    with recording_server(office) as srs:
        client = SipClient(srs.port)
        answer = client.request("INVITE", "now", *multipart(
            ("application/sdp", offer()),
            ("application/rs-metadata+xml", metadata(caller="+48600700800"))))
        tag = to_tag_of(answer)
        client.ack("now", tag)
        refused = client.request("INVITE", "bad", *multipart(("application/sdp", offer())))
        assert status_of(refused) == 400
        wait_for(lambda: status.current().active == {"sbc": 1}, 10, "the count")
        metrics = scrape(office)
        assert metrics["kustosz_siprec_sessions_active"] == {(): 1.0}
        assert [v for labels, v in metrics["kustosz_source_up"].items()
                if ("kind", "phone") in labels] == [1.0]
        totals = metrics["kustosz_siprec_sessions_total"]
        assert totals[(("outcome", "recorded"),)] == 1.0
        assert totals[(("outcome", "refused"),)] == 1.0
        text = str(metrics)
        assert "600700800" not in text and "Jan" not in text  # never who
        assert status_of(client.request("BYE", "now", to_tag=tag, cseq=2)) == 200
        wait_for(lambda: status.current().active == {}, 10, "the call's end")
        assert scrape(office).get("kustosz_siprec_sessions_active", {}) == {(): 0.0}
        client.close()
    wait_for_calls(office, 1)
    assert not status.current().listening


def test_the_dashboard_counts_the_calls_recorded_now_in_polish_and_names_nobody(
        office: Vault) -> None:
    user(office, "admin", ["administrator"])
    page = signed_in(office, "admin")
    assert 'id="siprec"' not in page.get("/").text  # no recording server in this process
    with recording_server(office) as srs:
        client = SipClient(srs.port)
        tags = {}
        for n in range(2):
            answer = client.request("INVITE", f"c{n}", *multipart(
                ("application/sdp", offer()),
                ("application/rs-metadata+xml", metadata(caller="+48600700800"))))
            tags[f"c{n}"] = to_tag_of(answer)
            client.ack(f"c{n}", tags[f"c{n}"])
        wait_for(lambda: status.current().active == {"sbc": 2}, 10, "two calls")
        html = page.get("/").text
        assert "Teraz nagrywane są 2 rozmowy." in html and "<li>sbc: 2</li>" in html
        assert "600700800" not in html
        for call_id, tag in tags.items():
            client.request("BYE", call_id, to_tag=tag, cseq=2)
        wait_for(lambda: status.current().active == {}, 10, "the calls' end")
        assert "Teraz nagrywanych jest 0 rozmów." in page.get("/").text
        client.close()
