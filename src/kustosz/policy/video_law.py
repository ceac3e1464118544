"""The closed lists of Kodeks pracy art. 22²: the purposes video monitoring may serve (§1)
and the kinds of rooms it may, may not (§2) and never (§1¹) cover. The office's policy picks
its own subset of them (policy.video); the camera register checks cameras against both.
Codes are stored; the Polish wording goes on documents and the UI."""

from __future__ import annotations

from kustosz.kinds import SourceKind
from kustosz.policy.periods import Period

# art. 22² §1 — code: Polish wording for documents and the UI.
PURPOSES: dict[str, str] = {
    "employee_safety": "zapewnienie bezpieczeństwa pracowników",
    "property": "ochrona mienia",
    "production_control": "kontrola produkcji",
    "secrecy": "zachowanie w tajemnicy informacji, których ujawnienie mogłoby narazić "
               "pracodawcę na szkodę",
}

ALLOWED_ZONE_KINDS: dict[str, str] = {
    # Not among the rooms of art. 22² §2: forbidden only where the office's regulation
    # excludes it (003 §1.2: "pomieszczeń socjalnych").
    "social_room": "pomieszczenie socjalne",
    "corridor": "korytarz",
    "staircase": "klatka schodowa",
    "entrance": "wejście",
    "customer_hall": "sala obsługi klienta",
    "outdoor": "teren wokół budynku",
    "parking": "parking",
    "server_room": "serwerownia",
    "archive": "archiwum",
    "ordinary": "inne pomieszczenie",
}
# Art. 22² §2: rooms monitoring does not cover unless necessary and unrecognisable.
FORBIDDEN_ZONE_KINDS: dict[str, str] = {
    "sanitary": "pomieszczenie sanitarne",
    "changing_room": "szatnia",
    "canteen": "stołówka",
    "smoking_room": "palarnia",
}
# Art. 22² §1¹ (added 4 May 2019): "Monitoring nie obejmuje pomieszczeń udostępnionych
# zakładowej organizacji związkowej" — no exception opens them, whatever the purpose.
BANNED_ZONE_KINDS: dict[str, str] = {
    "union_room": "pomieszczenie udostępnione zakładowej organizacji związkowej",
}
ZONE_KINDS = {**ALLOWED_ZONE_KINDS, **FORBIDDEN_ZONE_KINDS, **BANNED_ZONE_KINDS}

# Kodeks pracy art. 22² §3: video recordings are kept no longer than 3 months from the day of
# recording. That is the only statutory cap: art. 22³ §3 applies art. 22² §6–10 (not §3) to
# e-mail monitoring and art. 22³ §4 extends art. 22³ §1–3 to other forms (IT activity), so
# mailbox and endpoint material, like calls, is bounded by the office's own regulation alone.
STATUTORY_MAX = {SourceKind.CAMERA.value: Period(3, "months")}
