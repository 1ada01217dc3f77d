"""Personal data: phone normalisation and validation, and the one masking rule."""

from __future__ import annotations

import re

_STRIP = re.compile(r"[\s\-－—()（）.]+")
MOBILE = re.compile(r"^1\d{10}$")
LANDLINE = re.compile(r"^0\d{2,3}\d{7,8}$")


def normalise_phone(raw: str | None) -> str:
    """Digits only; ``+86``/``0086`` dropped. Landlines keep their leading area-code zero."""
    if raw is None:
        return ""
    text = _STRIP.sub("", str(raw).strip())
    if text.startswith("+86"):
        text = text[3:]
    elif text.startswith("0086"):
        text = text[4:]
    if text.endswith(".0") and text[:-2].isdigit():  # a number that went through a float
        text = text[:-2]
    return text


def phone_problem(raw: str | None) -> str | None:
    """None when the contact is empty or valid, else the reason in Chinese."""
    phone = normalise_phone(raw)
    if not phone:
        return None
    if not phone.isdigit():
        return f"“{raw}”含有非数字字符"
    if phone.startswith("1"):
        return None if MOBILE.match(phone) else f"手机号应为 11 位数字（现为 {len(phone)} 位）"
    if LANDLINE.match(phone):
        return None
    return "应为 11 位手机号，或带区号的固定电话（如 0827-5212345）"


def format_phone(phone: str) -> str:
    if LANDLINE.match(phone) and not MOBILE.match(phone):
        area = 3 if phone[1] in "12" else 4
        return f"{phone[:area]}-{phone[area:]}"
    return phone


def mask_name(name: str | None) -> str:
    """张三 → 张×, 欧阳小明 → 欧××× : the surname stays, every other character is ×."""
    if not name:
        return ""
    name = name.strip()
    return name[0] + "×" * max(len(name) - 1, 1)


def mask_phone(phone: str | None) -> str:
    """13812341234 → 138****1234; landlines keep the area code and the last 4 digits."""
    phone = normalise_phone(phone)
    if not phone:
        return ""
    if len(phone) <= 4:
        return "*" * len(phone)
    head = 3 if MOBILE.match(phone) else min(4, len(phone) - 4)
    return phone[:head] + "*" * (len(phone) - head - 4) + phone[-4:]


def mask_address(address: str | None, keep: int = 6) -> str:
    """Keep the first characters (village, road) and hide the house details."""
    if not address:
        return ""
    return address[:keep] + ("××" if len(address) > keep else "")
