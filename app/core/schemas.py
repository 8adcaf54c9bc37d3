"""The base of every JSON request body."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictIn(BaseModel):
    """A JSON body is taken with the types it declares, never coerced: `true` is not a count and
    `"12"` is not a number (422, like any invalid field). Page forms send strings and are parsed by
    their own routes. A date field says `Field(strict=False)`: JSON has no date type, so an ISO
    string is its only form."""

    model_config = ConfigDict(strict=True)
