"""Information clauses (RODO art. 13) per office preset and source kind, taken from the seeds'
own clauses [001 zał. 1; 002 zał. 2; 003 zał. 1; 004 klauzula]. An office edits them by
overriding the template (templates/clause.typ) or passing its own points."""

from __future__ import annotations

from typing import Any

from kustosz.documents.words import period_pl
from kustosz.policy import Policy

_INTRO = ("Zgodnie z art. 13 Rozporządzenia Parlamentu Europejskiego i Rady (UE) 2016/679 z dnia "
          "27 kwietnia 2016 r. w sprawie ochrony osób fizycznych w związku z przetwarzaniem "
          "danych osobowych i w sprawie swobodnego przepływu takich danych oraz uchylenia "
          "dyrektywy 95/46/WE (ogólne rozporządzenie o ochronie danych, dalej: RODO) "
          "informujemy, że:")

CLAUSES: dict[tuple[str, str], list[str]] = {
    ("pleszew", "camera"): [
        "Administratorem Pani/Pana danych osobowych jest Straż Miejska w Pleszewie oraz Miasto "
        "i Gmina Pleszew z siedzibą przy ul. Rynek 1, 63-300 Pleszew, tel.: 62 742 83 00.",
        "W sprawie ochrony danych osobowych można skontaktować się z Inspektorem Ochrony Danych "
        "pod adresem mail: iod@pleszew.pl.",
        "Pani/Pana dane osobowe utrwalone na nagraniach obrazu przetwarzane będą w celu "
        "zapewnienia porządku publicznego oraz bezpieczeństwa użytkowników obiektu (ze "
        "szczególnym uwzględnieniem pracowników i klientów urzędu), ochrony mienia oraz "
        "zachowania w tajemnicy informacji, których ujawnienie mogłoby narazić pracodawcę na "
        "szkody, na podstawie ustawy o samorządzie gminnym, ustawy o strażach gminnych oraz "
        "art. 22² ustawy Kodeks pracy.",
        "Nagrania obrazu z monitoringu wizyjnego będą przetwarzane przez okres "
        "nieprzekraczający 30 dni od dnia nagrania, po tym czasie dane ulegają automatycznemu "
        "usunięciu poprzez nadpisanie danych. Nagranie obrazu stanowiące dowód w postępowaniu "
        "prowadzonym na podstawie przepisów prawa może być przechowywane do czasu wyjaśnienia "
        "sprawy, a następnie podlega zniszczeniu.",
        "Pani/Pana dane osobowe mogą być udostępniane wyłącznie podmiotom uprawnionym do "
        "uzyskania danych osobowych na podstawie przepisów prawa oraz podmiotom realizującym "
        "usługi w imieniu i na rzecz administratora.",
        "Przysługuje Pani/Panu prawo dostępu do swoich danych osobowych, ich sprostowania, a w "
        "określonych prawnie przypadkach również prawo do ograniczenia przetwarzania.",
        "Przysługuje Pani/Panu prawo wniesienia skargi do Prezesa Urzędu Ochrony Danych "
        "Osobowych, gdy uzna Pani/Pan, że przetwarzanie Pani/Pana danych osobowych narusza "
        "przepisy RODO.",
        "Pani/Pana dane osobowe nie będą przekazywane do państwa trzeciego/organizacji "
        "międzynarodowej, nie będą przetwarzane w sposób zautomatyzowany i nie będą podlegały "
        "profilowaniu.",
    ],
    ("boleslawiec", "phone"): [
        "Administratorem Państwa danych osobowych jest Gmina Miejska Bolesławiec z siedzibą w "
        "Bolesławcu, ul. Rynek 41, reprezentowana przez Prezydenta Miasta Bolesławiec.",
        "Inspektorem ochrony danych jest Pani Renata Szewczyk (kontakt: Urząd Miasta "
        "Bolesławiec, ul. Rynek 41, 59-700 Bolesławiec, e-mail iod@um.boleslawiec.pl).",
        "Państwa dane osobowe przetwarzane będą w celu zapewnienia jakości obsługi klientów, "
        "ochrony danych osobowych osób występujących jako rozmówcy oraz bezpieczeństwa "
        "informacji, na podstawie art. 6 ust. 1 lit. a RODO (zgoda wyrażona kontynuacją "
        "połączenia po wysłuchaniu komunikatu).",
        "Odbiorcą Państwa danych osobowych będą wyłącznie podmioty uprawnione do uzyskania "
        "danych osobowych na podstawie przepisów prawa.",
        "Państwa dane osobowe nie będą przekazywane do państwa trzeciego/organizacji "
        "międzynarodowej.",
        "Państwa dane osobowe będą przechowywane przez okres 3 miesięcy od nagrania.",
        "Posiadają Państwo prawo dostępu do treści swoich danych oraz prawo ich sprostowania, "
        "usunięcia, ograniczenia przetwarzania, prawo do przenoszenia danych, prawo wniesienia "
        "sprzeciwu oraz cofnięcia zgody w dowolnym momencie bez wpływu na zgodność z prawem "
        "przetwarzania dokonanego przed jej cofnięciem.",
        "Mają Państwo prawo wniesienia skargi do UODO, gdy uznają, iż przetwarzanie danych "
        "osobowych narusza przepisy RODO.",
        "Podanie danych jest dobrowolne, ale konieczne do przeprowadzenia rozmowy.",
        "Państwa dane nie będą przetwarzane w sposób zautomatyzowany, w tym w formie "
        "profilowania.",
    ],
    ("walbrzych", "phone"): [
        "Administratorem systemu rejestracji rozmów telefonicznych jest Dyrektor Miejskiego "
        "Ośrodka Pomocy Społecznej z siedzibą w Wałbrzychu przy ul. Kilińskiego 1. Rejestracja "
        "rozmów prowadzona jest w celu zapewnienia bezpieczeństwa osób i mienia, podniesienia "
        "standardu usług, zwiększenia poziomu obsługi klienta oraz skuteczniejszej realizacji "
        "celów MOPS w Wałbrzychu.",
        "Podstawą przetwarzania jest art. 6 ust. 1 lit. a, c, d, e oraz art. 9 ust. 2 lit. b "
        "RODO.",
        "Kontynuowanie połączenia pomimo komunikatu o rejestracji rozmowy spowoduje "
        "automatyczne pozyskanie danych osobowych.",
        "Zapisy rozmów telefonicznych przechowywane będą przez okres do 30 dni; w przypadku, w "
        "którym nagranie stanowi dowód w postępowaniu, termin ten ulega przedłużeniu do czasu "
        "prawomocnego zakończenia postępowania. Odbiorcami danych będą wyłącznie podmioty "
        "uprawnione na podstawie przepisów prawa.",
        "Kontakt do Inspektora Ochrony Danych: iod@mops.walbrzych.pl.",
    ],
    ("miedziana-gora", "camera"): [
        "Administratorem danych przetwarzanych w ramach monitoringu wizyjnego jest Gmina "
        "Miedziana Góra.",
        "Administrator powołał inspektora ochrony danych.",
        "Dane osobowe będą przetwarzane w celu zapewnienia porządku publicznego i "
        "bezpieczeństwa obywateli oraz ochrony przeciwpożarowej i przeciwpowodziowej, "
        "zapewnienia bezpieczeństwa pracowników, ochrony mienia Gminy oraz zachowania w "
        "tajemnicy informacji, których ujawnienie mogłoby narazić Administratora na szkodę.",
        "Dane osobowe będą przetwarzane przez okres nieprzekraczający 3 miesięcy od dnia "
        "nagrania; gdy nagrania stanowią dowód w postępowaniu, termin ulega przedłużeniu do "
        "czasu prawomocnego zakończenia postępowania.",
        "Podstawą prawną jest art. 6 ust. 1 lit. c RODO w związku z art. 9a ustawy o samorządzie "
        "gminnym oraz art. 22² Kodeksu pracy.",
        "Dane osobowe mogą być przekazywane osobom, które wykażą potrzebę uzyskania dostępu do "
        "nagrań (interes realizowany przez stronę trzecią).",
        "Osoba, której dane dotyczą, ma prawo do żądania dostępu do danych osobowych oraz "
        "ograniczenia przetwarzania, a także do wniesienia skargi do organu nadzorczego.",
    ],
}

KIND_PL = {"camera": "monitoringu wizyjnego", "phone": "rejestrowania rozmów telefonicznych"}


def clause_data(policy: Policy, kind: str) -> dict[str, Any]:
    """The clause for one source kind; a generic one built from the policy where the office's
    regulation gives none (the office fills in the dotted contact details)."""
    if kind not in KIND_PL:
        from kustosz.errors import InputError

        raise InputError(f"no clause for source kind {kind!r}; use camera or phone")
    points = CLAUSES.get((policy.preset or "", kind))
    if points is None:
        period = policy.retention.get(kind)
        points = [
            f"Administratorem Pani/Pana danych osobowych jest {policy.office_name} "
            "(adres: ....., e-mail: ....., telefon: .....).",
            "Kontakt z Inspektorem Ochrony Danych: .....",
            f"Dane z {KIND_PL[kind]} przetwarzane są w celu zapewnienia bezpieczeństwa osób i "
            "ochrony mienia.",
            f"Nagrania przechowywane są nie dłużej niż {period_pl(period) if period else '.....'} "
            "od dnia nagrania; gdy "
            "stanowią dowód w postępowaniu — do czasu jego prawomocnego zakończenia.",
            "Odbiorcami danych mogą być wyłącznie podmioty uprawnione na podstawie przepisów "
            "prawa.",
            "Przysługuje Pani/Panu prawo dostępu do danych, ich sprostowania, usunięcia lub "
            "ograniczenia przetwarzania, prawo sprzeciwu oraz prawo wniesienia skargi do Prezesa "
            "Urzędu Ochrony Danych Osobowych.",
        ]
    return {**policy.doc_names(), "title": f"Klauzula informacyjna — {KIND_PL[kind]}",
            "heading": f"Klauzula informacyjna dotycząca {KIND_PL[kind]}", "intro": _INTRO,
            "points": points, "kind": kind}
