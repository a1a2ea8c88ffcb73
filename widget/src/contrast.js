// Text on a coloured button stays readable: WCAG's 4.5:1 for text of its size. A site's colour (or BugPin's
// default #6366f1, 4.47:1 under white text) is moved away from its text, darker under light text and lighter
// under dark text, by the least that reaches the ratio; a colour that already does is kept as it is.
const MINIMUM = 4.5;
const STEP = 0.04;
const DARK_TEXT = "#111827";

function channels(hex) {
  return [1, 3, 5].map((start) => parseInt(hex.slice(start, start + 2), 16));
}

function luminance(rgb) {
  const [r, g, b] = rgb.map((value) => {
    const c = value / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

function contrast(first, second) {
  const [light, dark] = [luminance(channels(first)), luminance(channels(second))].sort((a, b) => b - a);
  return (light + 0.05) / (dark + 0.05);
}

function toHex(rgb) {
  return `#${rgb.map((value) => Math.round(value).toString(16).padStart(2, "0")).join("")}`;
}

// The text colour, white or near-black, that reads better on `background`: a site's colour stays as it is under the
// one it suits (yellow under black), where white text alone darkened it to olive.
export function textFor(background) {
  return contrast(background, "#ffffff") >= contrast(background, DARK_TEXT) ? "#ffffff" : DARK_TEXT;
}

// The text on a button of the site's colour: the text colour it was given where that reads on it, else white or
// near-black, whichever reads better. A site's colour is kept under a text that suits it: the dark theme's
// default text (indigo) on a site's teal had the teal lightened to a washed-out green, where white reads on it.
export function textOn(background, text) {
  return contrast(background, text) >= MINIMUM ? text : textFor(background);
}

export function legible(background, text) {
  const towards = luminance(channels(text)) > luminance(channels(background)) ? 0 : 255;
  const start = channels(background);
  let color = background;
  for (let mix = STEP; contrast(color, text) < MINIMUM && mix <= 1; mix += STEP) {
    color = toHex(start.map((value) => value + (towards - value) * mix));
  }
  return color;
}
