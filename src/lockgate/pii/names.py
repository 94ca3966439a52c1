"""Person names in English, German, French, Italian, Spanish, Polish and Dutch text.

A capitalised word is a name only with evidence, because most capitalised words are not:

* **an honorific** right before it: `Herr`, `Frau`, `Mr`, `Ms`, `Dr.`, `M.`, `Mme`, `Sig.ra`,
  `Dott.`, `Sr.`, `Sra.`, `Pan`, `Pani`, `Dhr.`, `Mevr.` ... (`Frau Dr. Weber`: "Weber");
* **a salutation** with at least two names after it (`Dear Anna Weber`; `Dear Anna` alone is
  a first name, not a person);
* **a field label**: `Name:`, `Patient:`, `Nom :`, `Nome e cognome:`, `Imię i nazwisko:`,
  `From:` ... followed by the name;
* **a signature block**: a closing line (`Best regards,`, `Mit freundlichen Grüßen`,
  `Cordialement`, `Pozdrawiam` ...) and the name alone on the next line;
* **the lexicon**: a given name followed by a surname, both in the name lists shipped in
  `lockgate/pii/data/names.json` (extracted from Faker's person providers, MIT; see
  `scripts/build_pii_lexicons.py`), or a given name and an unknown capitalised word next to a
  role word (patient, employee, Mitarbeiterin, candidat, dipendente, paciente, pracownik ...).

Names that are part of something else are not counted: after a street or institution word
(`Via Giuseppe Verdi`, `Rue Victor Hugo`, `Klinikum ...`, `Fondazione ...`), before a
company, street or place word (`Paul Hartmann AG`, `Anne-Frank-Straße`, `... Hospital`), or
after an article (`eine Frau Mitte 40`).

Quality (`bench/pii_quality.py`, kind `name`, overlap matching): precision 0.998 / recall 1.000 on the labelled set (476 names), 1.000 / 0.933 on
the blind set written after tuning (`pii_blind2.jsonl`, 45 names);
per language in `docs/pii.md`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from importlib import resources

from lockgate.pii.base import ScanDetector
from lockgate.pii.candidates import TextScan
from lockgate.pii.config import PiiConfig
from lockgate.pii.findings import Match
from lockgate.pii.lexicon import Group, SharedLexicon

_UP = "A-ZÀ-ÖØ-ÞĄĆČĎĘĚŁŃŇŒŘŚŠŤŮŸŹŻŽ"
_LO = "a-zß-öø-ÿąćčďęěłńňœřśšťůźżž"
# One name word: "Weber", "Müller-Lüdenscheidt", "O'Brien", "D'Angelo", "Anna-Lena".
_WORD = rf"(?:[DLO]['’])?[{_UP}][{_LO}]+(?:-[{_UP}][{_LO}]+)*(?![^\W\d_])"
_PARTICLE = r"(?:van|von|de|der|den|del|della|dello|dei|di|da|dos|das|du|des|la|le|los|ter|ten|zu|y|e)"
_GAP = r"[ \u00a0]"
_NAME = rf"(?:{_PARTICLE}{_GAP})*{_WORD}(?:{_GAP}(?:{_PARTICLE}{_GAP})*{_WORD}){{0,3}}"
_WORD_RE = re.compile(_WORD)

_HONORIFIC = (
    r"Herrn?|Frau|Hr\.|Fr\.|Mrs?\.?|Ms\.?|Miss|Mx\.?|Dr\.?|Prof\.?|Professor(?:in)?|Dipl\.-Ing\.|"
    r"Monsieur|Madame|Mademoiselle|M\.|Mme\.?|Mlle\.?|Signora|Signor|Sig\.(?:ra|na)?|Sig\.ra|"
    r"Dott\.(?:ssa)?|Dott\.ssa|Avv\.|Ing\.|Sr\.|Sra\.|Srta\.|Señor|Señora|Don|Doña|Dña\.|"
    r"[Pp]an|[Pp]ani|[Pp]ana|[Pp]anią|[Pp]anem|[Pp]anu|[Pp]anie|Dhr\.|Mevr\.|Mw\.|[Mm]evrouw|[Mm]eneer|"
    r"[Dd]e heer|[Hh]eer|signora|signor|señora|señor|madame|monsieur|dottor|dottoressa"
)
# Honorifics that are also ordinary nouns: the name word must not follow an article.
_NOUN_HONORIFICS = frozenset({"Herr", "Herrn", "Frau", "Pan", "Pani", "Pana", "Panią", "Panem", "Panu",
                              "Panie", "Don", "Señor", "Señora", "Signor", "Signora", "Miss", "Madame",
                              "Monsieur", "Professor", "Professorin"})  # fmt: skip
_SALUTATION = (
    r"Dear|Hello|Hi|Liebe[rs]?|Hallo|Sehr geehrte[rs]?|Cher|Chère|Bonjour|Gentile|Caro|Cara|Ciao|"
    r"Buongiorno|Estimad[oa]|Querid[oa]|Hola|Szanown[ya]|Drog[ai]|Dzień dobry|Beste|Geachte|Hoi"
)
_SALUTATION_RE = re.compile(_SALUTATION)
_PARTICLES_RE = re.compile(rf"(?:{_PARTICLE}{_GAP})+")
_CUED = re.compile(
    rf"(?<![\w.])(?P<cue>(?:(?:{_SALUTATION}){_GAP}+)?(?:(?:{_HONORIFIC}){_GAP}+)*)(?P<last>{_HONORIFIC}|{_SALUTATION})"
    rf"{_GAP}+(?P<name>{_NAME})"
)
_LABEL_REACH, _NAME_REACH = 32, 96  # characters before and after a colon
_LABELS = frozenset((
    "name", "patient", "patientin", "patiente", "employee", "mitarbeiter", "mitarbeiterin", "kunde",
    "kundin", "customer", "client", "cliente", "nom", "complet", "nome", "cognome", "nominativo",
    "nombre", "apellidos", "nazwisko", "pacjent", "pacjentka", "naam", "patiënt", "patiënte",
    "paziente", "paciente", "contact", "kontakt", "ansprechpartner", "ansprechpartnerin", "versicherte",
    "versicherter", "insured", "bewerber", "bewerberin", "candidate", "candidat", "candidate",
    "candidato", "candidata", "kandydat", "kandydatka", "sollicitant", "von", "from", "de", "da", "od",
    "van", "an", "to", "à", "a", "do", "aan", "cc", "signed", "gez.", "unterschrift", "signature",
    "firma", "podpis", "handtekening", "verantwortlich", "responsible", "owner", "assignee",
    "bearbeiter", "bearbeiterin", "reporter",
))  # fmt: skip


_NOT_LABEL_END = frozenset("0123456789\"'}])/:")  # times, JSON keys, URLs


def _label_before(text: str, colon: int) -> bool:
    """The word right before a colon is a field label ("Name:", "Nom :", "Od:")."""
    chunk = text[max(0, colon - _LABEL_REACH) : colon].rstrip(" \t")
    word = chunk[chunk.rfind(" ") + 1 :].rsplit("\n", 1)[-1].lower()
    return word in _LABELS


_FIELD = re.compile(
    r"(?<![\w])(?P<label>(?i:name|full name|patient(?:in|e)?|patient name|employee|mitarbeiter(?:in)?|kunde|kundin|"
    r"customer|client(?:e)?|nom|nom complet|prénom et nom|nome|nome e cognome|cognome e nome|nominativo|"
    r"nombre|nombre y apellidos|apellidos|imię i nazwisko|nazwisko|pacjent(?:ka)?|naam|patiënt(?:e)?|"
    r"paziente|paciente|contact|kontakt|ansprechpartner(?:in)?|versicherte[r]?|insured|bewerber(?:in)?|"
    r"candidate|candidat(?:e)?|candidato|candidata|kandydat(?:ka)?|sollicitant|von|from|de|da|od|van|"
    r"an|to|à|a|do|aan|cc|signed|gez\.|unterschrift|signature|firma|podpis|handtekening|"
    r"verantwortlich|responsible|owner|assignee|bearbeiter(?:in)?|reporter))"
    rf"[ \t]*:[ \t]*(?P<name>{_NAME})"
)
_CLOSING_WORDS = (
    "regards", "best", "cheers", "thanks", "thank you", "sincerely", "yours", "grüßen", "grüße", "gruß",
    "danke", "dank", "cordialement", "salutations", "bien à vous", "merci", "amicalement", "saluti",
    "saluto", "grazie", "saludos", "saludo", "atentamente", "gracias", "pozdrawiam", "z poważaniem",
    "pozdrowienia", "dziękuję", "groeten", "groet", "bedankt",
)  # fmt: skip
# The name alone on its line, after a closing line.
_NAME_LINE = re.compile(rf"[ \t]*(?P<name>{_NAME})[ \t]*(?=\r?\n|$|,)")


def _is_closing(line: str) -> bool:
    """`Best regards,`, `Mit freundlichen Grüßen`, `Cordialement,` ... as a whole line."""
    line = line.strip().rstrip(",.!").lower()
    return 0 < len(line) <= 40 and line.endswith(_CLOSING_WORDS)


def _newlines(text: str) -> Iterator[int]:
    at = text.find("\n")
    while at != -1:
        yield at
        at = text.find("\n", at + 1)


# Header fields that name people as often as teams, firms or places: the lexicon must agree.
_WEAK_FIELDS = frozenset(
    [
        "von",
        "from",
        "de",
        "da",
        "od",
        "van",
        "an",
        "to",
        "à",
        "a",
        "do",
        "aan",
        "cc",
        "contact",
        "kontakt",
        "owner",
    ]
)
# Two or more capitalised words: the candidates the lexicon decides on.
# (Starting with a character class lets the engine skip lower-case text in C; the character
# before a run is checked by `_glued`.)
_CAPWORD = rf"[{_UP}][{_LO}]+(?:-[{_UP}][{_LO}]+)*"
_RUN = re.compile(rf"{_CAPWORD}(?:{_GAP}(?:{_PARTICLE}{_GAP})*{_CAPWORD})+")


def _glued(char: str) -> bool:
    return char.isalnum() or char in "'’-_"


def _cue_starts(scan: TextScan, cues: frozenset[str]) -> list[int]:
    """Where an honorific or salutation may start: each cue word of the text, found with
    `str.find` in the lower-cased text (one regex over the whole text costs far more)."""
    lowered = scan.lowered
    starts: list[int] = []
    for word in cues:
        at = lowered.find(word)
        while at != -1:
            if at == 0 or not (lowered[at - 1].isalnum() or lowered[at - 1] == "."):
                starts.append(at)
            at = lowered.find(word, at + len(word))
    at = scan.text.find("M. ")  # "M. Dupont": a one-letter word is no cue word
    while at != -1:
        starts.append(at)
        at = scan.text.find("M. ", at + 3)
    starts.sort()
    return starts


_ROLE = re.compile(
    r"(?i:patient(?:in|e)?|patiënt(?:e)?|paziente|paciente|pacjent(?:ka|a|ki)?|employee|colleague|"
    r"mitarbeiter(?:in)?|kolleg(?:e|in)|bewerber(?:in)?|candidate|candidat(?:e)?|salarié(?:e)?|"
    r"collègue|dipendente|collega|candidat[oa]|emplead[oa]|compañer[oa]|pracowni(?:k|ca|ka)|"
    r"kolega|koleżanka|kandydat(?:ka)?|medewerker|werknemer|sollicitant|klant|kunde|kundin|"
    r"customer|client(?:e)?|cliente|klient(?:ka)?|tenant|mieter(?:in)?|locataire|inquilin[oa]|"
    r"najemca|huurder|husband|wife|son|daughter|mother|father|ehemann|ehefrau|sohn|tochter|"
    r"mutter|vater|mari|femme|fils|fille|marito|moglie|figli[oa]|marido|esposa|hij[oa]|"
    r"mąż|żona|syn|córka|man|vrouw|zoon|dochter|signed|unterzeichnet|signé|firmato|firmado|"
    r"podpisan[ya]|ondertekend|mr|mrs|ms|herr|frau|signora|señora|pani|pan|"
    # verbs and prepositions that take a person: "please ask", "rufen Sie", "contattare"
    r"ask|call|contact|email|e-mail|tell|ping|inform|invite|thank|remind|cc|"
    r"rufen sie|anrufen|kontaktieren|fragen sie|informieren|bitten sie|an|für|mit|"
    r"contacter|appeler|rappeler|demander à|informer|remercier|"
    r"contattare|chiamare|richiamare|chiedere a|informare|ringraziare|"
    r"llamar a|llame a|contactar con|contacte con|preguntar a|informar a|agradecer a|"
    r"zadzwoń do|oddzwonić do|zadzwonić do|skontaktuj się z|skontaktować się z|poinformuj|zapytaj|"
    r"bel|mail|vraag|informeer|bedank)\b"
)

# A name that is followed by one of these is part of a street, company, place or eponym.
_AFTER_STOP = frozenset(
    ["straße", "strasse", "str", "str.", "weg", "allee", "platz", "gasse", "ring", "damm", "ufer", "chaussee", "steig", "street", "st", "st.", "road", "rd", "rd.", "avenue", "ave", "ave.", "lane", "ln", "square", "boulevard", "blvd", "drive", "way", "close", "court", "place", "station", "room", "airport", "hospital", "stadium", "foundation", "institute", "university", "college", "school", "bridge", "park", "hotel", "straat", "laan", "plein", "gracht", "kade", "singel", "huis", "saal", "salle", "sala", "zaal", "gmbh", "ohg", "gbr", "e.v.", "ltd", "ltd.", "limited", "llc", "inc", "inc.", "corp", "corp.", "plc", "s.a.", "sarl", "s.p.a.", "srl", "s.r.l.", "s.l.", "b.v.", "n.v.", "sp.", "&", "und", "and", "et", "group", "gruppe", "holding", "consulting", "partners", "partner", "söhne", "sons", "verlag", "stiftung", "klinik", "klinikum", "award", "prize", "preis", "prix", "premio", "syndrome", "syndrom", "disease", "krankheit", "effect", "effekt", "law", "gesetz", "theorem", "prozess", "center", "centre", "zentrum", "museum", "gymnasium", "schule", "stadion", "brücke", "kirche", "church", "cathedral", "dom", "bahnhof", "flughafen"]
)  # fmt: skip
# Legal forms that are also ordinary words in lower case ("se", "sa", "spa"): upper case only.
_ORG_UPPER = frozenset(
    ["AG", "KG", "SE", "SA", "SAS", "SL", "BV", "NV", "UG", "eG", "SpA", "Srl", "OHG", "GbR"]
)


def _stops_after(word: str) -> bool:
    return word in _ORG_UPPER or word.lower() in _AFTER_STOP


# A name right after one of these is part of a street, institution or place name.
_BEFORE_STOP = frozenset(
    ["via", "viale", "piazza", "piazzale", "corso", "largo", "vicolo", "lungomare", "rue", "avenue", "boulevard", "bd", "place", "allée", "impasse", "quai", "chemin", "cours", "calle", "avenida", "avda", "avda.", "plaza", "paseo", "carrer", "camino", "ulica", "ul", "ul.", "al", "al.", "aleja", "plac", "osiedle", "os.", "straat", "plein", "laan", "hospital", "ospedale", "klinik", "klinikum", "clinique", "clínica", "klinika", "szpital", "ziekenhuis", "universität", "university", "università", "université", "universidad", "uniwersytet", "universiteit", "stiftung", "foundation", "fondazione", "fundación", "fondation", "stichting", "fundacja", "institut", "institute", "istituto", "instituto", "instytut", "museum", "museo", "musée", "muzeum", "gymnasium", "liceo", "lycée", "colegio", "collège", "schule", "school", "scuola", "escuela", "szkoła", "aeroporto", "aeropuerto", "airport", "flughafen", "aéroport", "lotnisko", "stadion", "stadium", "estadio", "stade", "teatro", "theater", "théâtre", "teatr", "premio", "prize", "preis", "prix", "nagroda", "prijs", "hotel", "hôtel", "albergo", "parque", "park", "parco", "ponte", "pont", "puente", "stazione", "estación", "gare", "bahnhof", "station", "morbus", "maladie", "malattia", "enfermedad", "choroba", "ziekte", "syndrom", "syndrome", "sindrome", "síndrome", "zespół"]
)  # fmt: skip
_ARTICLES = frozenset(
    [
        "die",
        "der",
        "eine",
        "einer",
        "einem",
        "einen",
        "jede",
        "jeder",
        "diese",
        "dieser",
        "keine",
        "the",
        "a",
        "an",
    ]
)
# Words that a salutation or honorific may be followed by and that are not names.
_NOT_NAMES = frozenset(
    ["doktor", "professor", "professorin", "kollege", "kollegin", "kollegen", "kolleginnen", "präsident", "präsidentin", "direktor", "direktorin", "bürgermeister", "bürgermeisterin", "minister", "ministerin", "vorsitzende", "vorsitzender", "damen", "herren", "kunde", "kundin", "kunden", "customer", "customers", "team", "sir", "madam", "madame", "colleague", "colleagues", "all", "everyone", "everybody", "dottore", "dottoressa", "direttore", "direttrice", "presidente", "director", "directora", "directeur", "directrice", "président", "présidente", "ministre", "kolego", "koleżanko", "dyrektor", "dyrektorze", "prezes", "prezesie", "doktorze", "profesor", "professore", "leser", "reader", "readers", "friend", "friends", "freunde", "amis", "amici", "amigos", "collega", "colleghi", "collègue", "collègues", "client", "clients", "cliente", "clienti", "clientes", "klient", "klienci", "support", "service", "team", "teams", "partner", "partners", "gentlemen", "ladies", "signore", "signori", "señores", "sehr", "geehrte", "geehrter", "liebe", "lieber", "hallo", "dear", "hello", "hi", "bonjour", "cher", "chère", "gentile", "caro", "cara", "ciao", "buongiorno", "hola", "estimado", "estimada", "querido", "querida", "szanowny", "szanowna", "beste", "geachte", "hoi", "heer", "mevrouw", "meneer", "patient", "patientin", "patiente", "paziente", "paciente", "pacjent", "pacjentka", "patiënt", "january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december", "januar", "februar", "märz", "juni", "juli", "oktober", "dezember", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "montag", "dienstag", "mittwoch", "donnerstag", "freitag", "samstag", "sonntag", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche", "janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre", "gennaio", "febbraio", "aprile", "maggio", "giugno", "luglio", "agosto", "settembre", "ottobre", "dicembre", "enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "septiembre", "octubre", "noviembre", "diciembre", "lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo", "poniedziałek", "wtorek", "środa", "czwartek", "piątek", "sobota", "niedziela", "maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag", "januari", "februari", "maart", "mei", "augustus", "oktober", "ok", "okay", "thanks", "danke", "merci", "grazie", "gracias", "dziękuję", "bedankt", "best", "regards", "team"]
)  # fmt: skip
# Given names that are ordinary words at the start of a sentence, and place words: not counted
# without a cue.
_WEAK_GIVEN = frozenset(
    ["will", "mark", "bill", "grant", "rose", "summer", "may", "june", "april", "august", "hope", "faith", "joy", "grace", "chase", "page", "dean", "guy", "art", "ray", "sky", "paris", "florence", "victoria", "lourdes", "santa", "santo", "san", "saint", "sankt", "mont", "monte", "christian", "china", "india", "asia", "europa", "europe", "iris", "ivy", "olive", "pearl", "ruby", "amber", "crystal", "dawn", "eve", "holly", "lily", "violet", "daisy", "august", "mai", "juni", "juli"]
)  # fmt: skip


@cache
def lexicon() -> tuple[frozenset[str], frozenset[str]]:
    """(given names, surnames), lower-cased, from the shipped data file."""
    raw = resources.files("lockgate.pii").joinpath("data/names.json").read_text(encoding="utf-8")
    data = json.loads(raw)
    given = frozenset(n.lower() for n in data["given"])
    surnames = frozenset(n.lower() for n in data["surnames"])
    return given - _NOT_NAMES, surnames - _NOT_NAMES


_CUE_WORDS = frozenset(
    ["herr", "herrn", "frau", "hr", "fr", "mr", "mrs", "ms", "miss", "mx", "dr", "prof", "professor", "professorin", "monsieur", "madame", "mademoiselle", "m", "mme", "mlle", "me", "signora", "signor", "sig", "ra", "dott", "ssa", "avv", "ing", "sr", "sra", "srta", "señor", "señora", "don", "doña", "dña", "pan", "pani", "pana", "panią", "panem", "panu", "panie", "dhr", "mevr", "mw", "mevrouw", "meneer", "heer", "dear", "hello", "hi", "liebe", "lieber", "liebes", "hallo", "geehrte", "geehrter", "cher", "chère", "bonjour", "gentile", "caro", "cara", "ciao", "buongiorno", "estimado", "estimada", "querido", "querida", "hola", "szanowny", "szanowna", "drogi", "droga", "dzień", "beste", "geachte", "hoi"]
)  # fmt: skip


# The words whose presence lets the name patterns run: salutations and given names.
GATES = SharedLexicon("name", lambda: [Group("cue", _CUE_WORDS), Group("given", lexicon()[0])])
_CUES, _GIVEN = GATES.key("cue"), GATES.key("given")


class NameDetector(ScanDetector):
    needs_signal = False  # names hold neither digits nor "@"

    def __init__(self) -> None:
        self.given, self.surnames = lexicon()
        GATES.prepare()

    def find_in(self, scan: TextScan) -> list[Match]:
        names = scan.memo.get("name")
        if names is None:
            names = scan.memo["name"] = list(self._find(scan))
        assert isinstance(names, list)
        return names

    def _find(self, scan: TextScan) -> Iterator[Match]:
        text = scan.text
        found = GATES.find(scan)
        seen: list[tuple[int, int]] = []

        def fresh(start: int, end: int) -> bool:
            if any(s < end and start < e for s, e in seen):
                return False
            seen.append((start, end))
            return True

        if ":" in text:
            at = text.find(":")
            while at != -1:  # a field label ends at each colon (not a time: "10:30")
                if at > 0 and text[at - 1] not in _NOT_LABEL_END and _label_before(text, at):
                    hit = _FIELD.search(text, max(0, at - _LABEL_REACH), at + _NAME_REACH)
                    if hit is not None and hit.start("name") > at:
                        span = self._accept_field(text, hit)
                        if span is not None and fresh(*span):
                            yield Match("name", text[span[0] : span[1]], *span)
                at = text.find(":", at + 1)
        if "\n" in text:
            line_start = 0
            for line_end in _newlines(text):  # a closing line, then the name alone on the next
                short = line_end - line_start <= 44
                if short and _is_closing(text[line_start:line_end]):
                    hit = _NAME_LINE.match(text, line_end + 1)
                    if hit is not None:
                        span = self._accept_phrase(text, hit, min_words=2, need_lexicon=True)
                        if span is not None and fresh(*span):
                            yield Match("name", text[span[0] : span[1]], *span)
                line_start = line_end + 1
        cues = found[_CUES]
        if cues or ("M" in text and "M. " in text):  # one memchr rules most texts out
            done = 0
            cued_ok = scan.lower_keeps_places
            for start in _cue_starts(scan, cues) if cued_ok else (m.start() for m in _CUED.finditer(text)):
                if start < done:
                    continue
                hit = _CUED.match(text, start)
                if hit is not None:
                    done = hit.end()
                    span = self._accept_cued(text, hit)
                    if span is not None and fresh(*span):
                        yield Match("name", text[span[0] : span[1]], *span)
        given = found[_GIVEN]  # the given names the text holds, lower-cased
        if given:
            for hit in _RUN.finditer(text):
                if hit.start() > 0 and _glued(text[hit.start() - 1]):
                    continue
                run = hit.group().lower()
                if not any(name in run for name in given):
                    continue  # a run holds a name only if one of its words is a given name
                for span in self._lexicon_spans(scan, hit):
                    if fresh(*span):
                        yield Match("name", text[span[0] : span[1]], *span)

    # -- cues ------------------------------------------------------------------------------
    def _accept_cued(self, text: str, hit: re.Match[str]) -> tuple[int, int] | None:
        last = hit.group("last")
        salutation_only = _SALUTATION_RE.fullmatch(last) is not None
        if last in _NOUN_HONORIFICS and not hit.group("cue").strip():
            before = _word_before(text, hit.start())
            if before.lower() in _ARTICLES:
                return None
        return self._accept_phrase(text, hit, min_words=2 if salutation_only else 1, need_lexicon=False)

    def _accept_field(self, text: str, hit: re.Match[str]) -> tuple[int, int] | None:
        weak = hit.group("label").lower() in _WEAK_FIELDS  # "From:", "An:": also a company or a team
        return self._accept_phrase(text, hit, min_words=1, need_lexicon=weak, one_word_lexicon=True)

    def _accept_phrase(
        self,
        text: str,
        hit: re.Match[str],
        *,
        min_words: int,
        need_lexicon: bool,
        one_word_lexicon: bool = False,
    ) -> tuple[int, int] | None:
        start = hit.start("name")
        tokens = [m for m in _WORD_RE.finditer(text, start, hit.end("name"))]
        # skip words that may follow a cue but are no names ("Dear Team", "Sehr geehrte Damen")
        while tokens and tokens[0].group().lower() in _NOT_NAMES:
            tokens.pop(0)
        if not tokens:
            return None
        cut = len(tokens)
        for i, tok in enumerate(tokens):  # "Weber Straße" is a street, "Weber GmbH" a firm
            if tok.group().lower() in _NOT_NAMES or tok.group().lower() in _AFTER_STOP:
                cut = i
                break
        tokens = tokens[:cut]
        if len(tokens) < min_words or not tokens:
            return None
        lowered = [t.group().lower() for t in tokens]
        if need_lexicon and not (lowered[0] in self.given or lowered[-1] in self.surnames):
            return None
        if (
            one_word_lexicon
            and len(tokens) == 1
            and not (lowered[0] in self.surnames or lowered[0] in self.given)
        ):
            return None
        end = tokens[-1].end()
        if cut == len(tokens) and _stops_after(_word_after(text, end)):
            return None
        begin = tokens[0].start()
        if _PARTICLES_RE.fullmatch(text, start, begin):
            begin = start  # "Mevr. de Jong": the particle belongs to the name
        return begin, end

    # -- lexicon ---------------------------------------------------------------------------
    def _lexicon_spans(self, scan: TextScan, hit: re.Match[str]) -> Iterator[tuple[int, int]]:
        text = scan.text
        tokens = [m for m in _WORD_RE.finditer(text, hit.start(), hit.end())]
        if tokens and tokens[-1].end() < len(text) and text[tokens[-1].end()].isalpha():
            tokens.pop()  # "Gmb" of "GmbH": not a word of its own
        lowered = [t.group().lower() for t in tokens]
        given, surnames = self.given, self.surnames
        i = 0
        while i < len(tokens) - 1:
            word = lowered[i]
            if word not in given or (word in _WEAK_GIVEN and not self._role_before(text, tokens[i].start())):
                i += 1
                continue
            if i > 0 and lowered[i - 1] in _BEFORE_STOP:
                i += 1
                continue
            if i == 0 and _word_before(text, tokens[0].start()).lower() in _BEFORE_STOP:
                i += 1
                continue
            j = i + 1
            while j < len(tokens) and lowered[j] in given and lowered[j] not in surnames:
                j += 1  # a second given name: "Anna Maria Weber"
            k = j
            while k < len(tokens) and lowered[k] in surnames and lowered[k] not in _AFTER_STOP:
                k += 1  # one or more surnames: "García López"
            if k == j:
                # no known surname: an unknown capitalised word counts next to a role word
                if (
                    j < len(tokens)
                    and lowered[j] not in _NOT_NAMES
                    and lowered[j] not in _AFTER_STOP
                    and self._role_before(text, tokens[i].start())
                ):
                    k = j + 1
                if k == j:
                    i = j
                    continue
            after = tokens[k].group() if k < len(tokens) else _word_after(text, tokens[k - 1].end())
            if _stops_after(after):
                i = k
                continue
            yield tokens[i].start(), tokens[k - 1].end()
            i = k

    @staticmethod
    def _role_before(text: str, start: int) -> bool:
        """A role word or a verb that takes a person within 40 characters before `start`."""
        return _ROLE.search(text, max(0, start - 40), start) is not None


def _word_before(text: str, pos: int) -> str:
    """The word (or abbreviation) right before `pos`, skipping spaces."""
    end = pos
    while end > 0 and text[end - 1] in " \u00a0":
        end -= 1
    start = end
    while start > 0 and (text[start - 1].isalpha() or text[start - 1] == "."):
        start -= 1
    return text[start:end]


def _word_after(text: str, pos: int) -> str:
    """The word right after `pos`, skipping spaces or one hyphen (`Anne-Frank-Straße`)."""
    start = pos
    while start < len(text) and text[start] in " \u00a0-":
        start += 1
    end = start
    while end < len(text) and (text[end].isalpha() or text[end] in ".&"):
        end += 1
        if text[end - 1] == "&":
            break
    word = text[start:end]
    return word if word.lower() in _AFTER_STOP else word.rstrip(".")


def name_detector(config: PiiConfig) -> NameDetector:
    return NameDetector()
