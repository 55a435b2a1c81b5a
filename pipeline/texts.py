"""Realistic Vietnamese initiative texts, generated deterministically from a seed.

Each field has its own vocabulary of objects, problems, measures and results; sentences are
assembled from templates with numbers drawn at random, so two initiatives of the same field
share the field's phrases (as real ones do) without being copies of each other.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

FIELDS: dict[str, dict[str, list[str]]] = {
    "production": {
        "object": [
            "dây chuyền đóng gói",
            "máy ép nhựa",
            "khuôn dập",
            "băng tải",
            "lò sấy",
            "máy cắt vải",
            "dây chuyền hàn",
            "trạm trộn bê tông",
            "máy tiện CNC",
            "hệ thống khí nén",
            "bồn chứa nguyên liệu",
            "máy chiết rót",
        ],
        "problem": [
            "thường xuyên dừng máy do kẹt sản phẩm",
            "tỷ lệ phế phẩm cao",
            "thời gian chuyển đổi khuôn kéo dài",
            "công nhân phải thao tác thủ công nhiều",
            "tiêu hao vật tư lớn",
            "sai lệch kích thước vượt dung sai",
            "năng suất không đạt kế hoạch",
        ],
        "measure": [
            "thiết kế lại cơ cấu dẫn hướng",
            "lắp thêm cảm biến quang",
            "chế tạo đồ gá định vị nhanh",
            "bổ sung bộ điều khiển PLC",
            "thay đổi trình tự thao tác",
            "cải tiến biên dạng dao cắt",
            "lắp bộ đếm sản phẩm tự động",
            "tận dụng phế liệu để gia công chi tiết phụ",
        ],
        "result": [
            "năng suất tăng",
            "tỷ lệ phế phẩm giảm",
            "thời gian dừng máy giảm",
            "chi phí vật tư giảm",
            "số lao động phục vụ giảm",
        ],
    },
    "energy_saving": {
        "object": [
            "hệ thống chiếu sáng nhà xưởng",
            "máy nén khí",
            "lò hơi",
            "hệ thống điều hòa",
            "động cơ bơm nước",
            "quạt thông gió",
            "hệ thống làm lạnh",
            "trạm biến áp",
        ],
        "problem": [
            "tiêu thụ điện năng lớn vào giờ cao điểm",
            "rò rỉ khí nén trên đường ống",
            "nhiệt thải không được thu hồi",
            "thiết bị chạy không tải kéo dài",
            "hệ số công suất thấp",
        ],
        "measure": [
            "lắp biến tần điều chỉnh tốc độ",
            "thay bóng đèn LED kèm cảm biến",
            "thu hồi nhiệt khói thải để sấy nguyên liệu",
            "lắp tụ bù công suất phản kháng",
            "hẹn giờ tắt thiết bị ngoài ca",
            "bọc cách nhiệt đường ống hơi",
            "lắp tấm pin mặt trời trên mái",
        ],
        "result": [
            "điện năng tiêu thụ giảm",
            "lượng than sử dụng giảm",
            "tiền điện hằng tháng giảm",
            "phát thải khí nhà kính giảm",
        ],
    },
    "education": {
        "object": [
            "tiết học trực tuyến",
            "ngân hàng câu hỏi",
            "phòng thí nghiệm",
            "thư viện trường",
            "sổ điểm điện tử",
            "giờ sinh hoạt lớp",
            "bài giảng môn Toán",
            "câu lạc bộ tiếng Anh",
        ],
        "problem": [
            "học sinh thiếu tương tác",
            "giáo viên mất nhiều thời gian chấm bài",
            "thiết bị thí nghiệm thiếu và cũ",
            "học sinh yếu không theo kịp chương trình",
            "phụ huynh ít nắm được tình hình học tập",
        ],
        "measure": [
            "xây dựng kho bài giảng điện tử dùng chung",
            "tự làm đồ dùng dạy học từ vật liệu tái chế",
            "tổ chức nhóm học tập theo năng lực",
            "ứng dụng phần mềm chấm trắc nghiệm",
            "lập nhóm liên lạc với phụ huynh theo tuần",
            "thiết kế phiếu học tập theo chủ đề",
        ],
        "result": [
            "tỷ lệ học sinh khá giỏi tăng",
            "thời gian chấm bài giảm",
            "chi phí mua thiết bị giảm",
            "học sinh hứng thú hơn với môn học",
        ],
    },
    "health": {
        "object": [
            "quy trình tiếp đón người bệnh",
            "khoa cấp cứu",
            "kho dược",
            "phòng xét nghiệm",
            "quy trình tiêm chủng",
            "khu cách ly",
            "hồ sơ bệnh án",
        ],
        "problem": [
            "người bệnh phải chờ lâu",
            "sai sót khi cấp phát thuốc",
            "mẫu xét nghiệm trả kết quả chậm",
            "nguy cơ lây nhiễm chéo",
            "quá tải vào đầu tuần",
        ],
        "measure": [
            "sắp xếp lại luồng di chuyển một chiều",
            "dán mã vạch cho từng đơn thuốc",
            "đặt lịch khám qua tổng đài",
            "chế tạo buồng lấy mẫu di động",
            "phân loại người bệnh ngay tại cổng",
            "số hóa phiếu chỉ định",
        ],
        "result": [
            "thời gian chờ giảm",
            "sai sót cấp phát thuốc giảm",
            "số ca lây nhiễm giảm",
            "mức hài lòng của người bệnh tăng",
        ],
    },
    "administrative_reform": {
        "object": [
            "thủ tục cấp giấy xác nhận",
            "hồ sơ đoàn viên",
            "quy trình duyệt chi",
            "bộ phận một cửa",
            "công văn đến và đi",
            "báo cáo định kỳ",
        ],
        "problem": [
            "hồ sơ phải đi qua nhiều khâu",
            "tra cứu mất nhiều ngày",
            "biểu mẫu trùng lặp",
            "người dân phải đi lại nhiều lần",
            "số liệu báo cáo không thống nhất",
        ],
        "measure": [
            "chuẩn hóa bộ biểu mẫu dùng chung",
            "tiếp nhận hồ sơ qua mạng",
            "lập sổ theo dõi điện tử có phân quyền",
            "rút gọn quy trình còn ba bước",
            "tự động tổng hợp số liệu từ các đơn vị",
        ],
        "result": [
            "thời gian giải quyết hồ sơ giảm",
            "chi phí in ấn giảm",
            "số lần người dân phải đi lại giảm",
            "báo cáo nộp đúng hạn",
        ],
    },
    "digital_transformation": {
        "object": [
            "phần mềm quản lý kho",
            "ứng dụng chấm công",
            "cổng thông tin nội bộ",
            "hệ thống camera giám sát",
            "cơ sở dữ liệu khách hàng",
            "phần mềm kế toán",
        ],
        "problem": [
            "dữ liệu nhập tay nhiều lần",
            "không theo dõi được tồn kho theo thời gian thực",
            "chấm công bằng giấy dễ sai",
            "thông tin phân tán ở nhiều bộ phận",
        ],
        "measure": [
            "kết nối máy quét mã vạch với phần mềm",
            "xây dựng ứng dụng trên điện thoại",
            "đồng bộ dữ liệu lên máy chủ chung",
            "tự động gửi cảnh báo qua tin nhắn",
            "dùng bảng tính trực tuyến có phân quyền",
        ],
        "result": [
            "thời gian nhập liệu giảm",
            "sai sót số liệu giảm",
            "chi phí văn phòng phẩm giảm",
            "lãnh đạo nắm thông tin kịp thời",
        ],
    },
    "safety": {
        "object": [
            "khu vực vận hành máy cắt",
            "giàn giáo thi công",
            "kho hóa chất",
            "lối thoát hiểm",
            "tủ điện phân phối",
            "xe nâng hàng",
        ],
        "problem": [
            "nguy cơ tai nạn lao động cao",
            "công nhân chủ quan không dùng bảo hộ",
            "biển báo không rõ ràng",
            "hóa chất bảo quản chưa đúng quy định",
        ],
        "measure": [
            "lắp rào chắn tự động ngắt máy",
            "kẻ vạch phân luồng và lắp gương cầu",
            "xây dựng bảng kiểm an toàn đầu ca",
            "lắp cảm biến khói kết nối còi báo",
            "tổ chức diễn tập định kỳ hằng quý",
        ],
        "result": [
            "số vụ tai nạn giảm",
            "thời gian sơ tán giảm",
            "vi phạm an toàn giảm",
            "ý thức an toàn của người lao động nâng lên",
        ],
    },
}
PLACES = [
    "phân xưởng {n}",
    "tổ {n}",
    "ca {n}",
    "dây chuyền số {n}",
    "kho vật tư khu {L}",
    "xưởng cơ điện",
    "khu đóng gói {L}",
    "phòng kỹ thuật",
    "trạm {L}{n}",
    "khoa {L}",
    "điểm trường {L}",
    "bộ phận một cửa",
    "nhà máy {L}",
    "chi nhánh {n}",
]
QUALIFIERS = [
    "loại {L}{n}",
    "đời {y}",
    "công suất {n} kW",
    "model {L}{L}-{n}{n}",
    "nhập khẩu",
    "do đơn vị tự chế tạo",
    "đã qua {n} lần sửa chữa",
    "dùng chung cho {n} tổ",
    "vận hành {n} giờ mỗi ngày",
    "lắp đặt từ năm {y}",
]
OPENERS = [
    "Tại {place}",
    "Trong năm {y}",
    "Từ quý {q} năm {y}",
    "Qua {n} lần kiểm tra tại {place}",
    "Theo số liệu của {place}",
    "Khi triển khai kế hoạch năm {y}",
    "Ở {place}",
    "Sau đợt dịch năm {y}",
    "Trong mùa cao điểm",
]
SITUATION = [
    "{opener}, {object} {qualifier} {problem}.",
    "Bình quân mỗi tháng có {n} lần {problem2}, mỗi lần mất khoảng {n} phút xử lý.",
    "Việc này làm {object2} tại {place} phải dừng chờ, ảnh hưởng kế hoạch của {n} đơn vị.",
    "Chi phí khắc phục năm {y} lên tới {n} triệu đồng.",
    "Đã có {n} kiến nghị của đoàn viên gửi công đoàn về vấn đề này.",
    "Nguyên nhân do {object} {qualifier} không còn phù hợp với sản lượng {n} tấn mỗi tháng.",
    "Ban giám đốc giao {place} tìm cách khắc phục trước tháng {m}.",
    "Tỷ lệ sai hỏng đo được là {n},{n}% trong {n} lô gần nhất.",
    "Người lao động tại {place} thường phải làm thêm {n} giờ mỗi tuần.",
]
SOLUTION = [
    "Tác giả đề xuất {measure} tại {place}.",
    "Cụ thể, {measure2} để phối hợp với {object2} {qualifier}.",
    "Vật tư gồm {n} mét ống, {n} bộ cảm biến và {n} bu lông, phần lớn tận dụng từ kho.",
    "Tổng chi phí thực hiện khoảng {n} triệu đồng, do {place} tự làm trong {n} ngày.",
    "Sau {n} tuần chạy thử ở {place}, giải pháp được nhân rộng ra {n} tổ.",
    "Quy trình mới gồm {n} bước, mỗi bước có phiếu kiểm tra riêng.",
    "Nhóm đã tập huấn cho {n} đoàn viên và lập sổ theo dõi hằng ca.",
    "Thông số vận hành được điều chỉnh từ {n} xuống {n} đơn vị.",
    "Bản vẽ chi tiết được lưu tại {place} để các đơn vị khác tham khảo.",
]
EFFECT = [
    "Kết quả, {result} {n}% so với trước khi áp dụng.",
    "{result2} khoảng {n}% trong {n} tháng theo dõi.",
    "Giá trị làm lợi ước tính {benefit} triệu đồng mỗi năm.",
    "Mỗi tuần tiết kiệm được {n} giờ công tại {place}.",
    "Từ tháng {m} năm {y} không còn ghi nhận sự cố tương tự.",
    "Sáng kiến được áp dụng tại {n} đơn vị trong ngành.",
    "Điều kiện làm việc của {n} người lao động được cải thiện.",
]
TITLE_FORMS = [
    "Giải pháp {measure} cho {object} tại {place}",
    "Cải tiến {object} {qualifier} bằng cách {measure}",
    "Sáng kiến khắc phục tình trạng {object} {problem}",
    "Nâng cao hiệu quả {object} thông qua {measure}",
    "Ứng dụng {measure} tại {place}",
    "Khắc phục {problem} ở {object}",
]
_SLOT = re.compile(r"\{(n|L|y|q|m)\}")


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


def _pick(rng: random.Random, words: dict[str, list[str]]) -> dict[str, str]:
    return {kind: rng.choice(options) for kind, options in words.items()}


def _fill(rng: random.Random, template: str, slots: dict[str, str]) -> str:
    """Fill named slots, then draw a fresh number or letter for every {n}, {L}, {y}, {q}, {m}."""
    draws = {
        "n": lambda: str(rng.randint(2, 60)),
        "L": lambda: rng.choice("ABCDEGHKLMNPQRSTVX"),
        "y": lambda: str(rng.randint(2005, 2022)),
        "q": lambda: str(rng.randint(1, 4)),
        "m": lambda: str(rng.randint(1, 12)),
    }
    text = template.format(**{**slots, **{k: f"{{{k}}}" for k in draws}})
    return _SLOT.sub(lambda match: draws[match.group(1)](), text)


def _paragraph(rng: random.Random, templates: list[str], slots: dict[str, str]) -> str:
    chosen = [templates[0], *rng.sample(templates[1:], rng.randint(2, 4))]
    return " ".join(_fill(rng, t, slots) for t in chosen)


def initiative(rng: random.Random, field: str | None = None) -> Initiative:
    """One initiative of ``field`` (a random field when None)."""
    field = field or rng.choice(list(FIELDS))
    words = FIELDS[field]
    main = _pick(rng, words)
    second = _pick(rng, words)
    benefit = rng.choice([0, 5, 15, 30, 60, 120, 250, 800, 2500]) * rng.randint(1, 9) * 100_000
    place = _fill(rng, rng.choice(PLACES), {})
    slots = {
        **main,
        "object2": second["object"],
        "problem2": second["problem"],
        "measure2": second["measure"],
        "result2": second["result"].capitalize(),
        "place": place,
        "qualifier": _fill(rng, rng.choice(QUALIFIERS), {}),
        "benefit": f"{benefit / 1_000_000:g}".replace(".", ","),
    }
    slots["opener"] = _fill(rng, rng.choice(OPENERS), slots)
    title = _fill(rng, rng.choice(TITLE_FORMS), slots)
    return Initiative(
        field,
        title[0].upper() + title[1:],
        _paragraph(rng, SITUATION, slots),
        _paragraph(rng, SOLUTION, slots),
        _paragraph(rng, EFFECT, slots),
        benefit,
    )
