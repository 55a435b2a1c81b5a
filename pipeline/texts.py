"""Realistic Vietnamese initiative texts, generated deterministically from a seed.

Each field has its own vocabulary (`pipeline/vocabulary.py`); sentences are assembled from
templates whose wording varies (``[a|b]``), with the field's phrases, and the filing's own
people, places, makes and figures. Two initiatives of one field therefore share the field's
phrases, as real ones do, without sharing most of their text: real authors describe their own
machines, units and numbers in their own words.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from pipeline.vocabulary import (
    COUNTRIES,
    ETHNIC_GROUPS,
    FAMILY_NAMES,
    FIELDS,
    GIVEN_NAMES,
    MAKES,
    MIDDLE_NAMES,
    ORGANISATION_NAMES,
    PLACE_NAMES,
    SUBJECTS,
    FieldWords,
)

OPENERS = (
    "[Tại|Ở|Trong thực tế tại] {place}",
    "[Trong|Suốt] năm {y}",
    "[Từ|Bắt đầu từ] quý {q} năm {y}",
    "Qua {small} [lần|đợt] kiểm tra [tại|ở] {place}",
    "Theo số liệu [của|do] {place} [thống kê|cung cấp|tổng hợp]",
    "[Khi|Trong quá trình] triển khai kế hoạch [năm|sản xuất năm|công tác năm] {y}",
    "[Ở|Tại] {place} thuộc {organisation}",
    "Sau [đợt dịch|đợt cao điểm|đợt kiểm tra] năm {y}",
    "Trong [mùa cao điểm|những tháng cao điểm|các tháng cuối] năm {y}",
    "[Tại|Ở] {organisation} ({province})",
)
SITUATION = (
    "{opener}, {object} [của đơn vị|hiện có|đang dùng|lắp từ năm {y}|được trang bị từ năm {y}] "
    "{problem}.",
    "[Bình quân|Trung bình|Tính bình quân] mỗi [tháng|quý|tuần] có {small} lần {object2} "
    "{problem2}, [mỗi lần|lần nào cũng] mất [khoảng|chừng|gần|hơn] {small} "
    "[phút|giờ] [xử lý|khắc phục|để khắc phục].",
    "[Việc này|Tình trạng này|Điều đó] [làm|khiến] {place} [phải dừng chờ|phải chờ đợi|bị "
    "động], ảnh hưởng [kế hoạch|tiến độ|kết quả] của {small} [đơn vị|bộ phận|tổ|nhóm].",
    "Chi phí [khắc phục|sửa chữa|bảo dưỡng] [năm|trong năm|riêng năm] {y} [lên tới|lên "
    "đến|hết|vào khoảng] {big} [triệu đồng|nghìn đồng].",
    "[Đã có|Có tới|Ban chấp hành nhận được] {small} [kiến nghị|ý kiến|phản ánh] của "
    "[đoàn viên|người lao động|anh chị em|tổ viên] [gửi công đoàn|gửi ban chấp hành|về "
    "vấn đề này].",
    "Nguyên nhân [chính|chủ yếu|sâu xa] là {object} [do hãng|của hãng|nhãn hiệu] {make} "
    "[đời|lắp từ năm|sản xuất năm] {y} [đã xuống cấp|đã cũ|không còn phù hợp|thiết kế chưa "
    "hợp lý].",
    "[Ban giám đốc|Lãnh đạo đơn vị|Thủ trưởng đơn vị|Ban chấp hành công đoàn] [giao|yêu "
    "cầu|đề nghị] {place} [tìm cách khắc phục|tìm giải pháp|đề xuất cách làm] [trước|trong] "
    "tháng {m} năm {y}.",
    "Tỷ lệ [sai hỏng|lỗi|hư hỏng] [đo được|ghi nhận] là {dec}% [trong|qua] {small} [lô|đợt|kỳ] "
    "gần nhất.",
    "[Người lao động|Công nhân|Anh chị em|Đoàn viên] [tại|ở] {place} [thường phải|nhiều "
    "tuần phải] làm thêm {small} giờ [mỗi tuần|một tuần|hằng tuần].",
    "{person}, [tổ trưởng|trưởng ca|kỹ thuật viên|nhân viên|tổ phó] {place}, là người "
    "[phát hiện|đầu tiên nêu ra|kiên trì theo dõi] [vấn đề|bất cập|hiện tượng] này.",
    "[Đơn vị|Chúng tôi|Tổ] đã [thử|học|áp dụng] cách làm của {organisation2} nhưng "
    "[không hiệu quả|chưa phù hợp|tốn kém] [với|đối với] {object}.",
    "[Nhiều|Không ít|Một số] [sáng kiến|giải pháp] trước đây [chỉ xử lý|mới giải quyết] được "
    "[phần ngọn|một phần|tạm thời] [vấn đề|tình trạng] này.",
)
SOLUTION = (
    "[Tác giả|Nhóm tác giả|Chúng tôi|Tổ công đoàn] [đề xuất|đã|mạnh dạn] {action} {part} "
    "[cho|trên|đối với] {object} [tại|ở] {place}.",
    "[Cụ thể|Trước hết|Đầu tiên], {action2} {part2} [để phối hợp với|kết hợp với|gắn "
    "vào|đặt trước] {object2}.",
    "Vật tư [chủ yếu|phần lớn|đa phần] [tận dụng|lấy|xin] từ kho, [mua thêm|chỉ mua|đặt "
    "mua] {part2} [của|hãng|do] {make} [giá|hết|với giá] {dec} triệu đồng.",
    "Tổng chi phí [thực hiện|đầu tư|bỏ ra] [khoảng|chừng|là|vào khoảng] {big} [nghìn "
    "đồng|triệu đồng], do {place} [tự làm|tự thi công|tự lắp đặt] trong {small} ngày.",
    "Sau {small} [tuần|tháng] [chạy thử|thử nghiệm|áp dụng thử] [ở|tại] {place}, giải pháp "
    "được [nhân rộng|áp dụng|triển khai] ra {small} [tổ|đơn vị|bộ phận|phân xưởng].",
    "Quy trình mới gồm {small} bước, [mỗi bước|từng bước|bước nào cũng] có [phiếu kiểm "
    "tra|người chịu trách nhiệm|biểu mẫu] riêng.",
    "[Nhóm|Tác giả|Tổ] đã [tập huấn|hướng dẫn|kèm cặp] cho {small} [đoàn viên|người lao "
    "động|đồng nghiệp] và lập sổ theo dõi [hằng ca|hằng ngày|hằng tuần].",
    "Thông số [vận hành|cài đặt|định mức] được [điều chỉnh|hạ|thay đổi] từ {small} xuống "
    "{small} [đơn vị|mức].",
    "[Tài liệu|Hồ sơ|Bản vẽ] [hướng dẫn|chi tiết|kỹ thuật] được lưu [tại|ở] {place} để "
    "[các đơn vị khác|đồng nghiệp|các tổ] tham khảo.",
    "[Cùng tham gia có|Đồng tác giả là|Giúp sức cho tác giả có] {person} và {coauthor}.",
    "{part2} [mã|loại|số hiệu] {model} [được|đã được] [lắp|đặt|bố trí] [ngay|sát] "
    "[cạnh|bên] {object}.",
    "[Mọi|Toàn bộ|Các] [công việc|khâu] [đều|được] [làm|thực hiện] ngoài giờ, [không "
    "ảnh hưởng|không làm gián đoạn] [sản xuất|công việc chung].",
)
EFFECT = (
    "Kết quả, {metric} [được cải thiện|cải thiện|đã cải thiện|thay đổi rõ] {pct}% "
    "[so với trước khi áp dụng|so với trước|so với cùng kỳ].",
    "{metric2} [cải thiện|tốt lên|chuyển biến] [khoảng|chừng|gần|hơn] {pct}% [trong|sau] "
    "{small} tháng theo dõi.",
    "Giá trị làm lợi [ước tính|tính được|ước đạt] {benefit} triệu đồng [mỗi năm|một năm|hằng năm].",
    "Mỗi [tuần|tháng] tiết kiệm được {small} giờ công [tại|ở|cho] {place}.",
    "[Từ|Kể từ] tháng {m} năm {y} không còn ghi nhận [sự cố|trường hợp|hiện tượng] tương tự.",
    "Sáng kiến [được|đã được] [áp dụng|nhân rộng] tại {small} đơn vị [trong ngành|trên địa "
    "bàn {province}|của {organisation}].",
    "Điều kiện làm việc của {small} [người lao động|đoàn viên|công nhân] được cải thiện.",
    "[Hội đồng sáng kiến|Hội đồng khoa học] {organisation} [đánh giá|công nhận|xếp] sáng "
    "kiến đạt loại [A|B|khá|tốt] năm {y}.",
    "Phản hồi về {object} từ [người sử dụng|cấp trên|đồng nghiệp] [rất tích cực|tốt|khả quan].",
)
TITLE_FORMS = (
    "[Giải pháp|Sáng kiến|Biện pháp] {action} {part} [cho|trên] {object} [tại|ở] {place}",
    "Cải tiến {object} [bằng cách|thông qua việc|qua việc] {action} {part}",
    "[Sáng kiến|Giải pháp] khắc phục tình trạng {object} {problem}",
    "Nâng cao hiệu quả {object} [thông qua|nhờ|bằng] {part}",
    "Ứng dụng {part} [của hãng|hãng] {make} [tại|vào] {place}",
    "{action} {part} [cho|trên] {object} [ở|tại] {organisation}",
)
_ALTERNATIVES = re.compile(r"\[([^\[\]]*)\]")
_DRAWS = re.compile(r"\{(small|big|pct|dec|y|q|m)\}")


@dataclass(frozen=True)
class Initiative:
    """The text fields of one initiative."""

    field: str
    title: str
    situation: str
    solution: str
    effect: str
    benefit_vnd: int

    def content(self) -> list[str]:
        """Situation, solution and effect, the parts matched besides the title."""
        return [self.situation, self.solution, self.effect]


_NUMBERS = {
    "small": lambda rng: str(rng.randint(2, 60)),
    "big": lambda rng: f"{rng.randint(100, 9_900):,}".replace(",", "."),
    "pct": lambda rng: str(rng.randint(5, 85)),
    "dec": lambda rng: f"{rng.randint(1, 99)},{rng.randint(1, 9)}",
    "y": lambda rng: str(rng.randint(2005, 2022)),
    "q": lambda rng: str(rng.randint(1, 4)),
    "m": lambda rng: str(rng.randint(1, 12)),
}


def _fill(rng: random.Random, template: str, slots: dict[str, str]) -> str:
    """Fill the named slots, choose one of every ``[a|b]``, then draw a fresh figure for every
    ``{small}``, ``{big}``, ``{pct}``, ``{dec}``, ``{y}``, ``{q}`` and ``{m}``."""
    text = template.format(**{**slots, **{k: f"{{{k}}}" for k in _NUMBERS}})
    text = _ALTERNATIVES.sub(lambda match: rng.choice(match.group(1).split("|")), text)
    return _DRAWS.sub(lambda match: _NUMBERS[match.group(1)](rng), text)


def _sentence(rng: random.Random, template: str, slots: dict[str, str]) -> str:
    text = _fill(rng, template, slots)
    return text[0].upper() + text[1:]


def _person(rng: random.Random) -> str:
    middle = rng.choice(MIDDLE_NAMES)
    title = "chị" if middle == "Thị" else rng.choice(("anh", "đồng chí", "kỹ sư", "ông"))
    return f"{title} {rng.choice(FAMILY_NAMES)} {middle} {rng.choice(GIVEN_NAMES)}"


def _organisation(rng: random.Random, words: FieldWords) -> str:
    return f"{rng.choice(words.organisations)} {rng.choice(ORGANISATION_NAMES)}"


def _place(rng: random.Random, words: FieldWords) -> str:
    name = rng.choice(
        (
            str(rng.randint(1, 40)),
            f"{rng.choice('ABCDEGHKLMNPQRSTVX')}{rng.randint(1, 9)}",
            rng.choice(PLACE_NAMES),
            rng.choice(GIVEN_NAMES),
        )
    )
    return f"{rng.choice(words.units)} {name}"


def _slots(rng: random.Random, words: FieldWords) -> dict[str, str]:
    """What one filing talks about: its objects, problems, parts, people, places and makes."""

    def thing() -> str:
        return f"{rng.choice(words.heads)} {rng.choice(words.handles)}"

    slots = {
        "object": thing(),
        "object2": thing(),
        "problem": rng.choice(words.problems),
        "problem2": rng.choice(words.problems),
        "part": rng.choice(words.parts),
        "part2": rng.choice(words.parts),
        "action": rng.choice(words.actions),
        "action2": rng.choice(words.actions),
        "metric": rng.choice(words.metrics),
        "metric2": rng.choice(words.metrics),
        "handles": rng.choice(words.handles),
        "place": _place(rng, words),
        "unit_name": _place(rng, words),
        "organisation": _organisation(rng, words),
        "organisation2": _organisation(rng, words),
        "person": _person(rng),
        "coauthor": _person(rng),
        "make": rng.choice(MAKES),
        "model": f"{rng.choice(MAKES)[:2].upper()}-{rng.randint(100, 9_999)}",
        "province": rng.choice(PLACE_NAMES),
        "country": rng.choice(COUNTRIES),
        "ethnic": rng.choice(ETHNIC_GROUPS),
        "subject": rng.choice(SUBJECTS),
    }
    # Slots that hold templates themselves are filled once, so the filing keeps them.
    return {
        kind: _fill(rng, value, slots) if "{" in value or "[" in value else value
        for kind, value in slots.items()
    }


def _paragraph(
    rng: random.Random, templates: tuple[str, ...], slots: dict[str, str], extra: tuple[str, ...]
) -> str:
    chosen = [templates[0], *rng.sample(templates[1:], rng.randint(2, 4))]
    chosen += rng.sample(extra, rng.randint(0, min(2, len(extra))))
    return " ".join(_sentence(rng, template, slots) for template in chosen)


def initiative(rng: random.Random, field: str | None = None) -> Initiative:
    """One initiative of ``field`` (a random field when None)."""
    field = field or rng.choice(list(FIELDS))
    words = FIELDS[field]
    benefit = rng.choice([0, 5, 15, 30, 60, 120, 250, 800, 2500]) * rng.randint(1, 9) * 100_000
    slots = _slots(rng, words)
    slots["benefit"] = f"{benefit / 1_000_000:g}".replace(".", ",")
    slots["opener"] = _fill(rng, rng.choice(OPENERS), slots)
    return Initiative(
        field,
        _sentence(rng, rng.choice(TITLE_FORMS), slots),
        _paragraph(rng, SITUATION, slots, words.context),
        _paragraph(rng, SOLUTION, slots, ()),
        _paragraph(rng, EFFECT, slots, ()),
        benefit,
    )


PREAMBLE = (
    "Thực hiện Kế hoạch số {small}/KH-{initials} ngày {day} tháng {m} năm 2021 của {union} về "
    "triển khai Chương trình “01 triệu sáng kiến – nỗ lực vượt khó, sáng tạo, quyết tâm chiến "
    "thắng đại dịch Covid-19” trong [công nhân, viên chức, lao động|đoàn viên, người lao "
    "động|cán bộ, đoàn viên công đoàn].",
    "Ban chấp hành {union} đã [quán triệt|phổ biến|triển khai] chương trình đến [toàn thể|tất "
    "cả các|từng] [tổ công đoàn|công đoàn bộ phận|đoàn viên] và [phát động|tổ chức|mở] đợt thi "
    "đua [cao điểm|chào mừng|hưởng ứng] từ tháng {m} năm 2021.",
    "Tổ hỗ trợ sáng kiến của {union} đã hướng dẫn [đoàn viên|người lao động|các tổ công đoàn] "
    "cách [đăng ký|viết|hoàn thiện] [sáng kiến|hồ sơ sáng kiến|bản mô tả sáng kiến], [đánh giá "
    "hiệu quả|xác định giá trị làm lợi|tính toán hiệu quả kinh tế] và [gửi hồ sơ|cập nhật lên "
    "hệ thống|nộp hồ sơ] đúng hạn.",
    "Mỗi [đoàn viên|tổ công đoàn|công đoàn bộ phận] [đăng ký|phấn đấu có|cam kết có] ít nhất "
    "[một|01|hai] sáng kiến, [giải pháp|cách làm hay|ý tưởng] [trong năm|mỗi quý|trong đợt thi "
    "đua], [gắn với|phục vụ|góp phần] [phòng, chống dịch|phục hồi sản xuất|nâng cao năng suất] "
    "[tại đơn vị|của doanh nghiệp|ở cơ sở].",
    "[Các sáng kiến|Sáng kiến] được [Hội đồng sáng kiến|Ban giám đốc|thủ trưởng đơn vị] [công "
    "nhận|xét duyệt|thẩm định] sẽ được [khen thưởng|biểu dương|ghi nhận] và [giới thiệu|đề "
    "xuất|gửi] lên [công đoàn cấp trên|{union}|Liên đoàn Lao động tỉnh] [xét tặng bằng khen|"
    "tổng hợp|nhân rộng].",
    "[Công đoàn cơ sở|Ban chấp hành|Ban thường vụ] [phối hợp với|cùng] [chuyên môn|ban giám "
    "đốc|người sử dụng lao động] [tạo điều kiện|bố trí thời gian|hỗ trợ kinh phí] để [đoàn "
    "viên|người lao động|các tác giả] [thử nghiệm|áp dụng|triển khai] sáng kiến vào [thực tế|"
    "sản xuất|công việc hằng ngày].",
)


def preamble(rng: random.Random, union: str, words: int = 200) -> str:
    """The paragraph about the campaign that a unit pastes before each of its filings (about
    ``words`` words): the plan it answers, the support team, the registration rules."""
    slots = {
        "union": union,
        "initials": "".join(word[0] for word in union.split()[:4]).upper(),
        "day": str(rng.randint(1, 28)),
    }
    sentences: list[str] = []
    while sum(len(s.split()) for s in sentences) < words:
        sentences.append(_sentence(rng, PREAMBLE[len(sentences) % len(PREAMBLE)], slots))
    return " ".join(sentences)
