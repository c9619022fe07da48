"""Words for every code a person may see: statuses, reasons, problems and verification steps.

One catalogue, zh and en, used by the verification pages (through `verify_api.i18n`), the
bulk-check PDF and the CSV. Machines keep reading codes (JSON); people read these words.
Codes built from parts (``status.suspended_on_date``, ``credential.signature.invalid``) are
described from their parts by `describe`, so a new status or verifier reason needs one entry.
"""

from __future__ import annotations

from typing import Literal

Lang = Literal["zh", "en"]

STATUS_WORDS: dict[str, tuple[str, str]] = {
    "draft": ("草稿", "Draft"),
    "submitted": ("已提交", "Submitted"),
    "employer_endorsed": ("单位已确认", "Endorsed by the employer"),
    "under_review": ("审核中", "Under review"),
    "returned_for_supplement": ("退回补正", "Returned for supplement"),
    "further_verification": ("待进一步核实", "Pending further verification"),
    "active": ("有效", "Active"),
    "suspended": ("已暂停", "Suspended"),
    "expired": ("已过期", "Expired"),
    "revoked": ("已撤销", "Revoked"),
    "rejected": ("未予登记", "Rejected"),
    "withdrawn": ("已撤回", "Withdrawn"),
    "unknown": ("未知", "Unknown"),
    "not_registered": ("未登记", "Not registered"),
}
"""Every registration status (`domain.status.Status`) and the public pseudo-statuses."""

REASON_WORDS: dict[str, tuple[str, str]] = {
    # returned for supplement (domain.reasons.RETURN_REASONS)
    "project.no_implementation": (
        "项目未体现实施环节",
        "the project shows no implementation phase",
    ),
    "skills.vague": ("技能描述模糊", "the skill description is vague"),
    "evidence.missing": ("证明材料缺失或无法辨认", "evidence missing or unreadable"),
    "evidence.mismatch": ("证明材料与申报内容不符", "evidence does not match the declaration"),
    "employer.unconfirmed": ("无法确认任职单位", "employment could not be confirmed"),
    "education.unverified": ("学历无法核实（学信网）", "education could not be verified (CHSI)"),
    "other": ("其他（见说明）", "other (see the note)"),
    # suspension (domain.reasons.SUSPENSION_REASONS)
    "ce.missing_consecutive_years": (
        "连续两年未完成继续教育",
        "no continuing education for two consecutive years",
    ),
    "assessment.failed": ("年度考核不合格", "failed the annual assessment"),
    "investigation": ("正在调查", "under investigation"),
    "complaint": ("因投诉暂停", "suspended after a complaint"),
    "non_practising": ("本人申报暂不执业", "self-declared non-practising"),
    # revocation (domain.reasons.REVOCATION_REASONS)
    "fraud": ("以欺骗手段取得登记", "registration obtained by fraud"),
    "forged_material": ("提交伪造材料", "forged material submitted"),
    "misconduct": ("违反职业道德", "professional misconduct"),
    "resigned": ("本人申请注销", "resigned at the engineer's request"),
    # what the register records as the reason of the current status
    "drafted": ("草稿已创建", "draft created"),
    "submitted": ("已提交申请", "application submitted"),
    "employer.endorsed": ("单位已确认", "endorsed by the employer"),
    "employer.declined": ("单位未予确认", "declined by the employer"),
    "review.started": ("开始审核", "review started"),
    "supplement.provided": ("已补正材料", "supplement provided"),
    "further_verification": ("需进一步核实", "further verification requested"),
    "approved": ("审核通过，准予登记", "approved and registered"),
    "amendment.approved": ("变更已核准", "amendment approved"),
    "amendment.rereview": ("变更后重新审核", "re-review after an amendment"),
    "employer_change.requested": ("已申请变更工作单位", "employer change requested"),
    "employer_change.endorsed": (
        "新单位已确认变更",
        "employer change endorsed by the new employer",
    ),
    "employer_change.declined": ("工作单位变更未获确认", "employer change declined"),
    "employer_change.approved": ("工作单位变更已备案", "employer change approved"),
    "rejected": ("未予登记", "application rejected"),
    "withdrawn": ("申请人撤回", "withdrawn by the applicant"),
    "ce.renewed": ("继续教育登记已续期", "renewed by continuing education"),
    "ce.review_passed": ("继续教育合规审查通过", "continuing-education review passed"),
    "ce.review_failed": ("继续教育合规审查未通过", "continuing-education review failed"),
    "reinstated": ("已恢复执业", "reinstated by the registrar"),
    "validity.lapsed": ("有效期届满未续期", "validity ran out without renewal"),
    # bulk tender check: rows and problems
    "input.malformed": ("输入无法识别", "input could not be read"),
    "registration_number.malformed": ("登记编号格式或校验位错误", "malformed registration number"),
    "registration.not_found": ("登记簿中没有该编号", "no such registration number"),
    "registration.not_registered_on_date": (
        "投标日尚未登记",
        "not registered on the tender date",
    ),
    "employer.mismatch_on_date": (
        "投标日不在投标单位名下",
        "not registered to the bidding employer on the tender date",
    ),
    "employer.change_pending_on_date": (
        "投标日有待审核的工作单位变更（新单位尚未确认或尚未备案）",
        "an employer change was pending on the tender date (not yet endorsed or approved)",
    ),
    "employer.change_pending_now": (
        "现有待审核的工作单位变更（投标日之后提出）",
        "an employer change is pending now (requested after the tender date)",
    ),
    "status.could_not_check": ("无法获取登记状态", "the status could not be fetched"),
    "status.unavailable": ("暂时无法获取登记状态", "the live status is unavailable"),
    "status.other_issuer": (
        "由其他登记机构签发，状态请向签发机构核实",
        "issued by another registry: check the status with that issuer",
    ),
    "keys.unavailable": ("核验密钥暂不可用", "the verification keys are unavailable"),
    "step.not_reached": ("前一步未通过，未进行此项", "not reached: an earlier step failed"),
    "credential.not_genuine": ("证书未通过真实性核验", "the certificate failed authentication"),
    "credential.not_decoded": ("无法读取证书内容", "the certificate could not be decoded"),
    "credential.invalid": ("证书无效", "the certificate is invalid"),
    "unknown": ("原因不明", "unknown reason"),
    # the credential verifier (registry.credentials)
    "input.too_large": ("内容过长，不是本机构的二维码", "too long to be one of our codes"),
    "url.invalid": ("链接不完整或已损坏", "the link is incomplete or damaged"),
    "prefix.unsupported": ("不是本机构的证书二维码", "not a certificate code of this registry"),
    "base45.invalid": ("二维码内容不完整或已损坏", "the code is incomplete or damaged"),
    "zlib.invalid": ("二维码内容不完整或已损坏", "the code is incomplete or damaged"),
    "cose.malformed": ("证书结构损坏", "the certificate structure is damaged"),
    "cose.crit_unsupported": ("证书含有不支持的关键项", "the certificate has unsupported fields"),
    "kid.missing": ("证书未注明签发密钥", "the certificate names no signing key"),
    "kid.unknown": ("签发密钥不受信任", "signed with a key the registry does not trust"),
    "kid.not_valid_at": ("签发密钥当时不受信任", "the signing key was not trusted then"),
    "signature.alg_unsupported": ("不支持的签名算法", "unsupported signature algorithm"),
    "signature.invalid": ("签名不符，内容可能被篡改", "the signature does not match"),
    "cwt.malformed": ("证书内容格式错误", "the certificate content is malformed"),
    "cwt.issuer_mismatch": ("签发机构与密钥不符", "the issuer does not match the key"),
    "expiry.missing": ("证书未注明有效期", "the certificate has no expiry"),
    "expiry.malformed": ("证书日期格式错误", "the certificate dates are malformed"),
    "expiry.expired": ("证书已过有效期", "the certificate has expired"),
    "expiry.not_yet_valid": ("证书签发时间晚于当前时间", "the certificate is dated in the future"),
    "policy.issuer_not_allowed": ("不认可该签发机构", "the issuer is not accepted"),
    "policy.region_not_recognised": ("不认可该地区的登记", "the region is not recognised"),
    "key.revoked": ("签发密钥已被吊销", "the signing key was revoked"),
    "key.outside_window": ("签发时间不在密钥启用期内", "signed outside the key's window"),
    "signature.missing": ("报告未签名", "the report is not signed"),
}
"""Reasons: of a status, of a problem in a tender check, of a failed verification step."""

VERDICT_WORDS: dict[str, tuple[str, str]] = {
    "pass": ("通过", "pass"),
    "fail": ("不通过", "FAIL"),
    "could_not_check": ("无法核验", "could not check"),
}


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[0] if lang == "zh" else pair[1]


def status_words(code: str | None, lang: str) -> str:
    """A status in words; an unknown code is shown as itself, never dropped."""
    if not code:
        return "—"
    pair = STATUS_WORDS.get(code)
    return _pick(pair, lang) if pair else code


def describe(code: str | None, lang: str) -> str:
    """A reason or problem code in words, including codes built from parts."""
    if not code:
        return "—"
    if code in REASON_WORDS:
        return _pick(REASON_WORDS[code], lang)
    zh = lang == "zh"
    for prefix, label in (
        ("credential.could_not_check.", ("证书无法核验：", "certificate could not be checked: ")),
        ("credential.", ("证书：", "certificate: ")),
    ):
        if code.startswith(prefix):
            return _pick(label, lang) + describe(code[len(prefix) :], lang)
    if code.startswith("status.now_"):
        state = status_words(code[len("status.now_") :], lang)
        return f"当前状态：{state}" if zh else f"now {state.lower()}"
    if code.startswith("status.") and code.endswith("_on_date"):
        state = status_words(code[len("status.") : -len("_on_date")], lang)
        return f"投标日状态：{state}" if zh else f"{state.lower()} on the tender date"
    if code.startswith("status.") and code[len("status.") :] in STATUS_WORDS:
        return status_words(code[len("status.") :], lang)
    return code


def bilingual(text_zh: str, text_en: str) -> str:
    return text_zh if text_zh == text_en else f"{text_zh} {text_en}"


def describe_both(code: str | None) -> str:
    """zh and en together, for documents read in either language (PDF, CSV)."""
    return bilingual(describe(code, "zh"), describe(code, "en"))


def status_both(code: str | None) -> str:
    return bilingual(status_words(code, "zh"), status_words(code, "en"))


def verdict_both(code: str) -> str:
    pair = VERDICT_WORDS.get(code)
    return bilingual(*pair) if pair else code
