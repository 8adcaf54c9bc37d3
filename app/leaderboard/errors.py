from __future__ import annotations

from app.core.errors import Conflict, Invalid


class RoundNotClosed(Conflict):
    def __init__(self):
        super().__init__("round_not_closed", "Đợt thi chưa kết thúc: chỉ chốt kết quả sau khi đợt thi đóng.")


class OneScopeOnly(Invalid):
    def __init__(self):
        super().__init__("invalid_scope", "Chỉ chọn một trong hai: đơn vị hoặc tỉnh/thành phố.")
