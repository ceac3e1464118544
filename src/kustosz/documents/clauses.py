"""Information clauses (RODO art. 13) per office and source kind, worded as each office's
regulation words its own clause [001 zał. 1; 002 zał. 2; 003 zał. 1; 004 klauzula with §2 and
§8], with the office's facts (controller, addresses, phones, the DPO, purposes, legal basis)
from the policy's [documents] table. Elbląg's regulation has no clause: its points come from
000 §1. An office edits a clause by overriding the template (templates/clause.typ) or its
[documents] values; a value it has not set prints as a dotted line to fill in."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kustosz.documents.office import BLANK, fact, own_texts, purposes, refuse_unless
from kustosz.errors import InputError
from kustosz.kinds import CLAUSED, SourceKind
from kustosz.policy import Policy
from kustosz.words import listing, period_gen, period_pl

INTRO = ("Zgodnie z art. 13 Rozporządzenia Parlamentu Europejskiego i Rady (UE) 2016/679 z dnia "
          "27 kwietnia 2016 r. w sprawie ochrony osób fizycznych w związku z przetwarzaniem "
          "danych osobowych i w sprawie swobodnego przepływu takich danych oraz uchylenia "
          "dyrektywy 95/46/WE (ogólne rozporządzenie o ochronie danych, dalej: RODO) "
          "informujemy, że:")

# The kinds a clause is printed for, and their names in the genitive ("Dane z …").
KIND_PL = {k.name.value: k.clause_pl for k in CLAUSED if k.clause_pl}


# Pleszew's clause words its purposes in its own sentence (002 zał. 2 pkt 3) rather than as a
# [documents] list; the same words serve its clause and its answers to data subjects.
PLESZEW_AIMS = ("zapewnienia porządku publicznego oraz bezpieczeństwa użytkowników obiektu (ze "
                "szczególnym uwzględnieniem pracowników i klientów urzędu), ochrony mienia oraz "
                "zachowania w tajemnicy informacji, których ujawnienie mogłoby narazić "
                "pracodawcę na szkody")


def _aims(policy: Policy) -> str:
    if policy.preset == "pleszew" and own_texts(policy) and not purposes(policy):
        return PLESZEW_AIMS
    return listing(purposes(policy)) or BLANK


def _pleszew(p: Policy) -> list[str]:
    """002 zał. 2 — the sign's model, which is also the office's clause (zał.5 §5.2–5.3)."""
    period = p.retention_for(SourceKind.CAMERA)
    return [
        f"Administratorem Pani/Pana danych osobowych jest {fact(p, 'controller')} z siedzibą "
        f"przy {fact(p, 'address')}, tel.: {fact(p, 'phone')}.",
        "W sprawie ochrony danych osobowych można skontaktować się z Inspektorem Ochrony Danych "
        f"pod adresem mail: {fact(p, 'dpo_email')}.",
        "Pani/Pana dane osobowe utrwalone na nagraniach obrazu przetwarzane będą w celu "
        "wypełnienia obowiązku prawnego ciążącego na administratorze i są niezbędne do "
        "wykonania zadania realizowanego w interesie publicznym lub w ramach sprawowania "
        "władzy publicznej powierzonej administratorowi, jakim jest zapewnienie porządku "
        "publicznego oraz bezpieczeństwa użytkowników obiektu (ze szczególnym uwzględnieniem "
        "pracowników i klientów urzędu), ochrony mienia oraz zachowania w tajemnicy "
        "informacji, których ujawnienie mogłoby narazić pracodawcę na szkody, na podstawie "
        f"{fact(p, 'basis')}.",
        f"Monitoring wizyjny funkcjonuje całodobowo i obejmuje: {fact(p, 'monitored')}.",
        "Nagrania obrazu z monitoringu wizyjnego będą przetwarzane do realizacji celów "
        f"wskazanych wyżej przez okres nieprzekraczający {period_pl(period)} od dnia nagrania, "
        "po tym czasie dane ulegają automatycznemu usunięciu poprzez nadpisanie danych. "
        "Nagranie obrazu stanowiące dowód w postępowaniu prowadzonym na podstawie przepisów "
        "prawa może być przechowywane do czasu wyjaśnienia sprawy, a następnie podlega "
        "zniszczeniu.",
        "Pani/Pana dane osobowe mogą być udostępniane wyłącznie podmiotom uprawnionym do "
        "uzyskania danych osobowych na podstawie przepisów prawa oraz podmiotom realizującym "
        "usługi w imieniu i na rzecz administratora.",
        "Przysługuje Pani/Panu prawo dostępu do swoich danych osobowych, ich sprostowania, a w "
        "określonych prawnie przypadkach również prawo do ograniczenia przetwarzania. "
        "Realizacja powyższych uprawnień musi być zgodna z przepisami prawa, na podstawie "
        "których odbywa się przetwarzanie danych.",
        "Przysługuje Pani/Panu prawo wniesienia skargi do Prezesa Urzędu Ochrony Danych "
        "Osobowych, gdy uzna Pani/Pan, że przetwarzanie Pani/Pana danych osobowych narusza "
        "przepisy ogólnego rozporządzenia o ochronie danych osobowych (RODO).",
        "Pani/Pana dane osobowe nie będą przekazywane do państwa trzeciego/organizacji "
        "międzynarodowej, nie będą przetwarzane w sposób zautomatyzowany i nie będą podlegały "
        "profilowaniu.",
    ]


def _boleslawiec(p: Policy) -> list[str]:
    """001 zał. 1, points 1–10."""
    period = p.retention_for(SourceKind.PHONE)
    return [
        f"Administratorem Państwa danych osobowych jest {fact(p, 'controller')} z siedzibą "
        f"przy {fact(p, 'address')}, reprezentowana przez {p.names.approver_acc}.",
        f"Inspektorem ochrony danych jest {fact(p, 'dpo')} (kontakt: {fact(p, 'dpo_address')}, "
        f"telefon {fact(p, 'dpo_phone')}, e-mail {fact(p, 'dpo_email')}).",
        f"Państwa dane osobowe przetwarzane będą w celu {_aims(p)} na podstawie "
        f"{fact(p, 'basis')}, oznaczającego, że osoba, której dane dotyczą, wyraziła zgodę na "
        "przetwarzanie swoich danych osobowych. Kontynuacja połączenia telefonicznego po "
        "wysłuchaniu komunikatu oznacza wyraźne działanie potwierdzające zgodę na "
        "przetwarzanie danych osobowych.",
        "Odbiorcą Państwa danych osobowych będą wyłącznie podmioty uprawnione do uzyskania "
        "danych osobowych na podstawie przepisów prawa.",
        "Państwa dane osobowe nie będą przekazywane do państwa trzeciego/organizacji "
        "międzynarodowej.",
        f"Państwa dane osobowe będą przechowywane przez okres {period_gen(period)} od "
        "nagrania.",
        "Posiadają Państwo prawo dostępu do treści swoich danych oraz prawo ich sprostowania, "
        "usunięcia, ograniczenia przetwarzania, prawo do przenoszenia danych, prawo wniesienia "
        "sprzeciwu wobec przetwarzania i cofnięcia zgody w dowolnym momencie bez wpływu na "
        "zgodność z prawem przetwarzania, którego dokonano na podstawie zgody przed jej "
        "cofnięciem.",
        "Mają Państwo prawo wniesienia skargi do Prezesa Urzędu Ochrony Danych Osobowych "
        "(UODO), gdy uznają Państwo, iż przetwarzanie Państwa danych osobowych narusza przepisy "
        "ogólnego rozporządzenia o ochronie danych osobowych z dnia 27 kwietnia 2016 r.",
        "Podanie przez Państwa danych osobowych jest dobrowolne, ale konieczne do "
        "przeprowadzenia rozmowy telefonicznej.",
        "Państwa dane nie będą przetwarzane w sposób zautomatyzowany, w tym również w formie "
        "profilowania.",
    ]


def _walbrzych(p: Policy) -> list[str]:
    """004 klauzula informacyjna, points 1–5, with what the regulation adds to it: the
    administrator's seat, postcode and phone (§2 ust. 1), the DPO's address (§2 ust. 2), the
    rights (§8 ust. 3) and the complaint (§8 ust. 4)."""
    period = p.retention_for(SourceKind.PHONE)
    return [
        f"Administratorem systemu rejestracji rozmów telefonicznych jest "
        f"{fact(p, 'controller')} z siedzibą przy {fact(p, 'address')}, tel. "
        f"{fact(p, 'phone')}. Rejestracja rozmów telefonicznych prowadzona jest w celu "
        f"{_aims(p)}.",
        f"Podstawą przetwarzania danych pozyskanych w wyniku rejestracji rozmów telefonicznych "
        f"jest {fact(p, 'basis')}, czyli: zgoda osoby, której dane dotyczą, wyrażona poprzez "
        "nieprzerwanie połączenia telefonicznego pomimo komunikatu o rejestracji rozmowy; "
        "wypełnienie obowiązku prawnego ciążącego na administratorze; ochrona żywotnych "
        "interesów osoby, której dane dotyczą, lub innej osoby fizycznej; wykonywanie zadań "
        "realizowanych w interesie publicznym lub w ramach sprawowania władzy publicznej "
        "powierzonej administratorowi; wypełnianie obowiązków i wykonywanie szczególnych praw "
        "przez administratora lub osobę, której dane dotyczą, w dziedzinie np. zabezpieczenia "
        "społecznego i ochrony socjalnej.",
        "Kontynuowanie połączenia telefonicznego pomimo komunikatu o rejestracji rozmowy "
        "telefonicznej spowoduje automatyczne pozyskanie danych osobowych.",
        f"Zapisy rozmów telefonicznych przechowywane będą przez okres do {period_gen(period)}. "
        "Odbiorcami Pani/Pana danych osobowych będą wyłącznie podmioty uprawnione do "
        "uzyskania danych osobowych na podstawie przepisów prawa. W przypadku, w którym "
        "nagranie stanowi dowód w postępowaniu prowadzonym na podstawie prawa lub pozyskano "
        "informację, że może ono stanowić dowód w postępowaniu, termin ten ulega przedłużeniu "
        "do czasu prawomocnego zakończenia postępowania. Po upływie tych okresów nagrania "
        "zawierające dane osobowe podlegają zniszczeniu.",
        f"Kontakt z Inspektorem Ochrony Danych: {fact(p, 'dpo_address')}, e-mail: "
        f"{fact(p, 'dpo_email')}.",
        "Każda osoba ma prawo do żądania sprostowania danych, gdy są niezgodne ze stanem "
        "rzeczywistym, a w przypadkach przewidzianych prawem — do ich usunięcia lub "
        "ograniczenia przetwarzania. Wnioski w tych sprawach należy kierować do "
        "Administratora.",
        "Każda osoba, której dane zostały zarejestrowane podczas rozmowy telefonicznej, ma "
        "prawo do wniesienia skargi do organu nadzorczego, tj. Prezesa Urzędu Ochrony Danych "
        "Osobowych.",
        f"Regulamin rejestracji rozmów telefonicznych dostępny jest {fact(p, 'published')}.",
    ]


def _miedziana_gora(p: Policy) -> list[str]:
    """003 zał. 1, points 1–7; its blanks (contact data) from [documents] or dotted."""
    period = p.retention_for(SourceKind.CAMERA)
    return [
        "Administratorem danych przetwarzanych w ramach stosowanego monitoringu wizyjnego jest "
        f"{fact(p, 'controller')} (adres: {fact(p, 'address')}, adres e-mail: "
        f"{fact(p, 'email')}, numer telefonu: {fact(p, 'phone')}).",
        "Administrator powołał inspektora ochrony danych (dane kontaktowe: adres e-mail: "
        f"{fact(p, 'dpo_email')}, numer telefonu: {fact(p, 'dpo_phone')}).",
        f"Dane osobowe będą przetwarzane w celu {_aims(p)}.",
        f"Dane osobowe będą przetwarzane przez okres nieprzekraczający {period_gen(period)} od "
        "dnia nagrania. W przypadku, w którym nagrania obrazu stanowią dowód w postępowaniu "
        "prowadzonym na podstawie prawa lub Administrator powziął wiadomość, iż mogą one "
        "stanowić dowód w postępowaniu, termin ulega przedłużeniu do czasu prawomocnego "
        "zakończenia postępowania.",
        "Podstawą prawną przetwarzania wizerunku pracowników oraz innych osób zarejestrowanych "
        f"przez monitoring jest {fact(p, 'basis')}.",
        "Dane osobowe mogą być przekazywane osobom, które wykażą potrzebę uzyskania dostępu do "
        "nagrań (interes realizowany przez stronę trzecią).",
        "Osoba, której dane dotyczą, ma prawo do żądania dostępu do danych osobowych oraz "
        "ograniczenia przetwarzania danych osobowych, a także do wniesienia skargi do organu "
        "nadzorczego — Prezesa Urzędu Ochrony Danych Osobowych.",
    ]


def _elblag(p: Policy) -> list[str]:
    """000 has no clause of its own: the points its §1 gives (purposes pkt 1, no sanitary
    rooms pkt 3, not used to supervise work pkt 4, 30 days pkt 10, disclosure pkt 12,
    evidence pkt 13, securing on request pkt 14) with the legal basis from [documents]."""
    period = p.retention_for(SourceKind.CAMERA)
    return [
        f"Administratorem Pani/Pana danych osobowych utrwalonych przez monitoring wizyjny jest "
        f"{fact(p, 'controller')} (adres: {fact(p, 'address')}, telefon: {fact(p, 'phone')}, "
        f"e-mail: {fact(p, 'email')}).",
        f"Kontakt z Inspektorem Ochrony Danych: {fact(p, 'dpo_email')}.",
        f"Monitoring wizyjny stosowany jest w celu {_aims(p)}; nie jest wykorzystywany do "
        "nadzoru nad wykonywaną pracą. Monitoring nie obejmuje pomieszczeń sanitarnych.",
        f"Podstawą prawną przetwarzania jest {fact(p, 'basis')}.",
        f"Zarejestrowany obraz przechowuje się przez okres {period_gen(period)} od daty "
        "rejestracji, a następnie podlega on automatycznemu nadpisaniu kolejnymi nagraniami. "
        "W przypadku, w którym nagrania obrazu stanowią dowód w postępowaniu prowadzonym na "
        "podstawie przepisów prawa lub pracodawca powziął wiadomość, iż mogą one stanowić "
        "dowód w postępowaniu, termin przechowywania obrazu ulega przedłużeniu do czasu "
        "prawomocnego zakończenia postępowania.",
        "Nagrania udostępniane są wyłącznie na pisemny wniosek organów uprawnionych, w "
        "szczególności sądom, prokuraturze, policji oraz innym podmiotom prowadzącym "
        "czynności dochodzeniowo-śledcze. Osoby biorące udział w zdarzeniach zarejestrowanych "
        "w systemie monitoringu mogą wnioskować o zabezpieczenie nagrania w celu przekazania "
        "uprawnionym organom.",
        "Przysługuje Pani/Panu prawo dostępu do swoich danych osobowych, ich sprostowania oraz "
        "ograniczenia przetwarzania, a także prawo wniesienia skargi do Prezesa Urzędu Ochrony "
        "Danych Osobowych.",
    ]


def _general(p: Policy, kind: str) -> list[str]:
    """An office whose regulation has no clause of its own: the points art. 13 RODO asks
    for, its facts from [documents], the rest dotted to fill in."""
    period = p.retention_for(kind)
    return [
        f"Administratorem Pani/Pana danych osobowych jest "
        f"{p.documents.get('controller') or p.office_name} (adres: {fact(p, 'address')}, "
        f"e-mail: {fact(p, 'email')}, telefon: {fact(p, 'phone')}).",
        f"Kontakt z Inspektorem Ochrony Danych: {fact(p, 'dpo_email')}.",
        f"Dane z {KIND_PL[kind]} przetwarzane są w celu {_aims(p)} na podstawie "
        f"{fact(p, 'basis')}.",
        f"Nagrania przechowywane są nie dłużej niż {period_pl(period)} od dnia nagrania; gdy "
        "stanowią dowód w postępowaniu — do czasu jego prawomocnego zakończenia.",
        "Odbiorcami danych mogą być wyłącznie podmioty uprawnione na podstawie przepisów "
        "prawa.",
        "Przysługuje Pani/Panu prawo dostępu do danych, ich sprostowania, usunięcia lub "
        "ograniczenia przetwarzania, prawo sprzeciwu oraz prawo wniesienia skargi do Prezesa "
        "Urzędu Ochrony Danych Osobowych.",
    ]


CLAUSES: dict[tuple[str, str], Callable[[Policy], list[str]]] = {
    ("pleszew", SourceKind.CAMERA): _pleszew,
    ("boleslawiec", SourceKind.PHONE): _boleslawiec,
    ("walbrzych", SourceKind.PHONE): _walbrzych,
    ("miedziana-gora", SourceKind.CAMERA): _miedziana_gora,
    ("elblag", SourceKind.CAMERA): _elblag,
}


def clause_points(policy: Policy, kind: str) -> list[str]:
    """The clause's points for one source kind; refused for a kind the office does not keep."""
    if kind not in KIND_PL:
        raise InputError(f"no clause for source kind {kind!r}; use "
                         + " or ".join(k.name for k in CLAUSED),
                         pl=f"Nie ma klauzuli dla rodzaju źródła „{kind}”; dostępne: "
                            + ", ".join(f"{k.name} ({k.label_pl})" for k in CLAUSED) + ".")
    refuse_unless(policy, kind, f"information clause for {kind} material",
                  f"klauzuli informacyjnej dotyczącej {KIND_PL[kind]} się nie drukuje")
    own = CLAUSES.get((policy.preset or "", kind)) if own_texts(policy) else None
    return own(policy) if own else _general(policy, kind)


def clause_data(policy: Policy, kind: str) -> dict[str, Any]:
    """Data for clause.typ."""
    points = clause_points(policy, kind)
    return {**policy.doc_names(), "title": f"Klauzula informacyjna — {KIND_PL[kind]}",
            "heading": f"Klauzula informacyjna dotycząca {KIND_PL[kind]}", "intro": INTRO,
            "points": points, "kind": kind}


# What a data subject is told under art. 15 ust. 1 RODO, from the same facts the office's clause
# prints: the purposes and basis (lit. a), the categories (b), the recipients (c), the period
# (d), the source (g, per source: papers.answer_letter_doc) and automated decisions (h).
CATEGORIES = {
    SourceKind.CAMERA.value: "wizerunek (obraz bez dźwięku) utrwalony przez kamerę monitoringu "
                             "wizyjnego, z datą, godziną i miejscem nagrania",
    SourceKind.PHONE.value: "głos i treść rozmowy telefonicznej, numer telefonu oraz data, "
                            "godzina i czas trwania połączenia",
    SourceKind.MAILBOX.value: "adres poczty elektronicznej oraz dane wiadomości zapisane w "
                              "monitoringu poczty (nadawca, odbiorcy, data i godzina)",
    SourceKind.ENDPOINT.value: "nazwa konta i komputera, adres sieciowy oraz data i godzina "
                               "zdarzeń zapisanych w monitoringu aktywności IT",
}
# The recipients as each office's clause names them (002 zał. 2 pkt 7; 001 zał. 1 pkt 4;
# 004 klauzula pkt 4; 003 zał. 1 pkt 6; 000 §1 pkt 12).
RECIPIENTS = {
    "pleszew": "podmioty uprawnione do uzyskania danych osobowych na podstawie przepisów prawa "
               "oraz podmioty realizujące usługi w imieniu i na rzecz administratora",
    "boleslawiec": "wyłącznie podmioty uprawnione do uzyskania danych osobowych na podstawie "
                   "przepisów prawa",
    "walbrzych": "wyłącznie podmioty uprawnione do uzyskania danych osobowych na podstawie "
                 "przepisów prawa",
    "miedziana-gora": "osoby, które wykażą potrzebę uzyskania dostępu do nagrań (interes "
                      "realizowany przez stronę trzecią), oraz organy uprawnione na podstawie "
                      "przepisów prawa",
    "elblag": "wyłącznie organy uprawnione, na ich pisemny wniosek — w szczególności sądy, "
              "prokuratura, policja oraz inne podmioty prowadzące czynności "
              "dochodzeniowo-śledcze",
}
GENERAL_RECIPIENTS = "wyłącznie podmioty uprawnione na podstawie przepisów prawa"


def access_facts(policy: Policy, kind: str) -> dict[str, str]:
    """The art. 15 ust. 1 RODO facts about material of ``kind``, each a sentence's end."""
    period = policy.retention_for(kind)
    own = own_texts(policy)
    return {
        "purposes": f"w celu {_aims(policy)}, na podstawie {fact(policy, 'basis')}",
        "categories": CATEGORIES.get(kind, "dane zapisane w systemie monitoringu"),
        "recipients": (RECIPIENTS.get(policy.preset or "", GENERAL_RECIPIENTS) if own
                       else GENERAL_RECIPIENTS),
        "period": (f"nie dłużej niż {period_pl(period)} od dnia nagrania, a gdy nagranie stanowi "
                   "dowód w postępowaniu prowadzonym na podstawie przepisów prawa — do czasu "
                   "prawomocnego zakończenia postępowania; następnie dane są trwale usuwane"),
        "transfer": "dane nie są przekazywane do państwa trzeciego ani organizacji "
                    "międzynarodowej",
        "automated": "dane nie służą do zautomatyzowanego podejmowania decyzji, w tym "
                     "profilowania (art. 22 RODO)",
    }
