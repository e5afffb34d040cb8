"""The words our verdict reader knows, one table per language, in native spelling.

Data for :mod:`approvals.replies.verdicts`, which folds every entry with its own
``fold`` (lower case, accents stripped, Greek final sigma as sigma, Turkish
dotless i as i, Arabic teh marbuta as heh…) after removing bidi controls,
zero-width characters, tatweel and loose combining marks, then splits it into
words as it splits a reply. So "Jóváhagyom", "JOVAHAGYOM" and "jóváhagyom"
are one entry, and entries are written here as a native speaker types them.

The tables are merged: the reader does not guess the language of a reply. An
entry therefore has to mean the same thing in every supported language, and
a word that is ambiguous in its own language at the start of a reply, or that
means something else in another of these languages, is left out rather than
guessed (see ``LEFT_OUT``). For example "tak" is Polish "yes" but Danish and
Norwegian "thanks", so Polish has no weak "yes": Polish approvers are read
from "Zatwierdzam", "Zatwierdzone", "Zgoda", "OK".

Fields of :class:`Language`:

* ``approve``/``reject``: strong phrases. They may be followed by anything
  ("Genehmigt, bitte am Montag ausrollen" gives the comment).
* ``yes``/``no``: weak words. They count alone, before a strong phrase of the
  same side, or with a separator and at most five words after them. Nouns
  that are the labels of approval buttons ("Έγκριση", "Jóváhagyás", "승인")
  are weak too: "승인 요청" ("approval request") must not read as approval.
* ``negations_before``: a negation right before a strong phrase turns an
  approval into a rejection ("nicht genehmigt", "δεν εγκρίνω"). Only words
  that are negations in every language where they are words belong here
  (Portuguese "no", "in the", never stands before a verdict word).
* ``negations_after``: negations that follow the verb ("Jag godkänner inte",
  "I approve not"). Any negation of either list later in the verdict's
  sentence gives no verdict; one of this list opening the next sentence or
  line takes a verdict back too ("Approved.\nNot until Friday"). A wrong
  entry only costs a verdict, it never flips one.
* ``conditions``: right after a verdict they make it conditional ("Approved,
  but…"); no verdict then. Generous for the same reason.
* ``questions``: particles right after a verdict that make it a question
  (Turkish "mı").
* ``fillers``: words skipped at the start of a line ("Ich genehmige").
* ``courtesy``: words that may follow a weak word without a separator
  ("Ja danke").
* ``greetings``: a first line made of one of these and a name is skipped.
* ``delegate``: delegation instructions for :mod:`approvals.replies.delegation`,
  with ``{}`` where the target stands ("delegate to {}", "bitte an {} delegieren",
  "{}に委任します"). Only the first person and the imperative of an explicit
  delegation verb: no past forms ("delegated to" reports), no "forward to"
  (forwarding informs as often as it delegates), no negated forms (the reader
  refuses a negation anywhere in the instruction's sentence).

Japanese and Chinese are written without spaces, so the reader's word is a
whole run of letters ("承認します", "批准吗"): only the full forms listed here
count, and an unlisted inflection ("承認しますか", "承認しません") is no
verdict. Their ``conditions`` and ``negations_after`` entries are looked for
inside the words of the verdict's sentence ("同意，但是周五以后").

Sources. ``NEXTCLOUD`` marks the labels checked against the translations of
the Nextcloud Approval app (github.com/nextcloud/approval, l10n/<code>.json at
commit d482eef6, keys "Approve", "Reject", "Approved", "Rejected"); where that
translation was wrong ("Скасувати", "cancel", for Ukrainian "Reject") it was
not used. Everything else is the author's working knowledge of the language
and needs a native speaker's review before it is relied on: see each
language's ``sources``.
"""

from __future__ import annotations

from dataclasses import dataclass

NEXTCLOUD = "Nextcloud Approval app l10n/{code}.json @ d482eef6 (Approve/Reject/Approved/Rejected)"
KNOWLEDGE = "author's working knowledge of the language; not yet reviewed by a native speaker"
PREVIOUS = "the word tables of approvals/verdicts.py before this module (tests pinned them)"


@dataclass(frozen=True)
class Language:
    code: str  # BCP 47: ISO 639-1, plus the script for Chinese
    name: str
    approve: tuple[str, ...]
    reject: tuple[str, ...]
    yes: tuple[str, ...] = ()
    no: tuple[str, ...] = ()
    negations_before: tuple[str, ...] = ()
    negations_after: tuple[str, ...] = ()
    conditions: tuple[str, ...] = ()
    questions: tuple[str, ...] = ()
    fillers: tuple[str, ...] = ()
    courtesy: tuple[str, ...] = ()
    greetings: tuple[str, ...] = ()
    delegate: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class LeftOut:
    """A word deliberately not in the tables."""

    word: str  # native spelling
    language: str  # the code of the language whose table would have held it
    table: str  # the field of Language it would have been in: "yes", "fillers", …
    meaning: str  # what it would have meant there
    why: str


ENGLISH = Language(
    code="en",
    name="English",
    approve=(
        "approve", "approved", "approves", "accept", "accepted", "agreed", "confirmed", "lgtm",
        "+1", "go ahead", "go for it", "ship it",
    ),
    reject=(
        "reject", "rejected", "rejecting", "deny", "denied", "decline", "declined", "refuse",
        "refused", "disapprove", "disapproved", "veto", "vetoed", "rejection", "denial",
        "refusal", "cancel", "cancelled", "canceled",
    ),
    # "Granted" is weak: "Granted, the numbers are late, but…" concedes, it does not approve.
    yes=(
        "yes", "yep", "yeah", "sure", "ok", "okay", "okey", "granted", "sounds good",
        "looks good", "looks good to me", "no objection", "no objections", "no problem",
        "all good", "good to go",
    ),
    no=("no", "nope"),
    negations_before=(
        "not", "never", "don't", "dont", "doesn't", "doesnt", "cannot", "can't", "cant", "won't",
        "wont", "do not", "does not", "will not", "can not", "is not", "are not",
    ),
    # "Approve nothing", "Approved: false": a negation after the verb all the same.
    negations_after=("not", "nothing", "none", "false"),
    conditions=(
        "but", "if", "unless", "once", "after", "when", "provided", "pending", "except", "until",
        "not", "only if", "as soon as", "as long as", "subject to", "on condition", "however",
        "although", "though", "yet", "assuming", "given", "contingent", "conditional",
        "conditionally", "barring", "providing", "tentatively", "provisionally", "in principle",
        "on hold", "so long as", "should", "with conditions", "with reservations",
    ),
    fillers=("i", "we", "hereby", "request", "this", "is", "it's"),
    courtesy=("thanks", "thank", "you", "thx", "cheers", "please"),
    greetings=("hi", "hello", "hey", "dear"),
    delegate=(
        "delegate to {}", "please delegate to {}", "kindly delegate to {}", "delegate this to {}",
        "please delegate this to {}", "delegate this request to {}", "delegate the approval to {}",
        "delegate approval to {}", "I delegate to {}", "I delegate this to {}",
        "I delegate this request to {}", "I delegate this approval to {}",
        "I delegate my approval to {}", "I am delegating to {}", "I am delegating this to {}",
        "I'm delegating to {}", "I'm delegating this to {}", "I hereby delegate to {}",
        "I hereby delegate this to {}", "we delegate to {}", "we delegate this to {}",
    ),
    sources=(PREVIOUS, KNOWLEDGE),
)  # fmt: skip

GERMAN = Language(
    code="de",
    name="German",
    approve=(
        "genehmigt", "genehmige", "genehmigen", "freigegeben", "freigabe", "freigeben",
        "einverstanden", "zugestimmt", "zustimmen", "akzeptiert", "bestätigt", "gebe frei",
        "stimme zu", "geht klar", "in Ordnung",
    ),
    reject=(
        "abgelehnt", "ablehnen", "abgewiesen", "zurückgewiesen", "verweigert", "lehne ab",
    ),
    yes=("ja", "jawohl", "passt", "kein Problem", "keine Einwände"),
    no=("nein",),
    negations_before=("nicht", "kein", "keine", "nie", "ist nicht", "wird nicht"),
    negations_after=("nicht", "kein", "keine", "nie", "niemals"),
    conditions=(
        "aber", "jedoch", "wenn", "sobald", "falls", "sofern", "nachdem", "außer", "ausser",
        "erst", "bis", "nach", "solange", "vorausgesetzt", "vorbehaltlich", "nur wenn",
        "unter der Bedingung",
    ),
    fillers=("ich", "wir", "hiermit"),
    courtesy=("danke", "bitte", "vielen", "Dank"),
    greetings=(
        "hallo", "liebe", "lieber", "sehr geehrte", "sehr geehrter", "guten Morgen", "guten Tag",
        "moin", "servus", "grüezi", "grüß Gott",
    ),
    delegate=(
        "delegiere an {}", "ich delegiere an {}", "ich delegiere das an {}",
        "ich delegiere dies an {}", "ich delegiere diese Anfrage an {}",
        "ich delegiere die Freigabe an {}", "ich delegiere die Genehmigung an {}",
        "hiermit delegiere ich an {}", "hiermit delegiere ich die Freigabe an {}",
        "bitte delegieren an {}", "bitte delegiere an {}", "bitte delegieren Sie an {}",
        "delegieren Sie bitte an {}", "bitte an {} delegieren",
        "bitte die Freigabe an {} delegieren",
    ),
    sources=(PREVIOUS, NEXTCLOUD.format(code="de"), KNOWLEDGE),
)  # fmt: skip

FRENCH = Language(
    code="fr",
    name="French",
    approve=(
        "approuvé", "approuvée", "approuvés", "approuvées", "approuve", "approuver", "j'approuve",
        "approuvons", "accepté", "acceptée", "validé", "validée", "d'accord", "je valide",
        "bon pour accord", "c'est bon", "feu vert",
    ),
    reject=(
        "refusé", "refusée", "refusés", "rejeté", "rejetée", "rejeter", "rejette", "décliné",
        "déclinée", "n'approuve pas",
    ),
    yes=("oui", "ok pour moi", "pas de problème"),
    no=("non",),
    negations_before=("ne pas", "n'est pas", "pas", "jamais", "non"),
    negations_after=("pas", "jamais"),
    conditions=(
        "mais", "si", "sauf", "sinon", "quand", "lorsque", "après", "avant", "uniquement",
        "jusqu'à", "tant que", "seulement si", "une fois", "dès que", "à condition",
        "pourvu que",
    ),
    fillers=("je", "j'", "nous"),
    courtesy=("merci",),
    greetings=("bonjour", "salut", "bonsoir", "cher", "chère"),
    delegate=(
        "je délègue à {}", "je délègue cette demande à {}", "je délègue l'approbation à {}",
        "je délègue la validation à {}", "délègue à {}", "déléguez à {}", "déléguer à {}",
        "merci de déléguer à {}", "veuillez déléguer à {}",
    ),
    sources=(PREVIOUS, NEXTCLOUD.format(code="fr"), KNOWLEDGE),
)  # fmt: skip

SPANISH = Language(
    code="es",
    name="Spanish",
    approve=(
        "aprobado", "aprobada", "apruebo", "lo apruebo", "aprobar", "aceptado", "aceptada",
        "acepto", "autorizado", "autorizada", "autorizo", "de acuerdo", "luz verde",
    ),
    reject=(
        "rechazado", "rechazada", "rechazo", "lo rechazo", "rechazar", "denegado", "denegada",
        "deniego",
    ),
    yes=("sí", "no hay problema", "sin problema"),
    no=("no",),
    negations_before=("no", "nunca"),
    conditions=(
        "pero", "si", "cuando", "salvo", "excepto", "mientras", "después", "hasta", "antes",
        "solo", "sólo", "solo si", "siempre que", "una vez", "a condición", "con tal de",
    ),
    fillers=("yo",),
    courtesy=("gracias",),
    greetings=(
        "hola", "buenos días", "buenas tardes", "buenas", "estimado", "estimada", "querido",
        "querida",
    ),
    delegate=(
        "delego a {}", "delego en {}", "delego esta solicitud a {}", "delego esta solicitud en {}",
        "delego la aprobación a {}", "delego la aprobación en {}", "delega a {}", "delega en {}",
        "delegue a {}", "delegue en {}", "delegar a {}", "delegar en {}", "por favor delegar a {}",
        "por favor delegar en {}", "por favor delegue a {}", "por favor delegue en {}",
    ),
    sources=(PREVIOUS, NEXTCLOUD.format(code="es"), KNOWLEDGE),
)  # fmt: skip

DUTCH = Language(
    code="nl",
    name="Dutch",
    approve=(
        "goedgekeurd", "goedkeuren", "akkoord", "accoord", "ga akkoord", "keur goed",
        "keur het goed", "ga je gang", "ga maar door",
    ),
    reject=(
        "afgewezen", "afwijzen", "geweigerd", "afgekeurd", "afkeuren", "wijs af", "wijs het af",
        "keur af", "keur het af",
    ),
    yes=("ja", "oké", "geen bezwaar", "geen probleem"),
    no=("nee",),
    negations_before=("niet", "geen", "nooit"),
    negations_after=("niet", "geen", "nooit"),
    conditions=(
        "maar", "als", "zodra", "mits", "tenzij", "behalve", "pas", "na", "nadat", "indien",
        "wanneer", "tot", "voordat", "zolang", "alleen als",
    ),
    fillers=("ik", "wij", "we"),
    courtesy=("bedankt", "dank", "dankjewel", "dankuwel"),
    greetings=("hoi", "beste", "hallo", "goedemorgen", "goedemiddag", "geachte"),
    delegate=(
        "ik delegeer aan {}", "ik delegeer naar {}", "ik delegeer dit aan {}",
        "ik delegeer dit naar {}", "delegeer aan {}", "delegeer naar {}", "delegeer dit aan {}",
        "delegeren aan {}", "delegeren naar {}", "graag delegeren aan {}",
        "graag delegeren naar {}", "graag aan {} delegeren", "gelieve te delegeren aan {}",
    ),
    sources=(PREVIOUS, NEXTCLOUD.format(code="nl"), KNOWLEDGE),
)  # fmt: skip

ITALIAN = Language(
    code="it",
    name="Italian",
    approve=(
        "approvato", "approvata", "approvo", "lo approvo", "approva", "accettato", "accettata",
        "accetto", "autorizzato", "autorizzata", "autorizzo", "d'accordo", "va bene",
        "via libera",
    ),
    reject=(
        "respinto", "respinta", "respingo", "rifiutato", "rifiutata", "rifiuto", "rifiuta",
        "negato", "negata",
    ),
    yes=("sì", "nessun problema"),
    no=("no",),
    negations_before=("non",),
    # "mai" (never) is not before: in Romanian it means "more, still".
    negations_after=("non", "mai"),
    conditions=(
        "ma", "se", "quando", "purché", "tranne", "però", "dopo", "prima", "finché", "appena",
        "solo se", "una volta", "a condizione", "sempre che",
    ),
    fillers=("io", "noi"),
    courtesy=("grazie",),
    greetings=("ciao", "buongiorno", "buonasera", "gentile", "gentili", "salve", "caro", "cara"),
    delegate=(
        "delego a {}", "delego questa richiesta a {}", "delego l'approvazione a {}", "delega a {}",
        "deleghi a {}", "delegare a {}", "per favore delega a {}", "per favore delegare a {}",
        "si prega di delegare a {}",
    ),
    sources=(PREVIOUS, NEXTCLOUD.format(code="it"), KNOWLEDGE),
)  # fmt: skip

PORTUGUESE = Language(
    code="pt",
    name="Portuguese",
    approve=(
        "aprovado", "aprovada", "aprovo", "aprovar", "aceito", "aceita", "autorizado",
        "autorizada", "autorizo", "concordo", "de acordo",
    ),
    reject=(
        "rejeitado", "rejeitada", "rejeito", "rejeitar", "recusado", "recusada", "recuso",
        "negado", "negada", "reprovado", "reprovada", "discordo",
    ),
    yes=("sim", "sem problema", "sem problemas"),
    no=("não",),
    negations_before=("não", "nunca"),
    conditions=(
        "mas", "se", "quando", "exceto", "porém", "após", "depois", "até", "apenas", "só se",
        "somente se", "desde que", "assim que", "contanto que",
    ),
    fillers=("eu", "nós"),
    courtesy=("obrigado", "obrigada"),
    greetings=("olá", "oi", "bom dia", "boa tarde", "prezado", "prezada", "caro", "cara"),
    delegate=(
        "delego a {}", "delego para {}", "delego esta aprovação a {}",
        "delego esta aprovação para {}", "delega para {}", "delegue a {}", "delegue para {}",
        "delegar a {}", "delegar para {}", "favor delegar a {}", "favor delegar para {}",
        "por favor delegue a {}", "por favor delegue para {}",
    ),
    sources=(PREVIOUS, NEXTCLOUD.format(code="pt_BR, pt_PT"), KNOWLEDGE),
)  # fmt: skip

POLISH = Language(
    code="pl",
    name="Polish",
    approve=(
        "zatwierdzam", "zatwierdzone", "zatwierdzony", "zatwierdzona", "zatwierdź",
        "zaakceptowane", "zaakceptowany", "akceptuję", "zgoda", "zgadzam się", "wyrażam zgodę",
    ),
    reject=(
        "odrzucam", "odrzucone", "odrzucony", "odrzucona", "odrzuć", "odmawiam", "brak zgody",
        "nie wyrażam zgody",
    ),
    yes=("okej",),
    no=("nie",),
    negations_before=("nie",),
    conditions=(
        "ale", "jeśli", "jeżeli", "gdy", "kiedy", "dopiero", "po", "tylko", "dopóki",
        "pod warunkiem", "chyba że", "o ile", "jak tylko",
    ),
    courtesy=("dziękuję", "dzięki", "pozdrawiam"),
    greetings=("dzień dobry", "cześć", "witam", "witaj", "szanowny", "szanowna", "szanowni"),
    delegate=(
        "deleguję do {}", "deleguję na {}", "deleguję zatwierdzenie do {}", "deleguj do {}",
        "deleguj na {}", "proszę delegować do {}", "proszę delegować na {}",
    ),
    sources=(NEXTCLOUD.format(code="pl"), KNOWLEDGE),
)  # fmt: skip

CZECH = Language(
    code="cs",
    name="Czech",
    approve=(
        "schváleno", "schvaluji", "schvaluju", "schválen", "schválena", "schválit", "souhlasím",
        "odsouhlaseno", "akceptuji",
    ),
    reject=(
        "zamítnuto", "zamítám", "zamítnut", "zamítnuta", "zamítnout", "neschvaluji",
        "neschváleno", "nesouhlasím", "odmítám", "odmítnuto",
    ),
    negations_after=("ne",),
    conditions=(
        "ale", "pokud", "jestli", "jestliže", "když", "až", "po", "jen", "pouze", "dokud",
        "jakmile", "kromě", "za předpokladu", "s podmínkou",
    ),
    courtesy=("děkuji", "díky"),
    greetings=("dobrý den", "ahoj", "zdravím", "vážený", "vážená", "vážení"),
    delegate=(
        "deleguji na {}", "deleguju na {}", "deleguj na {}", "delegujte na {}",
        "prosím delegujte na {}",
    ),
    sources=(NEXTCLOUD.format(code="cs"), KNOWLEDGE),
)  # fmt: skip

SLOVAK = Language(
    code="sk",
    name="Slovak",
    approve=(
        "schválené", "schválený", "schválená", "schvaľujem", "schváliť", "súhlasím",
        "odsúhlasené", "akceptujem",
    ),
    reject=(
        "zamietnuté", "zamietnutý", "zamietnutá", "zamietam", "odmietnuté", "odmietnuť",
        "odmietam", "neschvaľujem", "neschválené", "nesúhlasím",
    ),
    no=("nie",),
    negations_before=("nie",),
    conditions=(
        "ale", "ak", "pokiaľ", "keď", "až", "po", "len", "iba", "kým", "okrem", "hneď ako",
        "za predpokladu", "s podmienkou",
    ),
    courtesy=("ďakujem", "vďaka"),
    greetings=("dobrý deň", "ahoj", "zdravím", "vážený", "vážená"),
    delegate=(
        "delegujem na {}", "deleguj na {}", "delegujte na {}", "prosím delegujte na {}",
    ),
    sources=(NEXTCLOUD.format(code="sk"), KNOWLEDGE),
)  # fmt: skip

SWEDISH = Language(
    code="sv",
    name="Swedish",
    approve=(
        "godkänd", "godkänt", "godkända", "godkänner", "godkänns", "godkänn", "beviljad",
        "beviljat", "beviljas",
    ),
    reject=(
        "avslag", "avslås", "avslaget", "avslår", "avvisad", "avvisat", "avvisas", "avvisar",
        "nekad", "nekat", "nekas", "underkänd", "underkänt",
    ),
    yes=("ja", "japp", "okej"),
    no=("nej",),
    negations_before=("inte", "ej"),
    negations_after=("inte", "ej", "aldrig"),
    conditions=(
        "men", "om", "när", "efter", "förutsatt", "såvida", "bara", "endast", "tills", "innan",
        "först", "dock", "så snart", "under förutsättning",
    ),
    fillers=("jag", "vi"),
    courtesy=("tack",),
    greetings=("hej", "hejsan", "hallå", "god morgon", "bästa", "kära"),
    delegate=(
        "jag delegerar till {}", "jag delegerar detta till {}", "delegerar till {}",
        "delegera till {}", "vänligen delegera till {}",
    ),
    sources=(NEXTCLOUD.format(code="sv"), KNOWLEDGE),
)  # fmt: skip

DANISH = Language(
    code="da",
    name="Danish",
    approve=("godkendt", "godkender", "godkendes", "godkend", "bevilget", "accepteret"),
    reject=("afvist", "afviser", "afvises", "afvis", "afslået", "afslår"),
    yes=("ja",),
    no=("nej",),
    negations_before=("ikke",),
    negations_after=("ikke", "aldrig"),
    conditions=(
        "men", "hvis", "når", "efter", "forudsat", "medmindre", "kun", "først", "indtil", "dog",
        "så snart",
    ),
    fillers=("jeg", "vi"),
    courtesy=("tak", "mange", "tusind"),
    greetings=("hej", "hejsa", "goddag", "godmorgen", "kære"),
    delegate=(
        "jeg delegerer til {}", "jeg delegerer dette til {}", "delegér til {}", "deleger til {}",
        "venligst delegér til {}",
    ),
    sources=(NEXTCLOUD.format(code="da"), KNOWLEDGE),
)  # fmt: skip

NORWEGIAN = Language(
    code="nb",
    name="Norwegian (Bokmål)",
    approve=("godkjent", "godkjenner", "godkjennes", "godkjenn", "innvilget"),
    reject=("avvist", "avviser", "avvises", "avvis", "avslått", "avslår"),
    yes=("ja",),
    negations_before=("ikke",),
    negations_after=("ikke", "aldri"),
    conditions=(
        "men", "hvis", "når", "etter", "forutsatt", "kun", "bare", "først", "inntil", "dog",
        "med mindre", "så snart",
    ),
    fillers=("jeg", "vi"),
    courtesy=("takk", "tusen"),
    greetings=("hei", "hallo", "god morgen", "kjære"),
    delegate=(
        "jeg delegerer til {}", "jeg delegerer dette til {}", "deleger til {}",
        "vennligst deleger til {}",
    ),
    sources=(NEXTCLOUD.format(code="nb"), KNOWLEDGE),
)  # fmt: skip

FINNISH = Language(
    code="fi",
    name="Finnish",
    approve=("hyväksytty", "hyväksyn", "hyväksytään", "hyväksy", "sovittu"),
    # Finnish negates with a verb of its own before the main verb: "en hyväksy".
    reject=(
        "hylätty", "hylkään", "hylätään", "hylkää", "en hyväksy", "emme hyväksy",
        "ei hyväksytty", "ei hyväksytä",
    ),
    yes=("kyllä", "joo"),
    conditions=(
        "mutta", "jos", "kun", "kunhan", "vasta", "jälkeen", "paitsi", "edellyttäen", "kunnes",
        "vain", "ainoastaan", "sillä ehdolla",
    ),
    fillers=("minä",),
    courtesy=("kiitos",),
    greetings=("hei", "moi", "moikka", "terve", "hyvä", "hyvää huomenta", "hyvää päivää"),
    delegate=(
        "delegoin {}", "delegoin henkilölle {}", "delegoin hyväksynnän henkilölle {}",
        "delegoi henkilölle {}", "delegoikaa henkilölle {}",
    ),
    sources=(NEXTCLOUD.format(code="fi"), KNOWLEDGE),
)  # fmt: skip

RUSSIAN = Language(
    code="ru",
    name="Russian",
    approve=(
        "одобрено", "одобряю", "одобрен", "одобрена", "одобрить", "утверждено", "утверждаю",
        "утверждён", "утверждена", "согласовано", "согласовать", "согласен", "согласна",
    ),
    reject=(
        "отклонено", "отклоняю", "отклонён", "отклонена", "отклонить", "отказано", "отказываю",
    ),
    yes=("да", "ок"),
    no=("нет",),
    negations_before=("не",),
    conditions=(
        "но", "если", "когда", "после", "только", "пока", "до", "кроме", "однако",
        "при условии", "как только",
    ),
    fillers=("я", "мы"),
    courtesy=("спасибо",),
    greetings=(
        "здравствуйте", "привет", "добрый день", "доброе утро", "добрый вечер", "уважаемый",
        "уважаемая", "уважаемые", "коллеги",
    ),
    delegate=(
        "делегирую {}", "делегирую это {}", "делегируйте {}", "прошу делегировать {}",
    ),
    sources=(NEXTCLOUD.format(code="ru"), KNOWLEDGE),
)  # fmt: skip

UKRAINIAN = Language(
    code="uk",
    name="Ukrainian",
    approve=(
        "схвалено", "схвалюю", "схвалити", "погоджено", "погоджую", "затверджено", "затверджую",
        "згоден", "згодна",
    ),
    reject=("відхилено", "відхиляю", "відхилити", "відмовлено", "відмовляю"),
    yes=("ок",),
    no=("ні",),
    negations_before=("не",),
    conditions=(
        "але", "якщо", "коли", "після", "тільки", "лише", "доки", "поки", "крім", "проте",
        "за умови", "як тільки",
    ),
    fillers=("я", "ми"),
    courtesy=("дякую",),
    greetings=(
        "добрий день", "доброго дня", "вітаю", "привіт", "шановний", "шановна", "шановні",
    ),
    delegate=(
        "делегую {}", "делегуйте {}", "прошу делегувати {}",
    ),
    sources=(NEXTCLOUD.format(code="uk") + ", except its 'Reject' (Скасувати = cancel)", KNOWLEDGE),
)  # fmt: skip

GREEK = Language(
    code="el",
    name="Greek",
    approve=(
        "εγκρίνεται", "εγκρίνω", "εγκρίθηκε", "εγκεκριμένο", "εγκεκριμένη", "εγκεκριμένος",
        "συμφωνώ", "αποδεκτό", "αποδεκτή",
    ),
    reject=("απορρίπτεται", "απορρίπτω", "απορρίφθηκε", "διαφωνώ"),
    # "Έγκριση"/"Απόρριψη" are the button labels, nouns: "Έγκριση απαιτείται…" is no verdict.
    yes=("ναι", "εντάξει", "έγκριση"),
    no=("όχι", "απόρριψη"),
    negations_before=("δεν", "μην", "όχι"),
    conditions=(
        "αλλά", "αν", "εάν", "όταν", "μετά", "μόνο", "εφόσον", "μέχρι", "εκτός", "μόλις",
        "υπό την προϋπόθεση",
    ),
    fillers=("εγώ", "εμείς"),
    courtesy=("ευχαριστώ",),
    greetings=(
        "γεια σας", "γεια σου", "καλημέρα", "καλησπέρα", "αγαπητέ", "αγαπητή", "αξιότιμε",
        "αξιότιμη", "χαίρετε",
    ),
    delegate=(
        "αναθέτω σε {}", "αναθέτω στον {}", "αναθέτω στην {}", "αναθέστε σε {}",
        "παρακαλώ αναθέστε σε {}", "παρακαλώ αναθέστε στον {}", "παρακαλώ αναθέστε στην {}",
    ),
    sources=(NEXTCLOUD.format(code="el"), KNOWLEDGE),
)  # fmt: skip

HUNGARIAN = Language(
    code="hu",
    name="Hungarian",
    approve=(
        "jóváhagyva", "jóváhagyom", "jóváhagyott", "elfogadva", "elfogadom", "egyetértek",
        "engedélyezve", "engedélyezem",
    ),
    # The verb's prefix moves behind it under negation: "jóváhagyom" -> "nem hagyom jóvá".
    reject=(
        "elutasítva", "elutasítom", "elutasított", "nem hagyom jóvá", "nem értek egyet",
        "nem fogadom el",
    ),
    yes=("rendben", "oké", "jóváhagyás"),
    no=("elutasítás",),
    negations_before=("nem", "nincs"),
    conditions=(
        "de", "ha", "amint", "miután", "után", "csak", "kivéve", "feltéve", "amennyiben",
        "amikor", "viszont", "azonban", "azzal a feltétellel",
    ),
    courtesy=("köszönöm", "köszi", "köszönjük"),
    greetings=(
        "szia", "sziasztok", "jó napot", "jó reggelt", "kedves", "tisztelt", "üdvözlöm", "helló",
    ),
    delegate=(
        "delegálom {}", "delegálom {} részére", "kérem delegálja {} részére",
    ),
    sources=(NEXTCLOUD.format(code="hu"), KNOWLEDGE),
)  # fmt: skip

ROMANIAN = Language(
    code="ro",
    name="Romanian",
    approve=(
        "aprobat", "aprobată", "aprob", "aprobă", "acceptat", "de acord", "sunt de acord",
    ),
    # "nu" cannot be a negation for every language ("nu" is Dutch "now"): negated forms are listed.
    reject=(
        "respins", "respinsă", "resping", "respinge", "refuzat", "refuz", "neaprobat", "nu aprob",
        "nu accept", "nu sunt de acord", "nu este aprobat",
    ),
    negations_after=("nu",),
    conditions=(
        "dar", "însă", "dacă", "când", "după", "doar", "numai", "până", "cu condiția",
        "imediat ce", "cu excepția",
    ),
    fillers=("eu", "noi"),
    courtesy=("mulțumesc", "mersi"),
    greetings=(
        "bună ziua", "bună dimineața", "bună", "salut", "stimate", "stimată", "dragă",
    ),
    delegate=(
        "deleg către {}", "deleg lui {}", "deleg aprobarea către {}", "delegați către {}",
        "vă rog să delegați către {}",
    ),
    sources=(NEXTCLOUD.format(code="ro"), KNOWLEDGE),
)  # fmt: skip

TURKISH = Language(
    code="tr",
    name="Turkish",
    approve=(
        "onaylandı", "onaylıyorum", "onayladım", "onaylanmıştır", "onaylı", "onayla", "uygundur",
        "kabul ediyorum", "kabul edildi",
    ),
    # Turkish negates inside the verb: "onaylamıyorum", "onaylanmadı".
    reject=(
        "reddedildi", "reddediyorum", "reddettim", "reddet", "onaylamıyorum", "onaylanmadı",
        "kabul etmiyorum", "uygun değil",
    ),
    yes=("evet", "tamam"),
    no=("hayır",),
    negations_after=("değil", "yok"),
    conditions=(
        "ama", "fakat", "ancak", "eğer", "ise", "sonra", "kadar", "sadece", "yalnızca", "hariç",
        "şartıyla", "koşuluyla",
    ),
    questions=("mı", "mi", "mu", "mü"),
    fillers=("biz",),
    courtesy=("teşekkürler", "teşekkür", "ederim", "sağol", "sağolun"),
    greetings=("merhaba", "selam", "sayın", "günaydın", "iyi günler", "değerli"),
    delegate=(
        "{} devrediyorum", "{} adresine devrediyorum", "{} delege ediyorum",
        "lütfen {} devredin", "lütfen {} adresine devredin",
    ),
    sources=(NEXTCLOUD.format(code="tr"), KNOWLEDGE),
)  # fmt: skip

ARABIC = Language(
    code="ar",
    name="Arabic",
    approve=("موافق", "أوافق", "نوافق", "وافقت", "موافق عليه", "تمت الموافقة", "معتمد"),
    reject=("مرفوض", "أرفض", "نرفض", "رفضت", "تم الرفض"),
    # The button labels are nouns ("موافقة" approval, "قبول" acceptance, "رفض" rejection).
    yes=("نعم", "موافقة", "قبول"),
    no=("لا", "رفض"),
    negations_before=("لا", "لم", "لن", "ليس", "غير"),
    conditions=(
        "لكن", "ولكن", "إذا", "وإذا", "إن", "بشرط", "شرط", "عندما", "بعد", "فقط", "حتى", "إلا",
        "طالما", "بمجرد",
    ),
    fillers=("أنا", "نحن"),
    courtesy=("شكرا", "شكراً", "جزيلا"),
    greetings=(
        "مرحبا", "مرحباً", "السلام عليكم", "أهلا", "أهلاً", "عزيزي", "عزيزتي", "صباح الخير",
        "مساء الخير", "تحية طيبة",
    ),
    delegate=(
        "أفوض {}", "أفوض إلى {}", "أفوض الموافقة إلى {}", "يرجى التفويض إلى {}",
        "الرجاء التفويض إلى {}",
    ),
    sources=(NEXTCLOUD.format(code="ar"), KNOWLEDGE),
)  # fmt: skip

HEBREW = Language(
    code="he",
    name="Hebrew",
    # "מאושר" also reads "happy"; at the head of a reply to an approval request it is the
    # status "approved" (Nextcloud's label), and both readings approve.
    approve=("מאשר", "מאשרת", "מאושר", "מאושרת", "מסכים", "מסכימה"),
    reject=("מסרב", "מסרבת"),
    yes=("כן", "בסדר", "אישור"),
    no=("לא", "סירוב"),
    negations_before=("לא", "אין", "איני", "אינני"),
    conditions=("אבל", "אך", "אם", "בתנאי", "רק", "אחרי", "לאחר", "כאשר", "עד", "מלבד", "חוץ"),
    fillers=("אני", "אנחנו"),
    courtesy=("תודה",),
    greetings=("שלום", "היי", "הי", "בוקר טוב", "ערב טוב", "צהריים טובים", "לכבוד"),
    delegate=(
        "אני מאציל ל{}", "אני מאצילה ל{}", "מאציל ל{}", "מאצילה ל{}", "נא להאציל ל{}",
    ),
    sources=(NEXTCLOUD.format(code="he"), KNOWLEDGE),
)  # fmt: skip

JAPANESE = Language(
    code="ja",
    name="Japanese",
    approve=(
        "承認", "承認します", "承認しました", "承認いたします", "承認済み", "承認済", "同意",
        "同意します", "許可します",
    ),
    # Negative forms that can only mean "I do not approve" are rejections.
    reject=(
        "却下", "却下します", "却下しました", "否認", "否認します", "拒否", "拒否します",
        "不承認", "承認しません", "承認できません", "同意しません", "同意できません",
    ),
    yes=("はい", "OKです", "問題ありません"),
    no=("いいえ",),
    negations_after=("ません", "ない", "不可", "できず", "せず"),
    conditions=(
        "ただし", "但し", "でも", "しかし", "もし", "なら", "たら", "場合", "条件", "以降",
        "以後", "まで", "後で",
    ),
    questions=("か", "ですか", "ますか"),
    courtesy=("ありがとうございます", "よろしくお願いします"),
    greetings=(
        "こんにちは", "おはようございます", "お疲れ様です", "お疲れさまです",
        "お世話になっております", "いつもお世話になっております",
    ),
    delegate=(
        "{}に委任します", "{}へ委任します", "{}に委任いたします", "{}さんに委任します",
        "{}に委任してください", "承認を{}に委任します",
    ),
    sources=(NEXTCLOUD.format(code="ja"), KNOWLEDGE),
)  # fmt: skip

CHINESE_SIMPLIFIED = Language(
    code="zh-Hans",
    name="Chinese (Simplified)",
    approve=("批准", "同意", "核准", "已批准", "已同意", "我同意", "我批准", "审批通过"),
    reject=(
        "拒绝", "驳回", "否决", "不同意", "不批准", "不予批准", "已拒绝", "已驳回", "我拒绝",
        "我不同意",
    ),
    yes=("没问题",),
    no=("不行",),
    negations_after=("不", "没", "未", "别"),
    conditions=(
        "但", "如果", "若", "只要", "只有", "除非", "等", "之后", "以后", "后", "前", "才", "再",
        "条件",
    ),
    questions=("吗", "吧", "呢"),
    fillers=("我", "我们"),
    courtesy=("谢谢", "多谢"),
    greetings=("您好", "你好", "大家好", "各位好", "早上好"),
    delegate=(
        "委托给{}", "请委托给{}", "我委托给{}", "委派给{}", "请委派给{}", "我委派给{}",
    ),
    sources=(NEXTCLOUD.format(code="zh_CN"), KNOWLEDGE),
)  # fmt: skip

CHINESE_TRADITIONAL = Language(
    code="zh-Hant",
    name="Chinese (Traditional)",
    approve=("批准", "同意", "核准", "已批准", "已同意", "已核准", "我同意", "我批准", "審批通過"),
    reject=(
        "拒絕", "駁回", "回絕", "否決", "不同意", "不批准", "不核准", "不予批准", "已拒絕",
        "已駁回", "已回絕", "我拒絕", "我不同意",
    ),
    yes=("沒問題",),
    no=("不行",),
    negations_after=("不", "沒", "未", "別"),
    conditions=(
        "但", "如果", "若", "只要", "只有", "除非", "等", "之後", "以後", "後", "前", "才", "再",
        "條件",
    ),
    questions=("嗎", "吧", "呢"),
    fillers=("我", "我們"),
    courtesy=("謝謝", "多謝"),
    greetings=("您好", "你好", "大家好", "各位好", "早安"),
    delegate=(
        "委託給{}", "請委託給{}", "我委託給{}", "委派給{}", "請委派給{}", "我委派給{}",
    ),
    sources=(NEXTCLOUD.format(code="zh_TW, zh_HK"), KNOWLEDGE),
)  # fmt: skip

KOREAN = Language(
    code="ko",
    name="Korean",
    approve=(
        "승인합니다", "승인 합니다", "승인했습니다", "승인함", "승인됨", "승인완료", "승인 완료",
        "동의합니다", "찬성합니다",
    ),
    reject=(
        "반려합니다", "반려함", "반려됨", "거부합니다", "거부함", "거부됨", "거절합니다",
        "승인하지 않습니다", "동의하지 않습니다", "승인 불가", "승인불가",
    ),
    # "승인"/"반려"/"거부" are the button labels, nouns: "승인 요청" is "approval request".
    yes=("네", "좋습니다", "승인"),
    no=("아니요", "아니오", "반려", "거부"),
    negations_after=(
        "안", "못", "않습니다", "않음", "않아요", "않겠습니다", "불가", "아닙니다", "아님",
    ),
    conditions=(
        "단", "다만", "하지만", "그러나", "그런데", "만약", "만일", "조건", "이후", "이후에",
        "이후에만", "후에", "후", "경우", "때", "까지",
    ),
    fillers=("저는", "저", "제가", "저희는", "나는"),
    courtesy=("감사합니다", "고맙습니다"),
    greetings=("안녕하세요", "안녕하십니까"),
    delegate=(
        "{}에게 위임합니다", "{}님에게 위임합니다", "{}께 위임합니다", "{}에게 위임해 주세요",
    ),
    sources=(NEXTCLOUD.format(code="ko"), KNOWLEDGE),
)  # fmt: skip

LANGUAGES: tuple[Language, ...] = (
    ENGLISH, GERMAN, FRENCH, SPANISH, DUTCH, ITALIAN, PORTUGUESE, POLISH, CZECH, SLOVAK,
    SWEDISH, DANISH, NORWEGIAN, FINNISH, RUSSIAN, UKRAINIAN, GREEK, HUNGARIAN, ROMANIAN,
    TURKISH, ARABIC, HEBREW, JAPANESE, CHINESE_SIMPLIFIED, CHINESE_TRADITIONAL, KOREAN,
)  # fmt: skip

LEFT_OUT: tuple[LeftOut, ...] = (
    # Words that are other words in another supported language.
    LeftOut("tak", "pl", "yes", "yes", "Danish and Norwegian 'thanks' ('Ja tak', 'Nej tak')"),
    LeftOut("так", "uk", "yes", "yes", "Russian 'so, thus': 'Так, нет' would read as approval"),
    LeftOut("da", "ro", "yes", "yes", "Italian 'from', Portuguese 'of the'"),
    LeftOut("nu", "ro", "no", "no", "Dutch 'now' ('Nu goedgekeurd')"),
    LeftOut("nu", "ro", "negations_before", "not", "Dutch 'now': 'Nu goedgekeurd' would reject"),
    LeftOut("ano", "cs", "yes", "yes", "Spanish 'año' (year) folds to 'ano'"),
    LeftOut("áno", "sk", "yes", "yes", "folds to 'ano', Spanish 'año' (year)"),
    LeftOut("ne", "cs", "no", "no", "Turkish 'what'; French negation particle"),
    LeftOut("jo", "cs", "yes", "yes (colloquial)", "Finnish 'already'"),
    LeftOut("nei", "nb", "no", "no", "Italian 'in the' ('Nei prossimi giorni…')"),
    LeftOut("nem", "hu", "no", "no", "Portuguese 'nor, not even' ('Nem pensar')"),
    LeftOut("igen", "hu", "yes", "yes", "Swedish and Danish 'again'"),
    LeftOut("ei", "fi", "no", "no", "Romanian 'they' and the interjection 'well'"),
    LeftOut("ei", "fi", "negations_before", "not", "Romanian 'they'"),
    LeftOut("en", "fi", "negations_before", "I do not", "French 'in', Swedish 'a'"),
    LeftOut("mai", "it", "negations_before", "never",
            "Romanian 'more, still', French 'May'; it was a negation before this module"),
    LeftOut("vale", "es", "yes", "OK", "Italian and Portuguese 'is worth' ('Vale la pena…')"),
    LeftOut("prima", "nl", "yes", "fine", "Italian 'before, first' ('Prima, verifica…')"),
    LeftOut("klar", "de", "yes", "sure", "Swedish, Danish and Norwegian 'ready, done'"),
    LeftOut("aceite", "pt", "approve", "accepted (pt-PT)", "Spanish 'oil'"),
    LeftOut("avvisa", "sv", "reject", "reject (the button)", "Italian 'notifies, warns'"),
    LeftOut("conforme", "es", "approve", "agreed",
            "Portuguese 'as, according to' ('Conforme falamos…'), Italian 'compliant'; "
            "it was in the table before this module"),
    # Ambiguous at the head of a reply in their own language.
    LeftOut("bine", "ro", "yes", "fine, OK", "also the discourse marker 'well, …'"),
    LeftOut("حسنا", "ar", "yes", "OK", "also the discourse marker 'well, …' ('حسنا، سأراجع')"),
    LeftOut("أجل", "ar", "yes", "yes", "same letters as 'postpone' (أجّل)"),
    LeftOut("أعتمد", "ar", "approve", "I approve", "also 'I rely on' ('أعتمد على…')"),
    LeftOut("أقبل", "ar", "approve", "I accept", "also 'came forward, approached'"),
    LeftOut("אשר", "he", "approve", "approve (Outlook's button)",
            "also the relative pronoun 'that, which' ('אשר לבקשתך' = 'as for your request')"),
    LeftOut("דחה", "he", "reject", "reject (Outlook's button)", "also 'postpone'"),
    LeftOut("דוחה", "he", "reject", "I reject", "also 'I postpone' and 'repulsive'"),
    LeftOut("נדחה", "he", "reject", "rejected", "also 'postponed' ('נדחה למחר')"),
    LeftOut("принято", "ru", "approve", "accepted", "also 'got it, noted' ('Принято, спасибо')"),
    LeftOut("прийнято", "uk", "approve", "accepted", "also 'got it, noted'"),
    LeftOut("подтверждаю", "ru", "approve", "I confirm", "confirms receipt as often as approval"),
    LeftOut("хорошо", "ru", "yes", "fine, OK", "acknowledges as often as it approves"),
    LeftOut("olur", "tr", "yes", "OK", "also 'it happens, it becomes'"),
    LeftOut("onay", "tr", "yes", "approval (the noun)",
            "also a given name ('Onay, bugün bakabilir misin'); 'Onay bekliyor' = 'pending'"),
    LeftOut("مقبول", "ar", "approve", "accepted", "also the given name Maqbool"),
    LeftOut("אושר", "he", "approve", "approved", "also the given name Osher, and 'happiness'"),
    LeftOut("אושרה", "he", "approve", "approved (f.)", "also the given name Oshra"),
    LeftOut("red", "tr", "no", "rejection", "English 'red'"),
    LeftOut("예", "ko", "yes", "yes", "also 'example' ('예: …' = 'e.g.: …')"),
    LeftOut("결재", "ko", "approve", "sign-off", "also the request: '결재 요청', approval request"),
    LeftOut("了解", "ja", "yes", "understood", "acknowledges, does not approve"),
    LeftOut("了承", "ja", "approve", "consent", "'了承しました' is as often 'noted' as 'agreed'"),
    LeftOut("承知しました", "ja", "yes", "understood", "acknowledges, does not approve"),
    LeftOut("差し戻し", "ja", "reject", "send back", "asks for changes, does not reject"),
    LeftOut("好的", "zh-Hans", "yes", "OK", "acknowledges as often as it approves"),
    LeftOut("可以", "zh-Hans", "yes", "OK", "also 'can, may'"),
    LeftOut("是", "zh-Hans", "yes", "yes", "also 'is'"),
    LeftOut("通过", "zh-Hans", "approve", "passed", "also 'through, via' ('通过邮件…')"),
    LeftOut("未批准", "zh-Hans", "reject", "not approved", "'not yet approved', a status"),
    # Fillers that would skip a word that matters.
    LeftOut("ben", "tr", "fillers", "I", "English name: 'Ben approved it yesterday' is a report"),
    LeftOut("én", "hu", "fillers", "I", "folds to 'en': Finnish 'En hyväksy' would approve"),
    LeftOut("ja", "pl", "fillers", "I", "German, Dutch and Scandinavian 'yes'"),
    LeftOut("já", "cs", "fillers", "I", "folds to 'ja', German, Dutch and Scandinavian 'yes'"),
)  # fmt: skip

# Kept although they are other words elsewhere; each other reading is also negative or
# never stands alone or before a separator at the head of a reply:
# "no" (Portuguese "in the"), "si" (French/Spanish "if"), "ja" (Polish "I"), "nie" (German
# "never"), "non", "nee" (English "née"). The first four were in the tables before this module
# and tests pin "si", "ja" and "No".


# Opening the sentence or line right after a verdict, these take it back: "Approved. But
# only after Friday", "Genehmigt.\nAber erst nach dem Release". ("If it breaks, call me"
# after a finished sentence is a comment, so "if"-like conditions are not here.) A wrong
# entry only costs a verdict. Left out: "de" (Hungarian "but"; "of" in Romance languages).
CONTRASTS = (
    "but", "however", "only", "aber", "jedoch", "allerdings", "nur", "mais", "cependant",
    "toutefois", "seulement", "pero", "sin embargo", "solo", "sólo", "maar", "echter", "alleen",
    "ma", "però", "tuttavia", "mas", "porém", "contudo", "apenas", "ale", "jednak", "tylko",
    "avšak", "však", "jen", "len", "men", "dock", "bara", "kun", "mutta", "kuitenkin", "vain",
    "но", "однако", "только", "але", "проте", "лише", "αλλά", "όμως", "μόνο", "azonban",
    "csak", "dar", "însă", "doar", "ama", "fakat", "ancak", "sadece", "لكن", "ولكن", "فقط",
    "אבל", "אולם", "רק", "하지만", "그러나", "다만", "단", "ただし", "但し", "しかし", "でも",
    "但是", "不过", "不過", "只是",
)  # fmt: skip
