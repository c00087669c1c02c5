"""Accessibility checks shared by the browser tests: WCAG contrast and axe-core.

The colour maths is WCAG 2.1's own (relative luminance, contrast ratio,
https://www.w3.org/TR/WCAG21/#dfn-relative-luminance); the colours come from the
page's ``getComputedStyle``, so they are what Chromium paints.
"""

from __future__ import annotations

from dataclasses import dataclass

# axe-core's rule tags for WCAG 2.0 and 2.1, levels A and AA.
WCAG21_AA = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")
# The impacts a page must never have (axe also reports "moderate" and "minor").
BLOCKING_IMPACTS = ("serious", "critical")
# Every button and link-button: what a person presses.
BUTTONS = "button, input[type=submit], a.btn, label.btn"
TEXT_CONTRAST = 4.5  # WCAG 2.1 SC 1.4.3, normal-size text


def luminance(rgb: tuple[float, float, float]) -> float:
    """WCAG 2.1 relative luminance of an sRGB colour (0-255 channels)."""
    def linear(channel: float) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (linear(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(first, second) -> float:
    """WCAG 2.1 contrast ratio of two opaque colours: (L1 + 0.05) / (L2 + 0.05)."""
    high, low = sorted((luminance(first), luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def parse_colour(css: str) -> tuple[float, float, float, float]:
    """Return (r, g, b, alpha) of a computed ``rgb()``/``rgba()`` colour."""
    parts = [float(x) for x in css[css.index("(") + 1:css.index(")")].replace("/", ",")
             .replace(" ", ",").split(",") if x]
    return (*parts[:3], parts[3] if len(parts) > 3 else 1.0)


def over(css: str, base: tuple[float, float, float]) -> tuple[float, float, float]:
    """Composite one computed colour over an opaque one (alpha blending)."""
    r, g, b, a = parse_colour(css)
    return tuple(a * c + (1 - a) * under for c, under in zip((r, g, b), base, strict=True))


def flatten(layers: list[str]) -> tuple[float, float, float]:
    """Composite computed colours, the element's first, over white: what the eye sees."""
    result = (255.0, 255.0, 255.0)
    for css in reversed(layers):
        result = over(css, result)
    return result


# For an element: its computed colours, and the background layers behind it up to the root.
STYLES = """(el) => {
  const layers = [];
  for (let e = el; e; e = e.parentElement) {
    layers.push(getComputedStyle(e).backgroundColor);
  }
  const s = getComputedStyle(el);
  return {color: s.color, border: s.borderTopColor, borderWidth: s.borderTopWidth,
          outline: s.outlineColor, outlineStyle: s.outlineStyle, outlineWidth: s.outlineWidth,
          layers: layers,
          text: (el.innerText || el.value || "").trim(),
          width: el.getBoundingClientRect().width, height: el.getBoundingClientRect().height,
          visible: !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length)};
}"""

# For each button: the text a person sees in it, piece by piece, each with its own
# colour and the background layers behind it. Text is not seen when it, or an element
# between it and the button, is hidden (visibility, display, opacity 0) or clipped to a
# pixel (Bootstrap's and the admin's .visually-hidden): icon buttons name themselves that
# way, and their glyph is not text. A disabled control is exempt (WCAG 1.4.3: inactive
# user interface components), and so is one with no box.
_VISIBLE_TEXT = """(els) => els.map((el) => {
  const layers = (e) => {
    const out = [];
    for (; e; e = e.parentElement) out.push(getComputedStyle(e).backgroundColor);
    return out;
  };
  const hidden = (e) => {
    const s = getComputedStyle(e);
    const box = e.getBoundingClientRect();
    return s.visibility === "hidden" || s.display === "none" || s.opacity === "0"
      || (s.clip !== "auto" && s.clip !== "") || (s.clipPath && s.clipPath !== "none")
      || (box.width <= 1 && box.height <= 1);
  };
  let shown = !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length)
    && !el.disabled && el.getAttribute("aria-disabled") !== "true";
  for (let e = el.parentElement; e && shown; e = e.parentElement) {
    const s = getComputedStyle(e);
    if (s.visibility === "hidden" || s.display === "none" || s.opacity === "0") shown = false;
  }
  const pieces = [];
  if (shown && el.tagName === "INPUT") {
    if ((el.value || "").trim() && !hidden(el)) {
      pieces.push({text: el.value.trim(), color: getComputedStyle(el).color, layers: layers(el)});
    }
  } else if (shown) {
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (!node.textContent.trim()) continue;
      let seen = true;
      for (let e = node.parentElement; e && seen; e = e === el ? null : e.parentElement) {
        if (hidden(e)) seen = false;
      }
      if (seen) pieces.push({text: node.textContent.trim(),
                             color: getComputedStyle(node.parentElement).color,
                             layers: layers(node.parentElement)});
    }
  }
  const label = el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
    + (el.getAttribute("name") ? "[name=" + el.getAttribute("name") + "]" : "")
    + (typeof el.className === "string" && el.className.trim()
       ? "." + el.className.trim().split(/\\s+/).join(".") : "");
  return {selector: label, pieces: pieces};
})"""


def styles(locator) -> dict:
    return locator.evaluate(STYLES)


def backdrop(locator) -> tuple[float, float, float]:
    """The colour behind an element: its parent's flattened background."""
    return flatten(locator.locator("xpath=..").evaluate(STYLES)["layers"])


@dataclass(frozen=True)
class ButtonContrast:
    text: str
    selector: str
    ratio: float
    colour: str
    background: tuple[float, float, float]

    def __str__(self) -> str:
        r, g, b = (round(c) for c in self.background)
        return (f"button {self.text!r} ({self.selector}): {self.ratio:.2f}:1, "
                f"text {self.colour} on rgb({r}, {g}, {b}); needs {TEXT_CONTRAST}:1")


def button_contrasts(page, *, settle: bool = True) -> list[ButtonContrast]:
    """Every shown, enabled button or link-button with visible text, at its lowest contrast.

    Each piece of visible text is measured in its own colour against its own background:
    the element's, walking up through its ancestors where that is transparent
    (semi-transparent layers composited, over white at the root). The text colour is
    composited over that background too, so transparent text is 1:1. With ``settle``,
    the mouse leaves first and the colour transitions end: the buttons at rest.
    """
    if settle:  # no hover, and Bootstrap's colour transitions (0.15 s) run to their end
        page.mouse.move(0, 0)
        page.wait_for_timeout(200)
    results = []
    for found in page.locator(BUTTONS).evaluate_all(_VISIBLE_TEXT):
        measured = []
        for piece in found["pieces"]:
            background = flatten(piece["layers"])
            text = over(piece["color"], background)
            measured.append((contrast(text, background), piece["color"], background))
        if not measured:
            continue
        ratio, colour, background = min(measured)
        text = " ".join(" ".join(piece["text"] for piece in found["pieces"]).split())
        results.append(ButtonContrast(text[:60], found["selector"], ratio, colour, background))
    return results


def assert_buttons_readable(page, where: str) -> None:
    """Every visible button's text is at least 4.5:1 against its own background."""
    checked = button_contrasts(page)
    assert checked, f"{where}: no button found"
    for button in checked:
        assert button.ratio >= TEXT_CONTRAST, f"{where}: {button}"


def axe_violations(page, script: str, tags=WCAG21_AA) -> list[dict]:
    """Run axe-core in ``page`` on the WCAG ``tags``; return the serious and critical.

    ``script`` is axe.min.js's source; it is evaluated through the DevTools protocol,
    which the page's Content Security Policy does not govern, as an extension would be.
    """
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(script)
    result = page.evaluate(
        "(options) => window.axe.run(document, options)",
        {"runOnly": {"type": "tag", "values": list(tags)}, "resultTypes": ["violations"]},
    )
    return [v for v in result["violations"] if v["impact"] in BLOCKING_IMPACTS]


def describe(violation: dict, limit: int = 8) -> str:
    """One violation as a person fixing it wants it: rule, impact, where, and the help."""
    targets = [" ".join(str(t) for t in node["target"]) for node in violation["nodes"]]
    shown = "; ".join(targets[:limit]) + (f"; … {len(targets) - limit} more"
                                            if len(targets) > limit else "")
    return (f"{violation['id']} ({violation['impact']}, {len(targets)} element(s)): "
            f"{violation['help']} [{violation['helpUrl']}]\n      at {shown}")


# Codes (DEMO-0001, BMC-LBP) linked from a table cell: a browser breaks them at the hyphen
# when the column is narrow, and a code read as "DEMO-" over "0001" is misread.
_BROKEN_CODES = """(links) => links
  .filter((a) => /^\\S+-\\S+$/.test(a.innerText.trim()) && a.getClientRects().length > 1)
  .map((a) => a.innerText.trim().replace(/\\s+/g, ""))"""


def broken_codes(page) -> list[str]:
    """The one-word codes linked from table cells that the page breaks over two lines."""
    return page.locator("td a, th a").evaluate_all(_BROKEN_CODES)
