"""Valid submission drafts for tests, with overrides."""

from __future__ import annotations

import copy
from typing import Any

HANOI_GRASSROOTS = "ldld-ha-noi.h03.cs0002"
HANOI_PHONE = "0912 345 678"
HANOI_EMAIL = "nguyen.van.a@example.vn"

BASE: dict[str, Any] = {
    "union_code": HANOI_GRASSROOTS,
    "submitted_at": "2022-03-15T09:30:00+07:00",
    "title": "Cải tiến quy trình   kiểm tra chất lượng sản phẩm",
    "field": "production",
    "situation": "Quy trình kiểm tra thủ công mất nhiều thời gian và dễ sai sót.",
    "solution": "Áp dụng bảng kiểm điện tử và máy quét mã vạch tại từng công đoạn.",
    "effect": "Giảm 30% thời gian kiểm tra, giảm tỷ lệ lỗi xuống dưới 1%.",
    "benefit_vnd": 120_000_000,
    "recognition": {
        "kind": "recognition_decision",
        "decision_number": "15/QĐ-CĐCS",
        "decision_date": "2022-03-01",
    },
    "author": {
        "name": "Nguyễn Văn A",
        "member_id": "HN-000123",
        "phone": HANOI_PHONE,
        "email": HANOI_EMAIL,
    },
}


def draft(**overrides: Any) -> dict[str, Any]:
    """A valid draft; ``overrides`` replace top-level fields."""
    body = copy.deepcopy(BASE)
    body.update(overrides)
    return body
