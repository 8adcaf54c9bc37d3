"""Helpers of the accessibility browser tests (issue 19): axe-core injected into real pages, the
browser's own text size, and the pages a participant and a console user see.

axe-core comes from npm (tests/web/axe/package.json, pinned with its integrity hash in
package-lock.json) and is installed on first use with `npm ci`; it is never served by the app."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

AXE_DIR = Path(__file__).parent / "axe"
AXE_JS = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.2 AA, as Circular 32/2017/TT-BTTTT asks of state portals.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
BLOCKING = ("critical", "serious")


def axe_source() -> str:
    if not AXE_JS.exists():
        npm = shutil.which("npm")
        if npm is None:
            if os.environ.get("REQUIRE_BROWSER") == "1":
                raise RuntimeError("REQUIRE_BROWSER=1 but npm is missing: axe-core cannot be installed")
            pytest.skip("npm is not installed: no axe-core for the accessibility tests")
        subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--prefix", str(AXE_DIR)], check=True, timeout=600,
                       capture_output=True)
    return AXE_JS.read_text(encoding="utf-8")


async def axe_violations(page, source: str) -> list[str]:
    """The critical and serious WCAG violations axe-core finds on the page as it is now, one line each.
    Injected through the DevTools protocol (page.evaluate), which the page's CSP does not govern."""
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.evaluate(source + "\n;undefined")
    result = await page.evaluate(
        "(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})", WCAG_TAGS)
    lines = []
    for v in result["violations"]:
        if v["impact"] in BLOCKING:
            targets = ", ".join(" ".join(n["target"]) for n in v["nodes"][:4])
            lines.append(f"{v['impact']} {v['id']}: {v['help']} — {targets}")
    return lines


async def set_text_size(page, percent: int) -> None:
    """The browser's own text size (Chrome's "Font size" setting, Android's text scaling): what a
    reader with low vision changes, as opposed to zooming the whole page."""
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("Page.setFontSizes", {"fontSizes": {"standard": 16 * percent // 100, "fixed": 13 * percent // 100}})


async def horizontal_overflow(page) -> int:
    """How many CSS pixels the page is wider than the window (0: it reflows)."""
    return await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
