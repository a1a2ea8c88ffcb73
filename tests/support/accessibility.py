"""An accessibility audit of what a Playwright page shows: axe-core (tests/browser/package.json, installed by
`make install`) run in the page against WCAG 2.1 A and AA."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.async_api import Page

AXE = Path(__file__).resolve().parents[1] / "browser" / "node_modules" / "axe-core" / "axe.min.js"
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

# Run in the page: axe.run on the whole document, or within one element, with only WCAG 2.1 A and AA's rules. An
# element inside a shadow root is named by its host's selector, then its own. Contrast is measured on text of any
# length: axe leaves a text of one or two characters undecided (a board column's count), which the audit never saw.
# The check's options are axe's own for the rule (axe takes them whole), `ignoreLength` apart.
_RUN = """async ([within, tags]) => {
    const context = within ? {include: [[within]]} : document;
    const contrast = {
        ignoreUnicode: true, ignoreLength: true, ignorePseudo: false, boldValue: 700, boldTextPt: 14, largeTextPt: 18,
        contrastRatio: {normal: {expected: 4.5}, large: {expected: 3}}, pseudoSizeThreshold: 0.25,
        shadowOutlineEmMax: 0.2, textStrokeEmMin: 0.03,
    };
    const results = await axe.run(context, {
        runOnly: {type: "tag", values: tags}, checks: {"color-contrast": {options: contrast}},
    });
    return results.violations.map((violation) => ({
        id: violation.id,
        impact: violation.impact,
        help: violation.help,
        targets: violation.nodes.map((node) => {
            const why = [...node.any, ...node.all, ...node.none].map((check) => check.message)[0];
            return node.target.flat().join(" >> ") + (why ? `: ${why}` : "");
        }),
    }));
}"""


@dataclass(frozen=True)
class Violation:
    """One of axe's rules broken, on the elements its selectors name (each with why, as axe says it)."""

    rule: str
    impact: str
    help: str
    targets: list[str]
    where: str

    def __str__(self) -> str:
        elements = "\n".join(f"      {target}" for target in self.targets)
        return f"  {self.where}: {self.rule} ({self.impact}) {self.help}\n{elements}"


async def audit(page: Page, where: str, within: str | None = None) -> list[Violation]:
    """WCAG 2.1 A and AA's violations on `page` as it is now (`where` names it in the message), or only within
    the element `within` selects."""
    if not await page.evaluate("() => typeof window.axe !== 'undefined'"):
        assert AXE.is_file(), f"{AXE} is missing: `make install` installs it"
        await page.add_script_tag(path=AXE)
    found: list[dict[str, Any]] = await page.evaluate(_RUN, [within, WCAG_21_AA])
    return [Violation(item["id"], item["impact"], item["help"], item["targets"], where) for item in found]


def described(violations: list[Violation]) -> str:
    """The violations, one a paragraph, for an assertion's message."""
    return f"{len(violations)} accessibility violation(s):\n" + "\n".join(map(str, violations))
