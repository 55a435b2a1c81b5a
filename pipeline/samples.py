"""A handful of realistic initiatives for the demo (the simulator generates campaigns at scale)."""

from __future__ import annotations

from typing import Any

SAMPLES: list[dict[str, Any]] = [
    {
        "union_code": "ldld-ha-noi.h03.cs0002",
        "submitted_at": "2022-03-15T09:30:00+07:00",
        "title": "Cải tiến quy trình kiểm tra chất lượng sản phẩm bằng bảng kiểm điện tử",
        "field": "production",
        "situation": "Kiểm tra thủ công trên giấy mất nhiều thời gian, số liệu dễ sai sót.",
        "solution": "Dùng bảng kiểm điện tử trên máy tính bảng, quét mã vạch ở mỗi công đoạn.",
        "effect": "Giảm 30% thời gian kiểm tra, tỷ lệ lỗi lọt lưới dưới 1%.",
        "benefit_vnd": 120_000_000,
        "recognition": {
            "kind": "recognition_decision",
            "decision_number": "15/QĐ-CĐCS",
            "decision_date": "2022-03-01",
        },
        "author": {"name": "Nguyễn Văn An", "member_id": "HN-000123", "phone": "0912345678"},
    },
    {
        "union_code": "ldld-lai-chau.h01.cs0001",
        "submitted_at": "2022-10-03T14:00:00+07:00",
        "title": "Tiết kiệm điện chiếu sáng nhà xưởng bằng cảm biến chuyển động",
        "field": "energy_saving",
        "situation": "Đèn nhà xưởng bật suốt ca kể cả ở khu vực không có người làm việc.",
        "solution": "Lắp cảm biến chuyển động và hẹn giờ cho từng dãy đèn, thay bóng LED.",
        "effect": "Giảm 42% điện năng chiếu sáng mỗi tháng.",
        "benefit_vnd": 85_000_000,
        "recognition": {"kind": "other_direct"},
        "author": {"name": "Lò Thị Hoa", "email": "hoa.lo@example.vn"},
    },
    {
        "union_code": "ldld-ninh-thuan-kcn",
        "submitted_at": "2022-01-20T08:15:00+07:00",
        "title": "Số hóa hồ sơ đoàn viên công đoàn cơ sở",
        "field": "digital_transformation",
        "situation": "Hồ sơ đoàn viên lưu trên giấy, tra cứu và tổng hợp báo cáo mất nhiều ngày.",
        "solution": "Xây dựng bảng tính dùng chung có phân quyền và mẫu báo cáo tự động.",
        "effect": "Thời gian lập báo cáo quý giảm từ 5 ngày xuống còn nửa ngày.",
        "benefit_vnd": 15_000_000,
        "recognition": {
            "kind": "commendation_decision",
            "decision_number": "07/QĐ-LĐLĐ",
            "decision_date": "2022-01-10",
        },
        "author": {"name": "Trần Quốc Bảo", "member_id": "NT-4411"},
    },
    {
        "union_code": "cd-giao-duc.tct01.cs0003",
        "submitted_at": "2022-11-08T20:45:00+07:00",
        "title": "Ngân hàng câu hỏi ôn tập trực tuyến cho học sinh lớp 9",
        "field": "education",
        "situation": "Học sinh thiếu tài liệu ôn tập có phản hồi ngay khi học trực tuyến.",
        "solution": "Tổ chức ngân hàng câu hỏi theo chủ đề trên nền tảng miễn phí, chấm tự động.",
        "effect": "Tỷ lệ học sinh đạt điểm khá giỏi tăng 12% so với năm trước.",
        "benefit_vnd": 0,
        "recognition": {"kind": "none"},
        "author": {"name": "Phạm Thu Trang"},
    },
]

INVALID_SAMPLE: dict[str, Any] = {
    **SAMPLES[0],
    "union_code": "ldld-ha-noi",
    "submitted_at": "2024-01-05T09:00:00+07:00",
    "benefit_vnd": -5,
}
