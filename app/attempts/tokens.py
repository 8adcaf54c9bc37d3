"""Per-attempt option ids. The client never sees database option ids: those follow the bank's
order, and the bank's order (an "A" that is often right, say) is a hint. A token is an HMAC of
(attempt, option), so it means nothing outside its own attempt and cannot be guessed."""

from __future__ import annotations

import base64
import hashlib
import hmac


class OptionTokens:
    def __init__(self, secret: str):
        self._key = hashlib.sha256(("option-tokens:" + secret).encode()).digest()
        # The keyed state computed once; each token copies it (half the CPU of hmac.new: an
        # open, a resume and an attempt page make 80 tokens, a save up to 4).
        self._keyed = hmac.new(self._key, digestmod=hashlib.sha256)

    def token(self, attempt_id: int, option_id: int) -> str:
        mac = self._keyed.copy()
        mac.update(f"{attempt_id}:{option_id}".encode())
        digest = mac.digest()
        return base64.urlsafe_b64encode(digest[:9]).decode()

    def resolve(self, attempt_id: int, candidates: list[int], token: str) -> int | None:
        # Bytes, not str: compare_digest refuses non-ASCII str (a 500 for a hostile client).
        given = token.encode("utf-8", "surrogatepass")
        for option_id in candidates:
            if hmac.compare_digest(self.token(attempt_id, option_id).encode(), given):
                return option_id
        return None
