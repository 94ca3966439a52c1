"""Health data about a person: diagnoses, medications, clinical terms and ICD-10 codes.

A health term is personal data only when it is about someone, so every term needs a
**personal context** within the same passage (150 characters before, 80 after):

* first person: "my", "I have", "ich habe", "mein(e)", "j'ai", "mon/ma", "ho", "mio/mia",
  "tengo", "mi", "mam", "mój/moja", "ik heb", "mijn" ...;
* a single patient or person in a role: "patient", "Patientin", "la patiente", "il paziente",
  "el paciente", "pacjent(ka)", "patiënt", "employee", "Mitarbeiterin", "dipendente" ...;
* clinical verbs about someone: "diagnosed with", "suffers from", "leidet an",
  "souffre de", "soffre di", "padece", "cierpi na", "lijdt aan", "prescribed", "verordnet" ...;
* a field such as "Diagnose:", "diagnosis:", "diagnostic :", "diagnosi:", "diagnóstico:",
  "diagnoza:", "ICD-10:", or sick-leave words ("krankgeschrieben", "arrêt maladie");
* a person's name nearby (the name detector's findings for the same text).

A medical article ("Type 2 diabetes affects 400 million people; patients should ...") has
none of these and is not reported. Plural "patients", "Patienten", "pazienti" do not count.

Terms (`_TERMS`) are a hand-compiled lexicon of common diagnoses, conditions, treatments and
medicines in the seven languages, written for lockgate from general medical vocabulary and the
WHO International Nonproprietary Names of medicines (INN, which are free to use); the ICD-10
*code shape* follows WHO's classification (letter, two digits, optional decimals) and no ICD
text is copied. ICD-10 codes count next to "ICD" or a diagnosis word.

Quality (`bench/pii_quality.py`, kind `health`, overlap matching): precision 1.000 / recall 1.000 on the labelled set (224 terms), 1.000 / 0.949
on the blind set written after tuning (`pii_blind2.jsonl`, 39 terms);
per language in `docs/pii.md`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from lockgate.pii.base import ScanDetector
from lockgate.pii.candidates import TextScan
from lockgate.pii.config import PiiConfig
from lockgate.pii.findings import Match
from lockgate.pii.lexicon import Group, SharedLexicon
from lockgate.pii.names import NameDetector

_T = r"(?:[ -]?(?:typ(?:e|u)?|tipo|de tipo|di tipo)[ -]?(?:[12]|i{1,2}|one|two))"
_MED = (  # INN stems; the endings cover the spellings of the seven languages
    "metformin", "insulin", "sertralin", "fluoxetin", "citalopram", "escitalopram", "venlafaxin",
    "quetiapin", "olanzapin", "risperidon", "methylphenidat", "metilfenidat", "levothyroxin",
    "levotiroxin", "atorvastatin", "simvastatin", "ramipril", "lisinopril", "amlodipin", "bisoprolol",
    "metoprolol", "warfarin", "apixaban", "rivaroxaban", "methotrexat", "metotrexat", "adalimumab",
    "prednisolon", "prednison", "tamoxifen", "morphin", "morfin", "oxycodon", "ossicodon", "tramadol",
    "pregabalin", "gabapentin", "levetiracetam", "lamotrigin", "salbutamol", "lithium", "litio", "lit",
    "diazepam", "lorazepam", "alprazolam", "zolpidem", "buprenorphin", "methadon", "metadon",
    "interferon", "antiretroviral", "antidepressiv", "antidepressant", "antidepresiv", "antidepresyjn",
    "insulin", "insulín", "ozempic", "semaglutid", "liraglutid",
)  # fmt: skip
_MED_RE = r"(?:" + "|".join(sorted({re.escape(m) for m in _MED}, key=len, reverse=True)) + r")\w{0,3}"
_TERMS = (
    # English
    r"type[ -]?(?:[12]|i{1,2}|one|two) diabetes", rf"diabetes(?: mellitus)?{_T}?", "prediabetes",
    "major depressive disorder", "depression", "depressive episode", "anxiety disorder", "panic attacks?",
    "burn-?out", "breast cancer", "lung cancer", "prostate cancer", "colon cancer", "skin cancer",
    "cancer", "leuka?emia", "lymphoma", "brain tumou?r", "tumou?r", "asthma", "copd", "hiv(?:[ -]positive)?",
    "hepatitis(?: [abc])?", "epilepsy", "seizures?", "schizophrenia", "bipolar disorder", "adhd", "autism",
    "dementia", "alzheimer(?:'?s)?(?: disease)?", "parkinson(?:'?s)?(?: disease)?", "multiple sclerosis",
    "hypertension", "high blood pressure", "heart attack", "myocardial infarction", "heart failure",
    "stroke", "pregnant", "pregnancy", "miscarriage", "long covid", "covid-19", "chemotherapy",
    "radiotherapy", "dialysis", "chronic kidney disease", "kidney failure", "rheumatoid arthritis",
    "arthritis", "migraines?", "herniated disc", "slipped disc", "crohn'?s disease", "ulcerative colitis",
    "coeliac disease", "celiac disease", "zöliakie", "maladie cœliaque", "celiachia", "celiaquía", "celiakia", "coeliakie", "insuffisance cardiaque", "scompenso cardiaco", "insuficiencia cardíaca", r"niewydolności? serca", "hartfalen", "anorexia", "bulimia", "eating disorder", "ptsd",
    "post-traumatic stress disorder", "sick leave", "sick note", "broken (?:arm|leg|wrist|ankle|hip)",
    # German
    r"typ[ -]?[12][ -]diabetes", "zuckerkrankheit", "depressionen", "depressive episode", "angststörung",
    "panikattacken?", r"\w*krebs", "tumorerkrankung", "leukämie", "lymphom", "epilepsie",
    "schizophrenie", "bipolare störung", "adhs", "autismus", "demenz", r"morbus \w+", "multiple[nr]? sklerose",
    "bluthochdruck", "hypertonie", "herzinfarkt", "herzinsuffizienz", "schlaganfall", "schwanger",
    "schwangerschaft", "fehlgeburt", "chemotherapie", "strahlentherapie", "dialyse", "niereninsuffizienz",
    "rheuma", "rheumatoide arthritis", "migräne", "bandscheibenvorfall", "essstörung", "magersucht",
    "krankgeschrieben", r"arbeitsunfähigkeit(?:sbescheinigung)?", "au-bescheinigung", "krankmeldung",
    "posttraumatische belastungsstörung", "alkoholabhängigkeit", "suchterkrankung",
    # French
    rf"diabète{_T}?", "dépression", "trouble anxieux", "crises? d'angoisse", "cancer du sein",
    "cancer du poumon", "tumeur", "leucémie", "lymphome", "asthme", "vih", "séropositif", "séropositive",
    "hépatite(?: [abc])?", "épilepsie", "schizophrénie", "trouble bipolaire", "tdah", "autisme",
    "démence", "maladie d'alzheimer", "maladie de parkinson", "sclérose en plaques",
    r"hypertension(?: artérielle)?", "infarctus", "avc", "accident vasculaire cérébral", "enceinte",
    "grossesse", "fausse couche", "chimiothérapie", "radiothérapie", "dialyse", "insuffisance rénale",
    "polyarthrite rhumatoïde", "arthrite", "hernie discale", "arrêt maladie", "arrêt de travail",
    "maladie de crohn", "trouble alimentaire", "syndrome de stress post-traumatique",
    # Italian
    rf"diabete{_T}?", "depressione", "disturbo d'ansia", "attacchi di panico", "cancro", "tumore",
    "carcinoma", "leucemia", "linfoma", "asma", "epatite(?: [abc])?", "epilessia", "schizofrenia",
    "disturbo bipolare", "autismo", "demenza", "morbo di \\w+", "sclerosi multipla", "ipertensione",
    "infarto", "ictus", "incinta", "gravidanza", "aborto spontaneo", "chemioterapia", "radioterapia",
    "dialisi", "insufficienza renale", "artrite reumatoide", "artrite", "emicrania", "ernia del disco",
    "certificato medico", "in malattia", "congedo per malattia", "disturbo alimentare",
    # Spanish
    rf"diabetes{_T}", "depresión", "trastorno de ansiedad", "ataques de pánico", "cáncer",
    "cáncer de mama", "tumor", "leucemia", "linfoma", "asma", "vih", "hepatitis", "epilepsia",
    "esquizofrenia", "trastorno bipolar", "tdah", "autismo", "demencia", "enfermedad de \\w+",
    "esclerosis múltiple", "hipertensión", "infarto", "ictus", "embarazada", "embarazo",
    "aborto espontáneo", "quimioterapia", "radioterapia", "diálisis", "insuficiencia renal",
    "artritis reumatoide", "artritis", "migraña", "hernia discal", "baja médica", "baja por enfermedad",
    "trastorno alimentario",
    # Polish
    r"cukrzyc\w{1,3}(?: typu [12])?", r"depresj\w{1,3}", r"zaburzeni\w{1,3} lękow\w{1,3}", r"nowotw[oó]r\w*",
    r"rak(?:a|iem)? (?:piersi|płuc|jelita|prostaty|skóry)", r"białaczk\w{1,3}", r"chłonia\w*", r"astm\w{1,3}",
    r"padaczk\w{1,3}", r"epilepsj\w{1,3}", r"schizofreni\w{1,3}", "choroba afektywna dwubiegunowa",
    r"autyzm\w*", r"demencj\w{1,3}", r"chorob\w{1,3} alzheimera", r"chorob\w{1,3} parkinsona",
    r"stwardnieni\w{1,3} rozsian\w*", r"nadciśnieni\w{1,3}(?: tętnicz\w+)?", r"zawał\w*(?: serca)?", r"udar\w*(?: mózgu)?",
    "w ciąży", r"ciąż[aąyę]", r"poronieni\w{1,3}", r"chemioterapi\w{1,3}", r"radioterapi\w{1,3}", r"dializ\w{1,3}",
    r"migren\w{1,3}", r"przepuklin\w{1,3} dysku", r"zwolnieni\w{1,3} lekarski\w*", "l4",
    # Dutch
    r"suikerziekte", "depressie", "angststoornis", "paniekaanvallen", r"\w*kanker", "leukemie",
    "lymfoom", "astma", "epilepsie", "schizofrenie", "bipolaire stoornis", "autisme", "dementie",
    r"ziekte van \w+", "multiple sclerose", "hoge bloeddruk", "hypertensie", "hartinfarct",
    "hartaanval", "beroerte", "zwanger", "zwangerschap", "miskraam", "chemotherapie", "dialyse",
    "nierfalen", "reuma", "reumatoïde artritis", "migraine", "hernia", "ziekgemeld", "ziekmelding",
    "ziek gemeld", "eetstoornis",
    # medicines and shared terms
    _MED_RE, "hiv", "aids", "covid(?:-19)?", "adhd", "ptbs", "ptsd",
)  # fmt: skip
_TERM_RE = re.compile(
    r"(?<![\w-])(?:" + "|".join(sorted(set(_TERMS), key=len, reverse=True)) + r")(?![\w-])", re.IGNORECASE
)
_WORD_START = re.compile(r"(?<![\w-])\w")
# ICD-10: a letter (not U), two digits, optional decimals: E11.9, F32.1, J45, C50.9
_ICD = re.compile(r"(?<![\w.])[A-TV-Z][0-9]{2}(?:\.[0-9]{1,2}[A-Z]?)?(?![\w])")
_ICD_CUE = re.compile(r"(?i:icd(?:-?10)?(?:-gm)?|diagnos\w*|diagnoz\w*|dx)\b")

# Words (lower-cased) whose presence lets the term pattern run at all: cheap set look-ups.
_KEYS = frozenset(
    [
        "diabetes",
        "diabète",
        "diabete",
        "cukrzyca",
        "cukrzycy",
        "cukrzycę",
        "cukrzycą",
        "suikerziekte",
        "zuckerkrankheit",
        "prediabetes",
        "depression",
        "depressionen",
        "dépression",
        "depressione",
        "depresión",
        "depresja",
        "depresji",
        "depresję",
        "depresją",
        "depressie",
        "anxiety",
        "angststörung",
        "anxieux",
        "ansia",
        "ansiedad",
        "lękowe",
        "angststoornis",
        "panic",
        "panik",
        "panikattacke",
        "panikattacken",
        "angoisse",
        "panico",
        "pánico",
        "paniekaanvallen",
        "burnout",
        "burn",
        "out",
        "cancer",
        "cancro",
        "cáncer",
        "kanker",
        "rak",
        "raka",
        "rakiem",
        "nowotwór",
        "nowotworu",
        "nowotworem",
        "krebs",
        "tumor",
        "tumour",
        "tumore",
        "tumeur",
        "tumorerkrankung",
        "carcinoma",
        "leukemia",
        "leukaemia",
        "leukämie",
        "leucémie",
        "leucemia",
        "leukemie",
        "białaczka",
        "białaczki",
        "białaczkę",
        "lymphoma",
        "lymphom",
        "lymphome",
        "linfoma",
        "lymfoom",
        "chłoniak",
        "asthma",
        "asthme",
        "asma",
        "astma",
        "astmy",
        "copd",
        "hiv",
        "vih",
        "aids",
        "hepatitis",
        "hépatite",
        "epatite",
        "epilepsy",
        "epilepsie",
        "épilepsie",
        "epilessia",
        "epilepsia",
        "padaczka",
        "padaczki",
        "epilepsja",
        "seizure",
        "seizures",
        "schizophrenia",
        "schizophrenie",
        "schizophrénie",
        "schizofrenia",
        "esquizofrenia",
        "schizofrenie",
        "schizofrenii",
        "bipolar",
        "bipolare",
        "bipolaire",
        "dwubiegunowa",
        "adhd",
        "adhs",
        "tdah",
        "autism",
        "autismus",
        "autisme",
        "autismo",
        "autyzm",
        "autyzmu",
        "dementia",
        "demenz",
        "démence",
        "demenza",
        "demencia",
        "demencja",
        "demencji",
        "dementie",
        "alzheimer",
        "alzheimers",
        "alzheimera",
        "parkinson",
        "parkinsons",
        "parkinsona",
        "sclerosis",
        "sklerose",
        "sclérose",
        "sclerosi",
        "esclerosis",
        "stwardnienie",
        "sclerose",
        "hypertension",
        "hypertonie",
        "ipertensione",
        "hipertensión",
        "nadciśnienie",
        "nadciśnienia",
        "hypertensie",
        "bluthochdruck",
        "blood",
        "bloeddruk",
        "heart",
        "herzinfarkt",
        "infarctus",
        "infarto",
        "zawał",
        "zawału",
        "hartinfarct",
        "hartaanval",
        "herzinsuffizienz",
        "stroke",
        "schlaganfall",
        "avc",
        "ictus",
        "udar",
        "udaru",
        "beroerte",
        "pregnant",
        "pregnancy",
        "schwanger",
        "schwangerschaft",
        "enceinte",
        "grossesse",
        "incinta",
        "gravidanza",
        "embarazada",
        "embarazo",
        "ciąży",
        "ciąża",
        "zwanger",
        "zwangerschap",
        "miscarriage",
        "fehlgeburt",
        "fausse",
        "aborto",
        "poronienie",
        "miskraam",
        "covid",
        "chemotherapy",
        "chemotherapie",
        "chimiothérapie",
        "chemioterapia",
        "quimioterapia",
        "chemioterapii",
        "radiotherapy",
        "strahlentherapie",
        "radiothérapie",
        "radioterapia",
        "radioterapii",
        "dialysis",
        "dialyse",
        "dialisi",
        "diálisis",
        "dializa",
        "dializy",
        "kidney",
        "niereninsuffizienz",
        "rénale",
        "renale",
        "renal",
        "nierfalen",
        "arthritis",
        "arthrite",
        "artrite",
        "artritis",
        "rheuma",
        "reuma",
        "migraine",
        "migraines",
        "migräne",
        "emicrania",
        "migraña",
        "migrena",
        "migreny",
        "herniated",
        "slipped",
        "bandscheibenvorfall",
        "hernie",
        "ernia",
        "hernia",
        "przepuklina",
        "crohn",
        "crohns",
        "colitis",
        "coeliac",
        "celiac",
        "anorexia",
        "bulimia",
        "eating",
        "essstörung",
        "magersucht",
        "alimentaire",
        "alimentare",
        "alimentario",
        "eetstoornis",
        "ptsd",
        "ptbs",
        "posttraumatische",
        "traumatic",
        "sick",
        "krankgeschrieben",
        "arbeitsunfähigkeit",
        "arbeitsunfähigkeitsbescheinigung",
        "krankmeldung",
        "arrêt",
        "certificato",
        "malattia",
        "congedo",
        "baja",
        "zwolnienie",
        "l4",
        "ziekgemeld",
        "ziekmelding",
        "ziek",
        "morbus",
        "morbo",
        "enfermedad",
        "choroba",
        "choroby",
        "chorobę",
        "ziekte",
        "maladie",
        "séropositif",
        "séropositive",
        "alkoholabhängigkeit",
        "suchterkrankung",
        "broken",
        "insuffisance",
        "insufficienza",
        "insuficiencia",
        "trastorno",
        "disturbo",
        "zaburzenia",
        "zaburzenie",
        "zöliakie",
        "celiachia",
        "celiaquía",
        "celiakia",
        "coeliakie",
        "cœliaque",
        "cardiaque",
        "cardiaco",
        "cardíaca",
        "serca",
        "hartfalen",
        "depressive",
        "ataques",
        "attacchi",
        "angoisse",
    ]
) | frozenset(m.lower() for m in _MED)
_SUFFIXES = ("krebs", "kanker", "itis", "karzinom")
# A word that starts with a key's first six letters (a five-letter key: the key) may be an
# inflection of it ("diabetic", "tumors"). Six, not five: "migra" would take in every "migration".
_PREFIX = 6
_KEY_PREFIXES = frozenset(k[:_PREFIX] for k in _KEYS if len(k) >= _PREFIX - 1)

_PERSONAL = re.compile(
    r"(?i:\bmy\b|\bi (?:have|had|am|was|suffer|take|got|'ve)|\bi'(?:m|ve)\b|\bme\b|\bmyself\b|"
    r"\bhe (?:has|had|is|was|takes|suffers)|\bshe (?:has|had|is|was|takes|suffers)|"
    r"\bpatient\b|\bemployee\b|\bcolleague\b|\bdiagnosed\b|\bsuffers? from\b|\bsuffering from\b|"
    r"\bprescribed\b|\btreated for\b|\badmitted\b|\bon sick leave\b|"
    r"\bich\b|\bmein(?:e|er|em|en)?\b|\bmir\b|\bmich\b|\bpatientin\b|"
    r"\bder patient\b|\bdes patienten\b|\bmitarbeiter(?:in)?\b|\bkolleg(?:e|in)\b|\bleidet\b|"
    r"\berkrankt\b|\bdiagnostiziert\b|\bverschrieben\b|\bverordnet\b|"
    r"\bje\b|\bj'|\bmon\b|\bma\b|\bmes\b|\bmoi\b|\bpatiente?\b|\bsouffre\b|"
    r"\batteinte?\b|\bdiagnostiquée?\b|\bprescrit\b|\bsalariée?\b|\bcollègue\b|\bm'a\b|"
    r"\bho\b|\bmio\b|\bmia\b|\bmiei\b|\bmie\b|\bpaziente\b|\bsoffre\b|\baffett[oa]\b|"
    r"\bdiagnosticat[oa]\b|\bprescritt[oa]\b|\bdipendente\b|\bcollega\b|"
    r"\btengo\b|\bmis?\b|\bme\b|\bpaciente\b|\bpadece\b|\bsufre\b|\bdiagnosticad[oa]\b|"
    r"\brecetad[oa]\b|\bemplead[oa]\b|\bcompañer[oa]\b|\bestoy\b|"
    r"\bmam\b|\bmój\b|\bmoja\b|\bmoje\b|\bmojego\b|\bmojej\b|\bmnie\b|\bjestem\b|\bpacjent(?:ka|a|ki)?\b|"
    r"\bcierpi\b|\bchoruje\b|\bzdiagnozowan\w*|\bprzepisan\w*|\bpracowni(?:k|ca|ka)\b|\bkolega\b|"
    r"\bkoleżanka\b|"
    r"\bik\b|\bmijn\b|\bmij\b|\bpatiënte?\b|\blijdt\b|\bgediagnosticeerd\b|"
    r"\bvoorgeschreven\b|\bmedewerker\b|\bheb\b|\bis\s+(?:ziek|zwanger)\b|"
    r"\b(?:diagn\w*|befund|anamn\w*|icd(?:-?10)?|referto|informe|rozpoznanie|verslag)\s*:)"
)
_BEFORE, _AFTER = 150, 80
_TERM_REACH = 40  # the longest term reaches this far from its key word


# Everyday business words that share a key's six-letter start ("certificate" with
# "certificato", "interface" with "interferon", "grossen" with "grossesse") or are a key only
# in a health phrase ("broken"), but never start a term: skipping them keeps the term pattern
# off ordinary prose, where it is the scan's most expensive step. (Five-letter stems needed
# many more: "migration" started like "migraine".)
_NOT_KEYS = frozenset((
    "interface", "interfaces", "certificate", "certificates", "certified", "certification", "broken",
    "grosse", "grossen", "grosser",
))  # fmt: skip


# Key words, key prefixes and key suffixes, found in one pass (`lockgate.pii.lexicon`); "icd"
# lets the ICD-10 cue run.
GATES = SharedLexicon("health", lambda: [
    Group("key", _KEYS), Group("prefix", _KEY_PREFIXES, "prefix"), Group("suffix", frozenset(_SUFFIXES), "suffix"),
    Group("icd", frozenset(["icd"])), Group("diagn", frozenset(["diagn"]), "infix"),
])  # fmt: skip


_KEY, _STEM, _END, _ICD_WORD, _DIAGN = map(GATES.key, ("key", "prefix", "suffix", "icd", "diagn"))


def _key_words(scan: TextScan) -> tuple[frozenset[str], bool]:
    """The words of a text that may belong to a health term: a key, a word that starts with a
    key prefix (`_KEY_PREFIXES`), or one with a key suffix ("Darmkrebs"), less the business
    words in `_NOT_KEYS`; and whether an ICD-10 cue may stand in it (the word "icd", or
    "diagn" in a word)."""
    found = GATES.find(scan)
    keys = (found[_KEY] | found[_STEM] | found[_END]) - _NOT_KEYS
    return keys, bool(found[_ICD_WORD] or found[_DIAGN])


def _sentence_window(text: str, start: int, end: int) -> tuple[int, int]:
    """The passage around a term: up to 150 characters before and 80 after, not past a blank line."""
    lo = max(0, start - _BEFORE)
    para = text.rfind("\n\n", lo, start)
    if para != -1:
        lo = para
    hi = min(len(text), end + _AFTER)
    para = text.find("\n\n", end, hi)
    if para != -1:
        hi = para
    return lo, hi


class HealthDetector(ScanDetector):
    needs_signal = False  # "my diagnosis: diabetes" holds neither a digit nor "@"

    def __init__(self, names: NameDetector | None = None) -> None:
        self.names = names or NameDetector()
        GATES.prepare()

    def find_in(self, scan: TextScan) -> Iterator[Match]:
        text = scan.text
        keys, icd_cue = _key_words(scan)  # most texts stop here, or at the ICD cue
        icd = icd_cue and _ICD_CUE.search(text) is not None
        if not (keys or icd):
            return
        hits: list[tuple[int, int]] = []
        if keys:
            hits += _term_spans(scan, keys)
        if icd:
            for m in _ICD.finditer(text):
                if _ICD_CUE.search(text, max(0, m.start() - 40), m.start()) is not None:
                    hits.append(m.span())
        if not hits:
            return
        names: list[Match] | None = None
        for start, end in sorted(hits):
            lo, hi = _sentence_window(text, start, end)
            personal = _PERSONAL.search(text, lo, hi) is not None
            if not personal:
                if names is None:
                    names = list(self.names.find_in(scan))
                personal = any(lo <= n.start < hi for n in names)
            if personal:
                yield Match("health", text[start:end], start, end)


def _term_spans(scan: TextScan, keys: frozenset[str]) -> list[tuple[int, int]]:
    """Health terms around each occurrence of a key word (the pattern runs on small windows).

    A term holds its key word and reaches at most `_TERM_REACH` characters either side of it.
    """
    text, lowered = scan.text, scan.lowered
    if not scan.lower_keeps_places:
        return [m.span() for m in _TERM_RE.finditer(text)]
    spans: set[tuple[int, int]] = set()
    for word in keys:
        at = lowered.find(word)
        while at != -1:
            # a term starts at a word start at most `_TERM_REACH` before its key word: try the
            # pattern only there (anchored), not at every position of the window, which costs
            # the whole alternation at each character
            hi = min(len(text), at + len(word) + _TERM_REACH)
            for start in _WORD_START.finditer(text, max(0, at - _TERM_REACH), at + 1):
                m = _TERM_RE.match(text, start.start(), hi)
                if m is not None and m.start() <= at < m.end():
                    spans.add(m.span())
            at = lowered.find(word, at + len(word))
    # keep the longest term at each place ("diabetes mellitus typ 2" over "diabetes")
    kept: list[tuple[int, int]] = []
    for span in sorted(spans, key=lambda sp: (sp[0], -sp[1])):
        if not kept or span[0] >= kept[-1][1]:
            kept.append(span)
    return kept


def health_detector(config: PiiConfig) -> HealthDetector:
    return HealthDetector()
