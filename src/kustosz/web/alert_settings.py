"""The administrator's page for the alert channels and kinds (issue 14 item 3).

kustosz.toml's [alerts] is the base; what is changed here is stored as whole sections in the
`alerts.settings` row and wins over the file (kustosz.alerts.settings). The page says for
each section where its values come from; "restore from kustosz.toml" drops the changes. The
notifier takes a change in at its next pass. The relay's password is sealed with the vault's
secrets key and never shown back; every change is in the audit log without secrets. The page
names no file: a password or CA file only kustosz.toml names (issue 28 item 6).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from kustosz.alert_channels import CHANNELS
from kustosz.alert_kinds import KINDS
from kustosz.alerts import settings as alert_settings
from kustosz.alerts.channel_registry import NAMES_PL, forms
from kustosz.alerts.channels import PASSWORD_WHAT, REASONS_PL, ChannelError, build
from kustosz.alerts.messages import Message, local
from kustosz.audit import append as audit
from kustosz.web.common import Ctx, flash_of, flash_url, page, redirect
from kustosz.web.gate import gate
from kustosz.web.pages import form_of

router = APIRouter(include_in_schema=False)
ORIGIN_PL = {"toml": "z pliku kustosz.toml", "web": "zmienione na tej stronie"}
GENERAL_PL = "ustawienia ogólne"


def kind_label(key: str) -> str:
    """A kind as the page names it: "Kamera nie nagrywa", never "camera_down"."""
    if key == "other":
        return "Inne alarmy"
    label = KINDS[key].label_pl
    return label[:1].upper() + label[1:]


def section_label(name: str) -> str:
    if name.startswith("kinds.") and name[6:] in KINDS:
        return kind_label(name[6:])
    if name == "general":
        return GENERAL_PL
    return NAMES_PL.get(name, name)  # a channel (kustosz.alert_channels)


def _page(ctx: Ctx, status: int = 200, form: dict[str, str] | None = None,
          errors: dict[str, str] | None = None, results: list[dict[str, str]] | None = None
          ) -> Response:
    with ctx.vault.reading() as s:
        cfg = alert_settings.effective(ctx.vault, s)
        origins = alert_settings.origins(ctx.vault, s)
    in_force = alert_settings.form_of(cfg, ctx.lang)
    channels: list[dict[str, str]] = []
    extra: dict[str, Any] = {}
    secret: set[str] = set()
    for key, channel in forms().items():  # each registered channel's section of the form
        kind = CHANNELS[key]
        title = kind.name_en if ctx.lang == "en" else kind.name_pl
        channels.append({"key": key, "title": title[:1].upper() + title[1:],
                         "template": channel.template})
        extra.update(channel.context(cfg.configured.get(key)))
        secret.update(channel.secret_fields)
    if form is not None:  # what was typed, never a secret
        form = {k: v for k, v in form.items() if k not in secret}
    extra["security"] = [(k, ctx._(v)) for k, v in extra.get("security", [])]
    return page(ctx, "alert_settings.html", status, form=form or in_force, **extra,
                channels=channels, errors=errors or {}, origins=origins, origin_pl=ORIGIN_PL,
                kinds=[(key, ctx._(kind_label(key))) for key in KINDS],
                msg=flash_of(ctx), results=results or [],
                from_web=[section_label(n) for n, o in origins.items() if o == "web"])


@router.get("/admin/alerts")
def alerts_page(ctx: Ctx = gate("admin")) -> Response:
    ctx.need("admin")
    return _page(ctx)


@router.post("/admin/alerts")
async def alerts_save(request: Request, ctx: Ctx = gate("admin")) -> Response:
    """Every problem of the form at once, each at its field; nothing is saved while any."""
    admin = ctx.need("admin")
    form = await form_of(request)
    typed = form.get("email_password", "")
    with ctx.vault.reading() as s:
        current = alert_settings.sections_of(alert_settings.effective(ctx.vault, s))

    def seal(text: str, what: str = PASSWORD_WHAT) -> str:
        return str(ctx.vault.secrets.seal(text, what))

    # off the event loop: a webhook's name is resolved to refuse a local address
    wanted, errors = await run_in_threadpool(alert_settings.parse_form, form, seal, current,
                                             ctx.vault.config.alerts)
    if errors:
        return _page(ctx, 422, form=form, errors={
            **errors, "_form": f"Nic nie zapisano. Popraw pola oznaczone poniżej (błędy: "
                               f"{len(errors)})."})
    with ctx.vault.transaction() as s:
        changed = alert_settings.save(s, ctx.vault, wanted, admin.name,
                                      password_changed=bool(typed) or bool(
                                          form.get("email_password_forget")))
    return redirect(flash_url("/admin/alerts", "Zapisano; zmiany działają w ciągu kilku "
                              "sekund." if changed else "Nic się nie zmieniło."))


@router.post("/admin/alerts/restore")
async def alerts_restore(request: Request, ctx: Ctx = gate("admin")) -> Response:
    admin = ctx.need("admin")
    await form_of(request)
    with ctx.vault.transaction() as s:
        done = alert_settings.restore(s, admin.name)
    return redirect(flash_url("/admin/alerts", "Przywrócono ustawienia z pliku kustosz.toml."
                              if done else "Wszystkie ustawienia już pochodzą z pliku "
                              "kustosz.toml."))


@router.post("/admin/alerts/test")
async def alerts_test(request: Request, ctx: Ctx = gate("admin")) -> Response:
    """A test message through each channel in force (the saved settings, not the form)."""

    admin = ctx.need("admin")
    await form_of(request)
    now = datetime.now(UTC)
    with ctx.vault.reading() as s:
        cfg = alert_settings.effective(ctx.vault, s)
    msg = Message(
        subject="[Kustosz] Wiadomość testowa",
        body=(f"To jest wiadomość testowa wysłana {local(now)} ze strony „Powiadomienia o "
              f"alarmach” przez {admin.name}. Skoro dotarła, alarmy Kustosza docierają tym "
              "kanałem. Nie trzeba nic robić.\n"),
        severity="notice", payload={"kind": "test", "event": "test", "source": None,
                                    "alert_id": None, "at": now.isoformat(),
                                    "subject": "Wiadomość testowa",
                                    "text": "[Kustosz] Wiadomość testowa: alarmy Kustosza "
                                            "docierają tym kanałem."})
    results = []
    for name, channel in build(cfg.channels, ctx.vault.secrets, ctx.vault).items():
        try:
            channel.send(msg)
        except ChannelError as exc:
            results.append({"name": NAMES_PL.get(name, name), "ok": "",
                            "text": REASONS_PL.get(exc.reason, REASONS_PL["error"])})
        except Exception:  # a channel's bug is its failure, shown as such
            results.append({"name": NAMES_PL.get(name, name), "ok": "",
                            "text": REASONS_PL["error"]})
        else:
            results.append({"name": NAMES_PL.get(name, name), "ok": "1",
                            "text": "wiadomość wysłana"})
    with ctx.vault.transaction() as s:
        audit(s, admin.name, "settings.alerts_test", alert_settings.KEY,
              {r["name"]: "sent" if r["ok"] else "failed" for r in results})
    if not results:
        results.append({"name": "—", "ok": "", "text": "żaden kanał nie jest włączony"})
    return _page(ctx, results=results)
