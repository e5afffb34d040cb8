"""Decision cases for every language of approvals.replies.languages, and corpus verdict lines.

``CASES`` holds one line per behaviour and language (tests/test_languages.py
runs them). ``VERDICT_LINES_BY_LANGUAGE`` holds, per language, at least two
approving and two rejecting first lines, at least one with a comment; each
reads correctly on its own with ``read_verdict(line, "")``, so a generator
test may put them above any reply.
"""

from __future__ import annotations

from dataclasses import dataclass

from approvals.replies.verdicts import Verdict

APPROVE, REJECT = Verdict.APPROVE, Verdict.REJECT


@dataclass(frozen=True)
class LanguageCases:
    approval: str
    rejection: str
    first_person: str  # an approval in the first person ("Ich genehmige")
    comment: tuple[str, str]  # an approval, a separator, a comment; and that comment
    negated: tuple[str, Verdict | None]  # a negated approval: rejection where that is clear
    question: str  # no verdict
    condition: str  # "approved, but only after Friday": no verdict
    greeting: str  # a first line that is skipped
    post_negation: str | None = None  # a negation after the verb, where the language has one


CASES: dict[str, LanguageCases] = {
    "en": LanguageCases(
        approval="Approved",
        rejection="Rejected",
        first_person="I approve",
        comment=("Approved, ship it on Monday", "ship it on Monday"),
        negated=("Not approved", REJECT),
        question="Approved?",
        condition="Approved, but only after Friday",
        greeting="Hi Anna,",
        post_negation="I approve not",
    ),
    "de": LanguageCases(
        approval="Genehmigt",
        rejection="Abgelehnt",
        first_person="Ich genehmige",
        comment=("Genehmigt, bitte am Montag ausrollen", "bitte am Montag ausrollen"),
        negated=("Nicht genehmigt", REJECT),
        question="Genehmigt?",
        condition="Genehmigt, aber erst nach Freitag",
        greeting="Hallo Frau Müller,",
        post_negation="Ich genehmige das nicht",
    ),
    "fr": LanguageCases(
        approval="Approuvé",
        rejection="Refusé",
        first_person="J'approuve",
        comment=("Validé, merci pour le travail", "merci pour le travail"),
        negated=("Non approuvé", REJECT),
        question="Approuvé ?",
        condition="Approuvé, mais seulement après vendredi",
        greeting="Bonjour Marie,",
        post_negation="J'approuve pas",
    ),
    "es": LanguageCases(
        approval="Aprobado",
        rejection="Rechazado",
        first_person="Apruebo",
        comment=("Aprobado: adelante con el despliegue", "adelante con el despliegue"),
        negated=("No aprobado", REJECT),
        question="¿Aprobado?",
        condition="Aprobado, pero solo después del viernes",
        greeting="Hola Ana,",
    ),
    "nl": LanguageCases(
        approval="Goedgekeurd",
        rejection="Afgewezen",
        first_person="Ik keur het goed",
        comment=("Akkoord, mooi werk", "mooi werk"),
        negated=("Niet goedgekeurd", REJECT),
        question="Goedgekeurd?",
        condition="Goedgekeurd, maar pas na vrijdag",
        greeting="Beste Jan,",
        post_negation="Ik ga niet akkoord",
    ),
    "it": LanguageCases(
        approval="Approvato",
        rejection="Respinto",
        first_person="Approvo",
        comment=("Approvato, ottimo lavoro", "ottimo lavoro"),
        negated=("Non approvato", REJECT),
        question="Approvato?",
        condition="Approvato, ma solo dopo venerdì",
        greeting="Ciao Marco,",
    ),
    "pt": LanguageCases(
        approval="Aprovado",
        rejection="Rejeitado",
        first_person="Aprovo",
        comment=("Aprovado, bom trabalho", "bom trabalho"),
        negated=("Não aprovado", REJECT),
        question="Aprovado?",
        condition="Aprovado, mas só depois de sexta-feira",
        greeting="Olá João,",
    ),
    "pl": LanguageCases(
        approval="Zatwierdzone",
        rejection="Odrzucone",
        first_person="Zatwierdzam",
        comment=("Zatwierdzam, dziękuję za szybką pracę", "dziękuję za szybką pracę"),
        negated=("Nie zatwierdzam", REJECT),
        question="Zatwierdzone?",
        condition="Zatwierdzam, ale dopiero po piątku",
        greeting="Cześć Anno,",
    ),
    "cs": LanguageCases(
        approval="Schváleno",
        rejection="Zamítnuto",
        first_person="Schvaluji",
        comment=("Schváleno, díky za rychlou práci", "díky za rychlou práci"),
        negated=("Neschvaluji", REJECT),
        question="Schváleno?",
        condition="Schváleno, ale až po pátku",
        greeting="Dobrý den,",
    ),
    "sk": LanguageCases(
        approval="Schválené",
        rejection="Zamietnuté",
        first_person="Schvaľujem",
        comment=("Schválené, ďakujem za rýchlu prácu", "ďakujem za rýchlu prácu"),
        negated=("Neschvaľujem", REJECT),
        question="Schválené?",
        condition="Schválené, ale až po piatku",
        greeting="Dobrý deň,",
    ),
    "sv": LanguageCases(
        approval="Godkänt",
        rejection="Avslag",
        first_person="Jag godkänner",
        comment=("Godkänt, bra jobbat", "bra jobbat"),
        negated=("Inte godkänt", REJECT),
        question="Godkänt?",
        condition="Godkänt, men först efter fredag",
        greeting="Hej Anna,",
        post_negation="Jag godkänner inte",
    ),
    "da": LanguageCases(
        approval="Godkendt",
        rejection="Afvist",
        first_person="Jeg godkender",
        comment=("Godkendt, godt arbejde", "godt arbejde"),
        negated=("Ikke godkendt", REJECT),
        question="Godkendt?",
        condition="Godkendt, men først efter fredag",
        greeting="Hej Anne,",
        post_negation="Jeg godkender ikke",
    ),
    "nb": LanguageCases(
        approval="Godkjent",
        rejection="Avvist",
        first_person="Jeg godkjenner",
        comment=("Godkjent, bra jobba", "bra jobba"),
        negated=("Ikke godkjent", REJECT),
        question="Godkjent?",
        condition="Godkjent, men først etter fredag",
        greeting="Hei Kari,",
        post_negation="Jeg godkjenner ikke",
    ),
    "fi": LanguageCases(
        approval="Hyväksytty",
        rejection="Hylätty",
        first_person="Hyväksyn",
        comment=("Hyväksytty, hyvää työtä", "hyvää työtä"),
        negated=("En hyväksy", REJECT),
        question="Hyväksytty?",
        condition="Hyväksytty, mutta vasta perjantain jälkeen",
        greeting="Hei Matti,",
    ),
    "ru": LanguageCases(
        approval="Одобрено",
        rejection="Отклонено",
        first_person="Утверждаю",
        comment=("Согласовано, спасибо за работу", "спасибо за работу"),
        negated=("Не одобряю", REJECT),
        question="Одобрено?",
        condition="Одобрено, но только после пятницы",
        greeting="Здравствуйте, Иван Петрович,",
    ),
    "uk": LanguageCases(
        approval="Схвалено",
        rejection="Відхилено",
        first_person="Схвалюю",
        comment=("Погоджено, дякую за роботу", "дякую за роботу"),
        negated=("Не схвалюю", REJECT),
        question="Схвалено?",
        condition="Схвалено, але тільки після п'ятниці",
        greeting="Добрий день,",
    ),
    "el": LanguageCases(
        approval="Εγκρίνεται",
        rejection="Απορρίπτεται",
        first_person="Εγκρίνω",
        comment=("Εγκρίνεται, καλή δουλειά", "καλή δουλειά"),
        negated=("Δεν εγκρίνω", REJECT),
        question="Εγκρίνεται\u037e",  # the Greek question mark
        condition="Εγκρίνεται, αλλά μόνο μετά την Παρασκευή",
        greeting="Γεια σας,",
    ),
    "hu": LanguageCases(
        approval="Jóváhagyva",
        rejection="Elutasítva",
        first_person="Jóváhagyom",
        comment=("Jóváhagyva, köszönöm a munkát", "köszönöm a munkát"),
        negated=("Nem hagyom jóvá", REJECT),
        question="Jóváhagyva?",
        condition="Jóváhagyom, de csak péntek után",
        greeting="Kedves Péter,",
    ),
    "ro": LanguageCases(
        approval="Aprobat",
        rejection="Respins",
        first_person="Aprob",
        comment=("Aprobat, mulțumesc pentru muncă", "mulțumesc pentru muncă"),
        negated=("Nu aprob", REJECT),
        question="Aprobat?",
        condition="Aprobat, dar doar după vineri",
        greeting="Bună ziua,",
    ),
    "tr": LanguageCases(
        approval="Onaylandı",
        rejection="Reddedildi",
        first_person="Onaylıyorum",
        comment=("Onaylandı, teşekkürler", "teşekkürler"),
        negated=("Onaylamıyorum", REJECT),
        question="Onaylandı mı?",
        condition="Onaylıyorum, ama sadece cumadan sonra",
        greeting="Merhaba Ayşe Hanım,",
        post_negation="Onaylı değil",
    ),
    "ar": LanguageCases(
        approval="موافق",
        rejection="مرفوض",
        first_person="أوافق",
        comment=("موافق، شكراً على العمل", "شكراً على العمل"),
        negated=("لا أوافق", REJECT),
        question="موافق؟",
        condition="موافق، ولكن فقط بعد يوم الجمعة",
        greeting="مرحبا أحمد،",
    ),
    "he": LanguageCases(
        approval="מאושר",
        rejection="מסרב",
        first_person="מאשר",
        comment=("מאושר, תודה על העבודה", "תודה על העבודה"),
        negated=("לא מאשר", REJECT),
        question="מאושר?",
        condition="מאושר, אבל רק אחרי יום שישי",
        greeting="שלום דנה,",
    ),
    "ja": LanguageCases(
        approval="承認",
        rejection="却下",
        first_person="承認します",
        comment=("承認します。よろしくお願いします", "よろしくお願いします"),
        negated=("承認しません", REJECT),
        question="承認しますか",
        condition="承認します、ただし金曜日以降",
        greeting="田中さん、お疲れ様です。",
    ),
    "zh-Hans": LanguageCases(
        approval="批准",
        rejection="驳回",
        first_person="我同意",
        comment=("同意，谢谢", "谢谢"),
        negated=("不同意", REJECT),
        question="批准吗？",
        condition="同意，但是周五以后",
        greeting="张经理，您好！",
    ),
    "zh-Hant": LanguageCases(
        approval="核准",
        rejection="駁回",
        first_person="我同意",
        comment=("同意，謝謝", "謝謝"),
        negated=("不核准", REJECT),
        question="核准嗎？",
        condition="同意，但是週五以後",
        greeting="王經理，您好：",
    ),
    "ko": LanguageCases(
        approval="승인했습니다",
        rejection="반려합니다",
        first_person="승인합니다",
        comment=("승인합니다. 감사합니다", "감사합니다"),
        negated=("승인하지 않습니다", REJECT),
        question="승인합니까?",
        condition="승인합니다, 단 금요일 이후에만",
        greeting="김 부장님, 안녕하세요.",
    ),
}

VERDICT_LINES_BY_LANGUAGE: dict[str, tuple[tuple[str, Verdict], ...]] = {
    "en": (
        ("Approved, ship it", APPROVE),
        ("LGTM", APPROVE),
        ("Rejected: wrong version", REJECT),
        ("I decline.", REJECT),
    ),
    "de": (
        ("Genehmigt.", APPROVE),
        ("Ich genehmige, danke", APPROVE),
        ("Abgelehnt – falsche Version", REJECT),
        ("Nein, abgelehnt", REJECT),
    ),
    "fr": (
        ("Approuvé, merci", APPROVE),
        ("J'approuve", APPROVE),
        ("Refusé : mauvaise version", REJECT),
        ("Non, rejeté", REJECT),
    ),
    "es": (
        ("Aprobado, adelante", APPROVE),
        ("Apruebo", APPROVE),
        ("Rechazado: versión incorrecta", REJECT),
        ("No aprobado", REJECT),
    ),
    "nl": (
        ("Goedgekeurd, dank je", APPROVE),
        ("Akkoord", APPROVE),
        ("Afgewezen: verkeerde versie", REJECT),
        ("Nee, afgekeurd", REJECT),
    ),
    "it": (
        ("Approvato, grazie", APPROVE),
        ("Approvo", APPROVE),
        ("Respinto: versione sbagliata", REJECT),
        ("Non approvato", REJECT),
    ),
    "pt": (
        ("Aprovado, obrigado", APPROVE),
        ("Aprovo", APPROVE),
        ("Rejeitado: versão errada", REJECT),
        ("Não aprovado", REJECT),
    ),
    "pl": (
        ("Zatwierdzam, dziękuję", APPROVE),
        ("Zatwierdzone", APPROVE),
        ("Odrzucone: zła wersja", REJECT),
        ("Nie zatwierdzam", REJECT),
    ),
    "cs": (
        ("Schváleno, díky", APPROVE),
        ("Schvaluji", APPROVE),
        ("Zamítnuto: špatná verze", REJECT),
        ("Neschvaluji", REJECT),
    ),
    "sk": (
        ("Schválené, ďakujem", APPROVE),
        ("Schvaľujem", APPROVE),
        ("Zamietnuté: nesprávna verzia", REJECT),
        ("Neschvaľujem", REJECT),
    ),
    "sv": (
        ("Godkänt, tack", APPROVE),
        ("Jag godkänner", APPROVE),
        ("Avslag: fel version", REJECT),
        ("Inte godkänt", REJECT),
    ),
    "da": (
        ("Godkendt, tak", APPROVE),
        ("Jeg godkender", APPROVE),
        ("Afvist: forkert version", REJECT),
        ("Ikke godkendt", REJECT),
    ),
    "nb": (
        ("Godkjent, takk", APPROVE),
        ("Jeg godkjenner", APPROVE),
        ("Avvist: feil versjon", REJECT),
        ("Ikke godkjent", REJECT),
    ),
    "fi": (
        ("Hyväksytty, kiitos", APPROVE),
        ("Hyväksyn", APPROVE),
        ("Hylätty: väärä versio", REJECT),
        ("En hyväksy", REJECT),
    ),
    "ru": (
        ("Одобрено, спасибо", APPROVE),
        ("Утверждаю", APPROVE),
        ("Отклонено: неверная версия", REJECT),
        ("Не одобряю", REJECT),
    ),
    "uk": (
        ("Схвалено, дякую", APPROVE),
        ("Схвалюю", APPROVE),
        ("Відхилено: неправильна версія", REJECT),
        ("Не схвалюю", REJECT),
    ),
    "el": (
        ("Εγκρίνεται, ευχαριστώ", APPROVE),
        ("Εγκρίνω", APPROVE),
        ("Απορρίπτεται: λάθος έκδοση", REJECT),
        ("Δεν εγκρίνω", REJECT),
    ),
    "hu": (
        ("Jóváhagyva, köszönöm", APPROVE),
        ("Jóváhagyom", APPROVE),
        ("Elutasítva: rossz verzió", REJECT),
        ("Nem hagyom jóvá", REJECT),
    ),
    "ro": (
        ("Aprobat, mulțumesc", APPROVE),
        ("Aprob", APPROVE),
        ("Respins: versiune greșită", REJECT),
        ("Nu aprob", REJECT),
    ),
    "tr": (
        ("Onaylandı, teşekkürler", APPROVE),
        ("Onaylıyorum", APPROVE),
        ("Reddedildi: yanlış sürüm", REJECT),
        ("Onaylamıyorum", REJECT),
    ),
    "ar": (
        ("موافق، شكراً", APPROVE),
        ("أوافق", APPROVE),
        ("مرفوض: الإصدار خاطئ", REJECT),
        ("لا أوافق", REJECT),
    ),
    "he": (
        ("מאושר, תודה", APPROVE),
        ("מאשר", APPROVE),
        ("לא מאשר: גרסה שגויה", REJECT),
        ("מסרב", REJECT),
    ),
    "ja": (
        ("承認します。ありがとうございます", APPROVE),
        ("承認", APPROVE),
        ("却下します。バージョンが違います", REJECT),
        ("承認できません", REJECT),
    ),
    "zh-Hans": (
        ("同意，谢谢", APPROVE),
        ("批准", APPROVE),
        ("驳回：版本错误", REJECT),
        ("不同意", REJECT),
    ),
    "zh-Hant": (
        ("同意，謝謝", APPROVE),
        ("核准", APPROVE),
        ("駁回：版本錯誤", REJECT),
        ("不同意", REJECT),
    ),
    "ko": (
        ("승인합니다. 감사합니다", APPROVE),
        ("승인했습니다", APPROVE),
        ("반려합니다: 버전이 틀렸습니다", REJECT),
        ("승인하지 않습니다", REJECT),
    ),
}


@dataclass(frozen=True)
class DelegationCases:
    instruction: str  # names bob@example.com: read as a delegation to it
    negated: str  # the same instruction negated: no delegation
    question: str  # the instruction asked: no delegation


# Per language, with ``{}`` for the target (tests/test_delegation_phrases.py fills it in).
DELEGATION_CASES: dict[str, DelegationCases] = {
    "en": DelegationCases(
        "Please delegate to {}", "Please do not delegate to {}", "Delegate to {}?"
    ),
    "de": DelegationCases(
        "Bitte an {} delegieren.", "Bitte nicht an {} delegieren.", "Ich delegiere an {}?"
    ),
    "fr": DelegationCases("Je délègue à {}", "Je ne délègue pas à {}", "Je délègue à {} ?"),
    "es": DelegationCases("Delego en {}", "No delego en {}", "¿Delego en {}?"),
    "nl": DelegationCases("Ik delegeer aan {}", "Ik delegeer niet aan {}", "Ik delegeer aan {}?"),
    "it": DelegationCases("Delego a {}", "Non delego a {}", "Delego a {}?"),
    "pt": DelegationCases("Delego para {}", "Não delego para {}", "Delego para {}?"),
    "pl": DelegationCases("Deleguję do {}", "Nie deleguję do {}", "Deleguję do {}?"),
    "cs": DelegationCases("Deleguji na {}", "Nedeleguji na {}", "Deleguji na {}?"),
    "sk": DelegationCases("Delegujem na {}", "Nedelegujem na {}", "Delegujem na {}?"),
    "sv": DelegationCases(
        "Jag delegerar till {}", "Jag delegerar inte till {}", "Jag delegerar till {}?"
    ),
    "da": DelegationCases(
        "Jeg delegerer til {}", "Jeg delegerer ikke til {}", "Jeg delegerer til {}?"
    ),
    "nb": DelegationCases(
        "Jeg delegerer til {}", "Jeg delegerer ikke til {}", "Jeg delegerer til {}?"
    ),
    "fi": DelegationCases(
        "Delegoin henkilölle {}", "En delegoi henkilölle {}", "Delegoin henkilölle {}?"
    ),
    "ru": DelegationCases("Делегирую {}", "Не делегирую {}", "Делегирую {}?"),
    "uk": DelegationCases("Делегую {}", "Не делегую {}", "Делегую {}?"),
    "el": DelegationCases("Αναθέτω στον {}", "Δεν αναθέτω στον {}", "Αναθέτω στον {};"),
    "hu": DelegationCases(
        "Delegálom {} részére", "Nem delegálom {} részére", "Delegálom {} részére?"
    ),
    "ro": DelegationCases("Deleg către {}", "Nu deleg către {}", "Deleg către {}?"),
    "tr": DelegationCases(
        "{} adresine devrediyorum", "{} adresine devretmiyorum", "{} adresine devrediyor muyum?"
    ),
    "ar": DelegationCases("أفوض {}", "لا أفوض {}", "أفوض {}؟"),
    "he": DelegationCases("אני מאציל ל-{}", "אני לא מאציל ל-{}", "אני מאציל ל-{}?"),
    "ja": DelegationCases("{}に委任します", "{}に委任しません", "{}に委任しますか？"),
    "zh-Hans": DelegationCases("请委托给{}", "请不要委托给{}", "委托给{}吗？"),
    "zh-Hant": DelegationCases("請委託給{}", "請不要委託給{}", "委託給{}嗎？"),
    "ko": DelegationCases("{}에게 위임합니다", "{}에게 위임하지 않습니다", "{}에게 위임합니까?"),
}
