"""Per-attempt option ids. The client never sees database option ids: those follow the bank's
order, and the bank's order (an "A" that is often right, say) is a hint. A token is an HMAC of
(attempt, option), so it means nothing outside its own attempt and cannot be guessed."""

from __future__ import annotations

import binascii
import hashlib
import hmac

# base64's URL-safe alphabet: "+/" become "-_" (a 9-byte token has no padding)
_URLSAFE = bytes.maketrans(b"+/", b"-_")


class OptionTokens:
    def __init__(self, secret: str):
        self._key = hashlib.sha256(("option-tokens:" + secret).encode()).digest()
        # The keyed state computed once; each token copies it (half the CPU of hmac.new: an
        # open, a resume and an attempt page make 80 tokens, a save up to 4). The C object
        # itself, not the hmac module's Python wrapper around it (whose copy() costs more).
        self._keyed = hmac.new(self._key, digestmod=hashlib.sha256)
        inner = getattr(self._keyed, "_hmac", None)
        self._copy = inner.copy if inner is not None else self._keyed.copy

    def token(self, attempt_id: int, option_id: int) -> str:
        mac = self._copy()
        mac.update(b"%d:%d" % (attempt_id, option_id))
        # urlsafe_b64encode(digest[:9]), without its two Python-level calls
        return binascii.b2a_base64(mac.digest()[:9], newline=False).translate(_URLSAFE).decode()

    def resolve(self, attempt_id: int, candidates: list[int], token: str) -> int | None:
        # Bytes, not str: compare_digest refuses non-ASCII str (a 500 for a hostile client).
        given = token.encode("utf-8", "surrogatepass")
        for option_id in candidates:
            if hmac.compare_digest(self.token(attempt_id, option_id).encode(), given):
                return option_id
        return None
