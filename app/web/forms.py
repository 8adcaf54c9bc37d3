"""Forms of the pages: the one dependency every POST page declares (`form: PageForm`: the form,
read once, after the CSRF check every cookie-authenticated write needs) and small parsers for the
consoles' form fields, shared by the pages of several features."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData

from app.core.deps import check_csrf
from app.core.errors import AppError


async def page_form(request: Request) -> FormData:
    """The submitted form, after its CSRF token was checked (403 with the "reload the page" message
    otherwise). Starlette keeps the parsed form on the request, so reading it again is free."""
    form = await request.form()
    check_csrf(request, form.get("csrf_token"))  # type: ignore[arg-type]
    return form


PageForm = Annotated[FormData, Depends(page_form)]


def optional_int(raw: object) -> int | None:
    """The round page's T field (and the regrade's question): blank is None, dots as thousands
    separators are allowed, anything else that is not a whole number is refused."""
    text = str(raw or "").strip().replace(".", "")
    if not text:
        return None
    if not (text.isascii() and text.isdigit()):
        raise AppError("invalid_truth", "Số người trả lời đúng tất cả phải là số nguyên không âm.", 422)
    return int(text)
