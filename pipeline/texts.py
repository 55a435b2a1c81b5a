"""Realistic Vietnamese initiative texts, generated deterministically from a seed.

Each field has its own vocabulary of objects, problems, measures and results; sentences are
assembled from templates with numbers drawn at random, so two initiatives of the same field
share the field's phrases (as real ones do) without being copies of each other.
"""

from __future__ import annotations

import random
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
OPENERS = [
    "Tại đơn vị",
    "Trong quá trình sản xuất",
    "Thời gian qua",
    "Trước khi có sáng kiến",
    "Qua khảo sát thực tế",
    "Những năm gần đây",
    "Từ đầu năm",
    "Ở bộ phận chúng tôi",
    "Khi dịch bệnh diễn biến phức tạp",
    "Theo báo cáo của phòng kỹ thuật",
]
SITUATION = [
    "{opener}, {object} {problem}.",
    "Mỗi tháng ghi nhận khoảng {n1} trường hợp {problem2}, ảnh hưởng trực tiếp đến {object2}.",
    "Để bù lại, người lao động phải tăng ca, chi phí phát sinh chiếm {n2}% giá thành.",
    "Nguyên nhân chính là {object} được đưa vào sử dụng đã lâu và chưa từng được cải tạo.",
    "Nhiều ý kiến tại hội nghị người lao động đề nghị sớm có giải pháp cho {object2}.",
    "Lãnh đạo đơn vị giao tổ kỹ thuật nghiên cứu khắc phục trong quý {n3}.",
    "Tình trạng {problem2} kéo dài gây lãng phí và tiềm ẩn rủi ro.",
    "Các biện pháp trước đây chỉ mang tính tạm thời, hiệu quả không cao.",
]
SOLUTION = [
    "Tác giả đề xuất {measure}.",
    "Bên cạnh đó, nhóm {measure2} để đồng bộ với {object2}.",
    "Toàn bộ vật tư được tận dụng từ kho, chi phí đầu tư chỉ khoảng {n4} triệu đồng.",
    "Giải pháp được chạy thử {n3} tuần, sau đó nhân rộng ra {n1} tổ sản xuất.",
    "Quy trình mới gồm {n3} bước, có hướng dẫn bằng hình ảnh dán tại vị trí làm việc.",
    "Công đoàn cơ sở phối hợp với chuyên môn tập huấn cho {n2} đoàn viên.",
    "Sáng kiến không làm thay đổi kết cấu chính nên dễ áp dụng ở đơn vị khác.",
    "Việc theo dõi được giao cho tổ trưởng, ghi chép vào sổ nhật ký hằng ca.",
]
EFFECT = [
    "Sau khi áp dụng, {result} {n5}%.",
    "{result2} rõ rệt so với cùng kỳ năm trước.",
    "Giá trị làm lợi ước tính {benefit} triệu đồng mỗi năm.",
    "Người lao động được giảm {n3} giờ làm thêm mỗi tuần, thu nhập ổn định hơn.",
    "Sáng kiến đã được hội đồng cơ sở công nhận và đề nghị nhân rộng.",
    "Môi trường làm việc an toàn, gọn gàng hơn, tạo phấn khởi trong đoàn viên.",
    "Kết quả được duy trì ổn định trong {n1} tháng theo dõi.",
]
TITLE_FORMS = [
    "Giải pháp {measure} cho {object}",
    "Cải tiến {object} bằng cách {measure}",
    "Sáng kiến {measure} nhằm khắc phục tình trạng {object} {problem}",
    "Nâng cao hiệu quả {object} thông qua {measure}",
    "Ứng dụng {measure} tại {object}",
    "Khắc phục {problem} ở {object}",
]


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


def _paragraph(rng: random.Random, templates: list[str], slots: dict[str, str], first: str) -> str:
    chosen = [first, *rng.sample([t for t in templates if t != first], rng.randint(2, 4))]
    return " ".join(t.format(**slots) for t in chosen)


def initiative(rng: random.Random, field: str | None = None) -> Initiative:
    """One initiative of ``field`` (a random field when None)."""
    field = field or rng.choice(list(FIELDS))
    words = FIELDS[field]
    main = _pick(rng, words)
    second = _pick(rng, words)
    benefit = rng.choice([0, 5, 15, 30, 60, 120, 250, 800, 2500]) * 1_000_000
    slots = {
        **main,
        "object2": second["object"],
        "problem2": second["problem"],
        "measure2": second["measure"],
        "result2": second["result"].capitalize(),
        "opener": rng.choice(OPENERS),
        "benefit": str(benefit // 1_000_000),
        **{f"n{i}": str(rng.randint(2, 95)) for i in range(1, 6)},
    }
    title = rng.choice(TITLE_FORMS).format(**main)
    return Initiative(
        field,
        title[0].upper() + title[1:],
        _paragraph(rng, SITUATION, slots, SITUATION[0]),
        _paragraph(rng, SOLUTION, slots, SOLUTION[0]),
        _paragraph(rng, EFFECT, slots, EFFECT[0]),
        benefit,
    )
