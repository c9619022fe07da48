"""Chinese and English for the verification page; chosen by `?lang=` or Accept-Language."""

from __future__ import annotations

from domain.wording import describe, status_words

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"

MESSAGES: dict[str, dict[str, str]] = {
    "zh": {
        "title": "工程师登记核验",
        "headline.valid": "真实有效 · 当前可执业",
        "headline.not_valid_now": "证书真实，但当前无效",
        "headline.not_genuine": "非真实证书 · 请勿采信",
        "headline.unreadable": "无法读取此二维码",
        "headline.expired": "证书真实，但已过期（有效期至 {date}）",
        "headline.status_unknown": "证书真实，但无法确认当前状态",
        "headline.not_found": "未找到该登记编号",
        "headline.lookup_active": "登记有效 · 当前可执业",
        "headline.lookup_not_active": "登记当前无效",
        "explain.valid": "签名由登记机构密钥验证通过，登记状态为有效。",
        "explain.not_valid_now": "签名真实，但登记簿显示该登记现在不能执业，原因与日期见下。",
        "explain.not_valid_now.detail": "签名真实，但该登记自 {since} 起{status}：{reason}。"
        "现在不能据此认定可执业。",
        "explain.unreadable": "二维码内容损坏或不完整（可能未扫全或被遮挡），"
        "这并不表示证书是伪造的。请重新扫描，或在下方输入登记编号查询。",
        "explain.expired": "签名真实，但有效期至 {date} 已届满，现在不能据此认定可执业。"
        "如需确认最新情况，请在下方输入登记编号查询。",
        "explain.not_genuine": "该二维码内容无法通过真实性核验（签名不符或签发密钥不受信任）。",
        "explain.status_unknown": "签名真实，但当前无法获取登记状态；"
        "不能据此认定未被撤销。请稍后重试。",
        "explain.not_found": "登记簿中没有该编号。请核对编号。",
        "explain.lookup_active": "登记簿显示该登记当前有效。",
        "explain.lookup_not_active": "登记簿显示该登记当前不能执业，原因与日期见下。",
        "field.name": "姓名",
        "field.number": "登记编号",
        "field.scheme": "登记类别",
        "field.issuer": "签发机构",
        "field.status": "当前状态",
        "field.since": "状态变更日期",
        "field.reason": "原因",
        "field.valid_until": "有效期至",
        "field.credential_expires": "证书有效期至",
        "field.checked_at": "核验时间",
        "field.permitted": "可执业",
        "steps": "核验步骤",
        "step.format": "格式",
        "step.signature": "签名",
        "step.issuer_key": "签发密钥",
        "step.status": "登记状态",
        "step.expiry": "有效期",
        "result.VALID": "通过",
        "result.INVALID": "不通过",
        "result.COULD_NOT_CHECK": "无法核验",
        "yes": "是",
        "no": "否",
        "lookup.title": "按登记编号查询",
        "lookup.button": "查询",
        "lookup.placeholder": "例如 SIE-44-2026-0000017",
        "scan.hint": "用手机相机扫描证书二维码即可打开本页面。",
        "note.superseded": "已签发更新的证书；请以最新证书为准。",
        "key.revoked.compromise": "签发本证书的密钥已被报告泄露，登记机构自 {since} 起吊销该密钥："
        "自该时刻起用此密钥签发的证书一律无效，本证书的签发时间在此之后。",
        "key.revoked": "签发本证书的密钥已自 {since} 起被吊销："
        "自该时刻起用此密钥签发的证书一律无效，本证书的签发时间在此之后。",
        "key.outside_window": "本证书的签发时间不在其签名密钥的启用期内（界限 {since}）："
        "已停用或尚未启用的密钥不能签发证书。",
        "switch": "English",
    },
    "en": {
        "title": "Engineer registration check",
        "headline.valid": "Genuine and valid · permitted to practise",
        "headline.not_valid_now": "Genuine, but NOT valid now",
        "headline.not_genuine": "NOT genuine · do not rely on it",
        "headline.unreadable": "Could not read this code",
        "headline.expired": "Genuine, but expired: valid until {date}",
        "headline.status_unknown": "Genuine, but the current status could not be checked",
        "headline.not_found": "No registration with this number",
        "headline.lookup_active": "Registered · permitted to practise",
        "headline.lookup_not_active": "Registration NOT valid now",
        "explain.valid": "The signature verifies against the registry's key and the "
        "registration is active.",
        "explain.not_valid_now": "The signature is genuine, but the register shows no right "
        "to practise now; the reason and date are below.",
        "explain.not_valid_now.detail": "The signature is genuine, but the registration is "
        "{status} since {since}: {reason}. It does not show a right to practise now.",
        "explain.unreadable": "The code is damaged or incomplete (perhaps scanned only in "
        "part or covered); this does NOT mean the certificate is forged. Scan it again, or "
        "enter the registration number below.",
        "explain.expired": "The signature is genuine, but its validity ended with {date}: it "
        "does not show a right to practise now. Enter the registration number below for "
        "the latest record.",
        "explain.not_genuine": "This code failed the authenticity check (a signature "
        "that does not verify, or a key the registry does not trust).",
        "explain.status_unknown": "The signature is genuine but the live status could not "
        "be fetched; this is NOT a statement that it is not revoked. Try again later.",
        "explain.not_found": "The register has no such number. Check the number.",
        "explain.lookup_active": "The register shows this registration as active.",
        "explain.lookup_not_active": "The register shows no right to practise now; the "
        "reason and date are below.",
        "field.name": "Name",
        "field.number": "Registration number",
        "field.scheme": "Scheme",
        "field.issuer": "Issuer",
        "field.status": "Status now",
        "field.since": "Status since",
        "field.reason": "Reason",
        "field.valid_until": "Valid until",
        "field.credential_expires": "Certificate valid until",
        "field.checked_at": "Checked at",
        "field.permitted": "Permitted to practise",
        "steps": "Verification steps",
        "step.format": "Format",
        "step.signature": "Signature",
        "step.issuer_key": "Issuer key",
        "step.status": "Registration status",
        "step.expiry": "Expiry",
        "result.VALID": "VALID",
        "result.INVALID": "INVALID",
        "result.COULD_NOT_CHECK": "COULD NOT CHECK",
        "yes": "Yes",
        "no": "No",
        "lookup.title": "Look up a registration number",
        "lookup.button": "Look up",
        "lookup.placeholder": "e.g. SIE-44-2026-0000017",
        "scan.hint": "Scan the certificate's QR code with a phone camera to open this page.",
        "note.superseded": "A newer certificate has been issued; rely on the latest one.",
        "key.revoked.compromise": "The key that signed this certificate was reported "
        "compromised and revoked as of {since}: certificates signed with it from that moment "
        "on are invalid, and this one is dated after it.",
        "key.revoked": "The key that signed this certificate was revoked as of {since}: "
        "certificates signed with it from that moment on are invalid, and this one is dated "
        "after it.",
        "key.outside_window": "This certificate is dated outside the period in which its "
        "signing key could issue certificates (limit {since}): a retired or not yet active "
        "key cannot issue certificates.",
        "switch": "中文",
    },
}


def choose_language(query_lang: str | None, accept_language: str | None) -> str:
    """`?lang=` wins; else the highest-q supported Accept-Language; else Chinese."""
    if query_lang:
        code = query_lang.strip().lower()[:2]
        if code in LANGUAGES:
            return code
    best: tuple[float, str] | None = None
    for part in (accept_language or "").split(",")[:20]:
        pieces = part.strip().split(";")
        code = pieces[0].strip().lower()[:2]
        if code not in LANGUAGES:
            continue
        q = 1.0
        for param in pieces[1:]:
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > 0 and (best is None or q > best[0]):
            best = (q, code)
    return best[1] if best else DEFAULT_LANGUAGE


def translator(lang: str) -> dict[str, str]:
    return MESSAGES.get(lang, MESSAGES[DEFAULT_LANGUAGE])


def reason_text(code: str | None, lang: str) -> str:
    """A reason, problem or verification-step code in words (the catalogue in
    `domain.wording`, shared with the bulk PDF and CSV)."""
    return describe(code, lang if lang in LANGUAGES else DEFAULT_LANGUAGE)


def status_text(code: str | None, lang: str) -> str:
    return status_words(code, lang if lang in LANGUAGES else DEFAULT_LANGUAGE)
