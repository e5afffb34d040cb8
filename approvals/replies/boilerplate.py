"""What mail clients and gateways write around a reply, in our approvers' languages.

Data for :mod:`approvals.replies.quotes`, which turns these phrases into line rules:
attribution verbs ("… wrote:"), the keys of quoted header blocks ("From:",
"Von:", "差出人:"), original-message and forward separators, mobile footers,
security banners that mail gateways put above the reply, and legal footers.

The languages are those of :mod:`approvals.replies.languages` (verdict words). The
phrases were taken from the clients' own localisations as they appear in
mail (Gmail, Outlook desktop/web/mobile, Apple Mail, Thunderbird, Samsung
Email) and from the public banner texts of common gateways (Microsoft
Defender "first contact safety tip", Mimecast, Proofpoint, Barracuda). Each
entry is a regular-expression fragment, matched case-insensitively after
bidi controls and zero-width characters are removed.
"""

from __future__ import annotations

# "… wrote:" in an attribution line ("On Tue, … Bob <b@x> wrote:", "Am … schrieb Bob:"),
# as single words: "a écrit" is found by "écrit", "napisał(a)" by "napisał".
ATTRIBUTION_VERBS = frozenset(
    {
        "wrote", "writes", "sent", "schrieb", "geschrieben", "écrit", "ecrit", "escribió",
        "escribio", "escrito", "schreef", "geschreven", "scritto", "scrisse", "escreveu",
        "napisał", "napisal", "napisała", "napisala", "napsal", "napsala", "napísal",
        "napísala", "skrev", "skriver", "kirjoitti", "написал", "написала", "пишет", "написав",
        "έγραψε", "εγραψε", "írta", "irta", "scris", "yazdı", "كتب", "كتبت", "כתב", "כתבה",
        "写道", "寫道", "작성", "viết",
    }
)  # fmt: skip

# Words that open an attribution without a colon: "Am 3.4.2012 um 16:19 schrieb Max".
ATTRIBUTION_OPENERS = r"on|am|le|el|il|op|em|den|dne|dňa|w\s+dniu|pe|στις|в|у|о|на|في|ב|ב-|在|于"

# Keys of a quoted header block. A block needs a "from" key and a second known key.
HEADER_FROM_KEYS = (
    r"from|von|de|de\s+la|van|da|fra|från|od|от|від|mittente|remetente|lähettäjä|feladó|"
    r"kimden|από|odesílatel|odosielateľ|מאת|من|发件人|寄件者|差出人|送信者|보낸\s*사람"
)
HEADER_DATE_KEYS = (
    r"date|datum|dato|data|fecha|päivämäärä|дата|tarih|dátum|ημερομηνία|التاريخ|תאריך|日期|"
    r"日時|날짜|sent|gesendet|envoyé|envoyé\s+le|enviado|enviada|verzonden|inviato|skickat|"
    r"sendt|wysłane|wysłano|отправлено|надіслано|lähetetty|odesláno|odoslané|elküldve|trimis|"
    r"gönderildi|gönderme\s+tarihi|στάλθηκε|נשלח|تم\s+الإرسال|发送时间|傳送時間|送信日時|"
    r"보낸\s*날짜"
)
HEADER_OTHER_KEYS = (
    r"to|an|à|a|aan|til|till|do|para|кому|destinatario|vastaanottaja|címzett|kime|către|"
    r"catre|προς|komu|אל|إلى|收件人|宛先|받는\s*사람|cc|kopie|copie\s+à|subject|betreff|objet|"
    r"onderwerp|oggetto|asunto|assunto|emne|ämne|temat|тема|aihe|sujet|konu|tárgy|subiect|"
    r"θέμα|předmět|predmet|נושא|الموضوع|主题|主旨|件名|제목|reply-to|antwort\s+an|répondre\s+à"
)

# "-----Original Message-----" and its translations (between runs of - = _ *).
ORIGINAL_MESSAGE = (
    r"original message|reply message|original|ursprüngliche nachricht|originalnachricht|"
    r"antwort nachricht|oprindelig (?:meddelelse|besked|e-mail)|message d'origine|"
    r"message original|mensaje original|messaggio originale|oorspronkelijk bericht|"
    r"origineel bericht|originalmeddelande|ursprungligt meddelande|opprinnelig melding|"
    r"mensagem original|wiadomość oryginalna|oryginalna wiadomość|alkuperäinen viesti|"
    r"исходное сообщение|оригинальное сообщение|оригінальне повідомлення|"
    r"вихідне повідомлення|původní zpráva|pôvodná správa|αρχικό μήνυμα|eredeti üzenet|"
    r"mesaj original|mesajul original|orijinal mesaj|özgün ileti|الرسالة الأصلية|"
    r"הודעה מקורית|元のメッセージ|原始邮件|原始郵件|원본 메시지"
)
# Forwarded messages: not the approver's words either.
FORWARDED = (
    r"forwarded message|weitergeleitete nachricht|message transféré|mensaje reenviado|"
    r"messaggio inoltrato|doorgestuurd bericht|mensagem encaminhada|"
    r"videresendt (?:meddelelse|besked|melding)|vidarebefordrat meddelande|"
    r"wiadomość przekazana|przekazana wiadomość|přeposlaná zpráva|preposlaná správa|"
    r"välitetty viesti|пересылаемое сообщение|пересланное сообщение|переслане повідомлення|"
    r"προωθημένο μήνυμα|továbbított üzenet|mesaj redirecționat|iletilen ileti|"
    r"رسالة معاد توجيهها|הודעה שהועברה|転送メッセージ|转发的邮件|轉寄的郵件|전달된 메시지"
)
FORWARD_OPENERS = (
    r"begin forwarded message:|anfang der weitergeleiteten nachricht:|"
    r"début du message réexpédié :?|inicio del mensaje reenviado:|"
    r"inizio messaggio inoltrato:|begin doorgestuurd bericht:|início da mensagem reencaminhada:"
)

# Lines mobile clients add under the reply ("Sent from my iPhone", "Get Outlook for Android").
MOBILE_FOOTERS = (
    # en
    r"sent (?:from|with|via|using) .{1,70}|sent wirelessly .{1,80}|get outlook for .{1,60}|"
    r"(?:sent )?via mobile",
    # de
    r"gesendet (?:von|mit|vom|aus|über) .{1,60}|von meinem .{1,40} gesendet|"
    r"outlook für .{1,30} herunterladen",
    # fr
    r"envoy[ée] (?:de|depuis|à partir de|a partir de|sans fil par|avec|via) .{1,70}|"
    r"obtenir outlook pour .{1,30}|télécharger outlook pour .{1,30}",
    # es, pt
    r"enviado (?:desde|de|do|con|com|a partir d[eo]|via) .{1,70}|"
    r"obtener outlook para .{1,30}|obter o outlook para .{1,30}|baixe o outlook para .{1,30}",
    # nl
    r"verzonden (?:vanaf|met|van|via) .{1,60}|verstuurd (?:vanaf|met|van|via) .{1,60}|"
    r"outlook voor .{1,30} downloaden",
    # it
    r"inviato (?:da|dal|con|tramite) .{1,60}|scarica outlook per .{1,30}|"
    r"ottieni outlook per .{1,30}",
    # da, no, sv
    r"sendt fra .{1,60}|skickat från .{1,60}|hent outlook til .{1,30}|"
    r"få outlook for .{1,30}|hämta outlook för .{1,30}",
    # pl, cs, sk
    r"wysłane z .{1,60}|wysłano z .{1,60}|pobierz (?:aplikację )?outlook dla .{1,40}|"
    r"odesláno z .{1,60}|odoslané z .{1,60}",
    # fi
    r"lähetetty .{1,60}|hanki outlook .{1,40}",
    # ru, uk
    r"отправлено (?:с|со|из) .{1,60}|надіслано (?:з|із|зі) .{1,60}|"
    r"получить outlook для .{1,30}|отримати outlook для .{1,30}",
    # el
    r"(?:στάλθηκε|εστάλη|απεστάλη) από .{1,60}|λήψη του outlook για .{1,30}",
    # hu
    r".{1,40}[-‑]?(?:ról|ről) küldve|küldve .{1,40}[-‑]?(?:ról|ről)",
    # ro
    r"trimis de pe .{1,60}|trimis din .{1,60}|descărcați outlook pentru .{1,30}",
    # tr
    r".{1,40}(?:'?(?:umdan|ümden|imden|ımdan|dan|den|tan|ten)) gönderildi|"
    r"android için outlook'?u edinin|ios için outlook'?u edinin",
    # ar
    r"(?:أُرسلت|أرسلت|ارسلت|مرسل|أرسل|تم الإرسال) من .{1,60}|احصل على outlook .{1,40}",
    # he
    r"נשלח (?:מה|מ)[-־]?.{1,60}|קבל(?:ו)? את outlook .{1,40}",
    # ja
    r".{1,40}から送信|outlook for .{1,30} を入手|.{1,20} 用 outlook を入手",
    # zh
    r"发自我的.{1,40}|來自我的.{1,40}|来自我的.{1,40}|從我的.{1,40}傳送|"
    r"获取 outlook for .{1,30}|取得 .{1,20} 版 outlook",
    # ko
    r".{1,40}에서 보냄|.{1,20}용 outlook 다운로드|outlook for .{1,30} 받기",
)

# Security banners a mail gateway puts above the reply. A paragraph is a banner when its
# first line opens with one of BANNER_OPENERS and the paragraph names an outside sender
# (BANNER_EXTERNAL), or when it is Microsoft's first-contact safety tip (BANNER_FIRST_CONTACT).
BANNER_OPENERS = (
    r"\[[^\]\n]{0,30}\]|【[^】\n]{0,30}】|\*{1,3}\s*[^*\n]{0,30}\*{1,3}|"
    r"(?:caution|warning|attention|notice|external|extern|externe|externo|esterno|"
    r"achtung|vorsicht|warnung|hinweis|précaution|avertissement|precaución|cuidado|"
    r"atención|aviso|let op|waarschuwing|attenzione|avviso|atenção|uwaga|ostrzeżenie|"
    r"upozornění|pozor|upozornenie|varning|obs|advarsel|varoitus|huom|внимание|"
    r"осторожно|предупреждение|увага|попередження|προσοχή|προσοχη|προειδοποίηση|figyelem|"
    r"vigyázat|figyelmeztetés|atenție|atentie|avertisment|dikkat|uyarı|تنبيه|تحذير|"
    r"انتبه|אזהרה|זהירות|שים לב|注意|警告|주의|경고)\b\s*[:!：-]?"
)
BANNER_EXTERNAL = (
    r"external|outside (?:of )?(?:the|your|our) (?:organi[sz]ation|company|network)|"
    r"originated (?:from )?outside|extern|außerhalb|extérieur|exterieur|externe|externo|"
    r"fuera de la organizaci|esterno|dall'esterno|fora da organiza|buiten de organisatie|"
    r"zewnętrzn|spoza organizacji|externí|mimo organizaci|externý|mimo organizácie|"
    r"utanför|ekstern|uden for|utenfor|ulkoinen|ulkopuol|внешн|извне|зовнішн|εξωτερικ|"
    r"külső|szervezeten kívül|din afara|harici|kurum dışı|dışından|خارج|חיצוני|外部|社外|"
    r"외부"
)
BANNER_FIRST_CONTACT = (
    r"you don't often get email from|sie erhalten nicht oft e-mails? von|"
    r"vous ne recevez pas souvent de courriers? de|no suele recibir correos? electrónicos? de|"
    r"u ontvangt niet vaak e-mail van|non ricevi spesso messaggi di posta elettronica da|"
    r"você não costuma receber emails? de|nieczęsto otrzymujesz wiadomości e-mail z|"
    r"du får inte ofta e-post från|du modtager ikke ofte mails? fra|"
    r"du mottar ikke ofte e-post fra|et saa usein sähköpostia|вы нечасто получаете письма от"
)

# Legal footers: a later paragraph whose first line says the message is confidential.
CONFIDENTIAL = (
    r"confidential|disclaimer|vertraulich|haftungsausschluss|confidentiel|confidencial|"
    r"riservat|vertrouwelijk|poufn|důvěrn|dôvern|konfidentiel|konfidensiell|konfidentiell|"
    r"sekretess|luottamuksellinen|конфиденциал|конфіденційн|εμπιστευτικ|bizalmas|"
    r"confidențial|confidential|gizli|سري|סודי|機密|保密|기밀"
)
MESSAGE_WORDS = (
    r"e-?mail|message|nachricht|courriel|mensaje|correo|messaggio|bericht|mensagem|wiadomo|"
    r"zpráv|správ|meddelande|besked|melding|viesti|сообщени|письм|повідомлен|лист|μήνυμα|"
    r"üzenet|mesaj|ileti|رسالة|הודעה|メール|邮件|郵件|메일|information|informationen|notice"
)
