"""The words out-of-office replies date an absence with, one table per language.

Data for :mod:`approvals.replies.absence`, which folds every entry as the
verdict reader does (lower case, accents stripped: "Dezember", "décembre" and
"DECEMBRE" are one entry) and merges the tables: the reader does not guess a
reply's language, except to order the day and month of "03/04" (below).

Fields of :class:`AbsenceWords`:

* ``day_first``: how the language writes a numeric date: True for 14/12,
  None where both orders are written (English: see ``US_STYLE``/``UK_STYLE``).
* ``months``: twelve tuples, the names and abbreviations of each month.
  Abbreviations that are common words elsewhere are left out (see ``LEFT_OUT``).
* ``weekdays``: may stand between a keyword and its date ("back on Monday, 14
  December", "bis Freitag, 12.12.").
* ``back``: before a date, the day of return ("back on", "zurück am", "de retour
  le", "rientro il").
* ``until``: before a date, the last day away as written ("until", "bis
  einschließlich", "jusqu'au", "hasta el", "tot en met", "fino al", "até").
* ``range_to``: between the two ends of a range ("10 to 14 December", "vom 10.
  bis 14.12.", "du 10 au 14 décembre", "del 10 al 14", "10–14"): the second end
  is the last day away.
* ``since``: before a date that a return word follows ("Ab 15.12. bin ich wieder
  im Büro", "Le 15 décembre je serai de retour", "A partir del 15 estaré de vuelta").
* ``return_words``: those return words, within five words after such a date.
* ``fillers``: words that may stand between a keyword and its date ("back in the
  office on", "wieder im Büro ab dem", "de retour au bureau le").
* ``negations``: right before a ``back`` keyword they drop it ("not back on the
  14th"): an ``until`` keyword in the same sentence then gives the date.

Everything here is the author's working knowledge of these languages and of the
out-of-office texts of Outlook, Gmail and Exchange; it needs a native speaker's
review before it is relied on, as the verdict tables do.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AbsenceWords:
    code: str  # BCP 47, as in approvals.replies.languages
    name: str
    day_first: bool | None
    months: tuple[tuple[str, ...], ...]
    weekdays: tuple[str, ...]
    back: tuple[str, ...]
    until: tuple[str, ...]
    range_to: tuple[str, ...]
    since: tuple[str, ...]
    return_words: tuple[str, ...]
    fillers: tuple[str, ...]
    negations: tuple[str, ...]


ENGLISH = AbsenceWords(
    code="en",
    name="English",
    day_first=None,
    months=(
        ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"),
        ("may",), ("june", "jun"), ("july", "jul"), ("august", "aug"),
        ("september", "sept", "sep"), ("october", "oct"), ("november", "nov"),
        ("december", "dec"),
    ),
    weekdays=(
        "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "mon",
        "tue", "tues", "wed", "thu", "thur", "thurs", "fri", "sat", "sun",
    ),
    back=(
        "back", "return", "returning", "returns", "i return", "available again",
        "available", "in the office again",
    ),
    until=("until", "till", "til", "through", "thru", "up to and including", "up to"),
    range_to=("to", "until", "till", "through", "thru"),
    since=("from", "as of", "starting", "beginning", "on"),
    return_words=("back", "return", "returning", "again"),
    fillers=(
        "on", "in", "the", "office", "at", "work", "my", "desk", "to", "from", "by", "again",
        "as", "of", "starting", "and", "including", "inclusive", "be", "will",
    ),
    negations=("not", "never", "won't", "wont", "isn't", "aren't"),
)  # fmt: skip

GERMAN = AbsenceWords(
    code="de",
    name="German",
    day_first=True,
    months=(
        ("januar", "jänner", "jan"), ("februar", "feber", "feb"), ("märz", "mär", "mrz"),
        ("april", "apr"), ("mai",), ("juni", "jun"), ("juli", "jul"), ("august", "aug"),
        ("september", "sept", "sep"), ("oktober", "okt"), ("november", "nov"),
        ("dezember", "dez"),
    ),
    weekdays=(
        "montag", "dienstag", "mittwoch", "donnerstag", "freitag", "samstag", "sonnabend",
        "sonntag", "mo", "di", "mi", "do", "fr", "sa", "so",
    ),
    back=(
        "zurück", "wieder", "rückkehr", "wieder erreichbar", "wieder da", "erreichbar",
        "wieder im büro",
    ),
    until=(
        "bis", "bis einschließlich", "bis einschl", "bis inklusive", "bis inkl", "bis zum",
        "bis und mit",
    ),
    range_to=("bis",),
    since=("ab", "ab dem", "am", "ab kommendem", "ab nächstem"),
    return_words=("wieder", "zurück"),
    fillers=(
        "am", "ab", "dem", "den", "zum", "im", "ins", "büro", "einschließlich", "einschl", "inkl",
        "inklusive", "und", "mit", "wieder", "da", "erreichbar", "zu", "erreichen", "für", "sie",
        "voraussichtlich",
    ),
    negations=("nicht", "kein", "keine", "nie"),
)  # fmt: skip

FRENCH = AbsenceWords(
    code="fr",
    name="French",
    day_first=True,
    months=(
        ("janvier", "janv"), ("février", "févr", "fév"), ("mars",), ("avril", "avr"), ("mai",),
        ("juin",), ("juillet", "juil"), ("août",), ("septembre", "sept"), ("octobre", "oct"),
        ("novembre", "nov"), ("décembre", "déc"),
    ),
    weekdays=(
        "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche", "lun", "mer",
        "jeu", "ven", "sam", "dim",
    ),
    back=(
        "de retour", "retour", "je rentre", "rentre", "rentrerai", "reviens", "reviendrai",
        "disponible", "de nouveau disponible",
    ),
    until=("jusqu'au", "jusqu'à", "jusqu'a", "jusqu'au et y compris"),
    range_to=("au", "à", "jusqu'au"),
    since=("à partir du", "a partir du", "à compter du", "dès le", "le"),
    return_words=("de retour", "de nouveau", "à nouveau"),
    fillers=(
        "le", "la", "au", "du", "bureau", "à", "partir", "compter", "de", "dès", "inclus", "y",
        "compris", "et", "je", "serai", "nouveau", "disponible",
    ),
    negations=("pas", "ne", "jamais", "non"),
)  # fmt: skip

SPANISH = AbsenceWords(
    code="es",
    name="Spanish",
    day_first=True,
    months=(
        ("enero", "ene"), ("febrero", "feb"), ("marzo", "mar"), ("abril", "abr"), ("mayo", "may"),
        ("junio", "jun"), ("julio", "jul"), ("agosto",), ("septiembre", "setiembre", "sept", "sep"),
        ("octubre", "oct"), ("noviembre", "nov"), ("diciembre", "dic"),
    ),
    weekdays=(
        "lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo",
    ),
    back=(
        "de vuelta", "vuelta", "regreso", "regresaré", "vuelvo", "volveré", "me reincorporo",
        "me reincorporaré", "disponible",
    ),
    until=("hasta", "hasta el"),
    range_to=("al", "a", "hasta el"),
    since=("a partir del", "desde el", "el"),
    return_words=("de vuelta", "de nuevo", "regreso", "vuelvo"),
    fillers=(
        "el", "la", "en", "oficina", "día", "partir", "a", "del", "de", "desde", "incluido",
        "inclusive", "y", "estaré",
    ),
    negations=("no", "nunca"),
)  # fmt: skip

DUTCH = AbsenceWords(
    code="nl",
    name="Dutch",
    day_first=True,
    months=(
        ("januari", "jan"), ("februari", "feb"), ("maart", "mrt"), ("april", "apr"), ("mei",),
        ("juni", "jun"), ("juli", "jul"), ("augustus", "aug"), ("september", "sept", "sep"),
        ("oktober", "okt"), ("november", "nov"), ("december", "dec"),
    ),
    weekdays=(
        "maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag", "ma",
        "di", "wo", "do", "vr", "za", "zo",
    ),
    back=("terug", "weer", "weer aanwezig", "weer bereikbaar", "bereikbaar", "aanwezig"),
    until=("tot", "tot en met", "t/m", "tot met"),
    range_to=("tot", "tot en met", "t/m"),
    since=("vanaf", "op"),
    return_words=("weer", "terug"),
    fillers=(
        "op", "de", "het", "kantoor", "vanaf", "en", "met", "weer", "aanwezig", "bereikbaar",
    ),
    negations=("niet", "geen", "nooit"),
)  # fmt: skip

ITALIAN = AbsenceWords(
    code="it",
    name="Italian",
    day_first=True,
    months=(
        ("gennaio", "gen"), ("febbraio", "feb"), ("marzo", "mar"), ("aprile", "apr"),
        ("maggio", "mag"), ("giugno", "giu"), ("luglio", "lug"), ("agosto",),
        ("settembre", "sett"), ("ottobre", "ott"), ("novembre", "nov"), ("dicembre", "dic"),
    ),
    weekdays=(
        "lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato", "domenica",
    ),
    back=(
        "rientro", "rientrerò", "ritorno", "tornerò", "di ritorno", "di nuovo", "disponibile",
    ),
    until=("fino al", "fino a", "sino al", "fino a tutto il"),
    range_to=("al", "a"),
    since=("dal", "a partire dal", "il"),
    return_words=("di nuovo", "rientro", "rientrerò", "tornerò", "nuovamente", "di ritorno"),
    fillers=(
        "il", "lo", "la", "in", "ufficio", "sede", "dal", "al", "a", "partire", "giorno",
        "incluso", "compreso", "di", "nuovo", "sarò",
    ),
    negations=("non", "mai"),
)  # fmt: skip

PORTUGUESE = AbsenceWords(
    code="pt",
    name="Portuguese",
    day_first=True,
    months=(
        ("janeiro", "jan"), ("fevereiro", "fev"), ("março", "mar"), ("abril", "abr"),
        ("maio", "mai"), ("junho", "jun"), ("julho", "jul"), ("agosto",), ("setembro",),
        ("outubro",), ("novembro", "nov"), ("dezembro", "dez"),
    ),
    weekdays=(
        "segunda-feira", "terça-feira", "quarta-feira", "quinta-feira", "sexta-feira", "sábado",
        "domingo", "segunda", "terça", "quarta", "quinta", "sexta",
    ),
    back=(
        "de volta", "volta", "regresso", "retorno", "voltarei", "retornarei", "regressarei",
        "disponível",
    ),
    until=("até", "até o dia", "até ao dia", "até dia"),
    range_to=("a", "até", "ao"),
    since=("a partir de", "a partir do dia", "no dia", "em"),
    return_words=("de volta", "novamente", "regresso", "retorno"),
    fillers=(
        "o", "a", "ao", "no", "em", "dia", "escritório", "partir", "de", "do", "da", "inclusive",
        "estarei",
    ),
    negations=("não", "nunca"),
)  # fmt: skip

ABSENCE_LANGUAGES: tuple[AbsenceWords, ...] = (
    ENGLISH, GERMAN, FRENCH, SPANISH, DUTCH, ITALIAN, PORTUGUESE,
)  # fmt: skip

# English writes 03/04 both ways. Read month first only when the text shows US usage and
# no British one, day first only the other way round; otherwise "03/04" gives no date.
US_STYLE = ("vacation", "pto", "out of pocket", "thanksgiving", "labor day", "memorial day")
UK_STYLE = ("annual leave", "bank holiday", "on holiday")

# Month abbreviations left out: words of these languages that a number may stand beside.
LEFT_OUT = (
    ("ago", "es/it August", "English 'ago' ('2 days ago')"),
    ("set", "it/pt September", "English 'set'"),
    ("out", "pt October", "English 'out' ('out 14 December')"),
)
