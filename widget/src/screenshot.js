// The page as the visitor sees it: rendered from the DOM (modern-screenshot), without the widget itself; or,
// when the project asks for it, a frame of the tab from the browser's screen-capture prompt.
import { domToCanvas } from "modern-screenshot";
import { OWN_REQUEST } from "./context.js";

const MAX_SCALE = 2;
const RENDER_TIMEOUT_MS = 15000;

// The color the page's canvas has where nothing is drawn: the root's background, else the body's (which the
// browser extends to the whole window), else the browser's own: dark for a page in a dark color scheme.
function pageBackground() {
  for (const node of [document.documentElement, document.body]) {
    const color = node ? getComputedStyle(node).backgroundColor : "";
    if (color && color !== "transparent" && color !== "rgba(0, 0, 0, 0)") return color;
  }
  const meta = document.querySelector('meta[name="color-scheme"]');
  const property = getComputedStyle(document.documentElement).colorScheme;
  const schemes = (property && property !== "normal" ? property : (meta && meta.content) || "").split(/[\s,]+/);
  const prefersDark = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
  const dark = schemes.includes("dark") && (prefersDark || !schemes.includes("light"));
  return dark ? "#121212" : "#ffffff";
}

// The whole page, for `fullpage`, is drawn on one canvas, and a browser draws nothing on a canvas past about
// 32,000 pixels a side (or 268 million in all): a tall page, at a phone's pixel density, came out blank. Such a
// page is drawn at the scale that fits.
const MAX_CANVAS_SIDE = 32000;
const MAX_CANVAS_AREA = 200e6;

function fittingScale(wanted) {
  const { scrollWidth, scrollHeight } = document.documentElement;
  const area = Math.sqrt(MAX_CANVAS_AREA / Math.max(1, scrollWidth * scrollHeight));
  return Math.min(wanted, MAX_CANVAS_SIDE / Math.max(scrollWidth, scrollHeight, 1), area);
}

// The server refuses an image of more pixels than `maxPixels` (its LANTERN_MAX_IMAGE_PIXELS, in the widget's
// configuration): a long page drawn whole at the screen's density passed it, and the report went without its
// screenshot, the visitor being told it was sent. The picture of `width` x `height` CSS pixels is drawn at the
// scale that keeps it within, below a pixel a CSS pixel if need be.
function scaleWithin(scale, width, height, maxPixels) {
  if (!maxPixels) return scale;
  return Math.min(scale, Math.sqrt(maxPixels / Math.max(1, width * height)));
}

function videoFrame(video, maxPixels) {
  const canvas = document.createElement("canvas");
  const scale = scaleWithin(1, video.videoWidth, video.videoHeight, maxPixels);
  canvas.width = Math.floor(video.videoWidth * scale);
  canvas.height = Math.floor(video.videoHeight * scale);
  canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
  return canvas;
}

// The browser draws the tab as it is, secrets included: in a frame of a tab the size of this window (the one the
// prompt offers first), the secret fields, the masked elements and the frames are covered by the mask's block.
// A frame of a tab of another shape cannot be masked reliably (the bar "sharing this tab" may shrink the window
// once the capture starts, moving everything): it is not sent unmasked, as it was, but thrown away, and the page
// is rendered instead, as when the visitor declines the prompt. Another surface the visitor chose to share (a
// window, a screen) is left as they chose it, their picture to check before sending.
async function frameOfTab(maxPixels, isOwn) {
  const stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false, preferCurrentTab: true });
  try {
    const video = document.createElement("video");
    video.srcObject = stream;
    video.muted = true;
    await video.play();
    const frame = videoFrame(video, maxPixels);
    const [track] = stream.getVideoTracks();
    const surface = track && track.getSettings ? track.getSettings().displaySurface : undefined;
    const ofWindow = Math.abs(frame.width / frame.height - window.innerWidth / window.innerHeight) < 0.02;
    if (surface === "browser") {
      if (!ofWindow) throw new Error("the tab's frame is not of the window's shape: its secrets cannot be covered");
      maskAreas(frame, secretAreas(isOwn), frame.width / window.innerWidth, { x: 0, y: 0 });
    }
    return frame;
  } finally {
    stream.getTracks().forEach((track) => track.stop());
  }
}

const PIN = "data-lantern-pin";
const SCROLLED = "data-lantern-scrolled";
const STUCK = "data-lantern-stuck";
const FRAME = "data-lantern-frame";
const CHOSEN = "data-lantern-chosen";
const HINT_INK = "data-lantern-hint-ink";
const TEXT_BOX = "data-lantern-text-box";
const MASK = "data-lantern-mask"; // the site's: an element the picture never shows

// A field holding a secret by its nature: a password, or a payment card's or a sign-in's datum by its
// `autocomplete` token (the card's number, security code and expiry; a password; a code sent to sign in). The
// cardholder's name is left out: it is no secret without the rest, and shown as any name is.
const SECRET_TOKENS = new Set([
  "cc-number",
  "cc-csc",
  "cc-exp",
  "cc-exp-month",
  "cc-exp-year",
  "current-password",
  "new-password",
  "one-time-code",
]);

function holdsSecret(node) {
  if (!(node instanceof HTMLInputElement || node instanceof HTMLTextAreaElement || node instanceof HTMLSelectElement)) {
    return false;
  }
  if (node instanceof HTMLInputElement && node.type === "password") return true;
  const tokens = (node.getAttribute("autocomplete") || "").toLowerCase().split(/\s+/);
  return tokens.some((token) => SECRET_TOKENS.has(token));
}

// The colour of the block drawn over a masked element's box.
const MASK_INK = "#9ca3af";

// What the picture cannot show of the page is drawn as a light grey box with a diagonal, at its size: an image of
// another site that sends no CORS header (it vanished, or came out a broken-image icon) and a frame's page. An SVG
// without a size of its own fills whatever box draws it, an <img>'s or a background's.
const PLACEHOLDER = `data:image/svg+xml,${encodeURIComponent(
  '<svg xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="none"><rect width="100%" height="100%" ' +
    'fill="#e5e7eb" stroke="#d1d5db" stroke-width="2"/><line x1="0" y1="0" x2="100%" y2="100%" stroke="#d1d5db"/></svg>',
)}`;

// The page is drawn from a copy of its elements. What a copy does not keep is marked on the page's elements
// for their copies (see keepState), and unmarked once the picture is made:
// - in a picture of the window, a fixed element (a header, a cookie bar, a modal) is laid out against the copy
//   of the page's root, not the window: it is marked with its place in the window;
// - a sticky element stuck to the window's edge (or a scrolled box's) would be drawn where it sits unstuck,
//   nothing being scrolled in the copy: it is marked with how far it is moved from there;
// - a box scrolled inside the page would show its start: it is marked with how far it is scrolled, and whether
//   it holds text of its own (see scrollContent); a text area scrolled is measured too (see textBox);
// - a frame is drawn as a placeholder (see frameBox): it is marked with its measures, and so is the root of its
//   page where the widget may read it, as the renderer copies that page's root in place of the frame;
// - an option chosen is marked as such (see keepFormState);
// - an empty field's placeholder is drawn in the field's own ink, the copy having no ::placeholder style: the
//   field is marked with the placeholder's colour (a triager took the page's grey hint for typed text);
// - an element the site masks is measured, for the block drawn over it (see maskAreas).
// The elements of open shadow roots (a web component's) are marked too: the renderer draws them in their host.
function markPage(isOwn, { inWindow }) {
  const places = [];
  const stickies = [];
  const frames = [];
  const shadowRoots = [];
  const masks = [];
  const textBoxes = [];
  for (const node of pageElements(document.body, isOwn, shadowRoots)) {
    if (node.hasAttribute(MASK)) masks.push(...node.getClientRects());
    if (node.scrollTop || node.scrollLeft) {
      node.setAttribute(SCROLLED, `${node.scrollLeft},${node.scrollTop},${holdsText(node) ? "text" : ""}`);
      if (node instanceof HTMLTextAreaElement) {
        node.setAttribute(TEXT_BOX, String(textBoxes.length));
        textBoxes.push(textBoxStyle(node));
      }
    }
    if (node instanceof HTMLOptionElement && node.selected) node.setAttribute(CHOSEN, "");
    if ((node instanceof HTMLInputElement || node instanceof HTMLTextAreaElement) && node.placeholder && !node.value) {
      node.setAttribute(HINT_INK, getComputedStyle(node, "::placeholder").color);
    }
    if (node instanceof HTMLIFrameElement) frames.push(markFrame(node, frames.length));
    const position = inWindow && getComputedStyle(node).position;
    if (position === "fixed") {
      node.setAttribute(PIN, String(places.length));
      places.push(node.getBoundingClientRect());
    } else if (position === "sticky") {
      stickies.push(node);
    }
  }
  markStuck(stickies);
  const unmark = () => {
    const selector = `[${PIN}],[${SCROLLED}],[${STUCK}],[${FRAME}],[${CHOSEN}],[${HINT_INK}],[${TEXT_BOX}]`;
    const marked = [document, ...shadowRoots].flatMap((root) => [...root.querySelectorAll(selector)]);
    [...marked, ...frames.map((frame) => frame.root)].forEach((node) => {
      if (!node) return;
      node.removeAttribute(PIN);
      node.removeAttribute(SCROLLED);
      node.removeAttribute(STUCK);
      node.removeAttribute(FRAME);
      node.removeAttribute(CHOSEN);
      node.removeAttribute(HINT_INK);
      node.removeAttribute(TEXT_BOX);
    });
  };
  return { places, frames, masks, textBoxes, unmark };
}

// The elements under `root` but the widget's, and those of the open shadow roots among them, which are added to
// `shadowRoots` (a closed one is the component's alone, and the renderer cannot see into it either).
function* pageElements(root, isOwn, shadowRoots) {
  for (const node of root.querySelectorAll("*")) {
    if (isOwn(node)) continue;
    yield node;
    if (node.shadowRoot) {
      shadowRoots.push(node.shadowRoot);
      yield* pageElements(node.shadowRoot, isOwn, shadowRoots);
    }
  }
}

const FRAME_BORDER = ["top", "right", "bottom", "left"].flatMap((side) =>
  ["width", "style", "color"].map((part) => `border-${side}-${part}`));

// A frame's measures, for its placeholder: its layout box (offsetWidth: a transform is the copy's to apply), its
// border and how it is laid out (a frame is inline, as an inline-block is).
function markFrame(frame, index) {
  frame.setAttribute(FRAME, String(index));
  const root = frame.contentDocument && frame.contentDocument.documentElement; // none for another site's page
  if (root) root.setAttribute(FRAME, String(index));
  const style = getComputedStyle(frame);
  return {
    node: frame,
    root,
    display: style.display === "inline" ? "inline-block" : style.display,
    size: [frame.offsetWidth, frame.offsetHeight],
    border: FRAME_BORDER.map((name) => [name, style.getPropertyValue(name)]),
  };
}

// A frame is not drawn by the renderer: another site's vanished, border and all, and a page of the same site was
// drawn on a line of its own, spilling out of its box. Its copy gives way to a box of its size and place, with its
// border and the copy's other styles, holding the placeholder.
function frameBox(copy, frame, places) {
  const box = document.createElement("div");
  box.setAttribute("style", copy.getAttribute("style") || "");
  const set = (name, value) => box.style.setProperty(name, value, "important");
  set("display", frame.display);
  set("box-sizing", "border-box");
  set("width", `${frame.size[0]}px`);
  set("height", `${frame.size[1]}px`);
  frame.border.forEach(([name, value]) => set(name, value));
  set("background", `url("${PLACEHOLDER}") 0 0 / 100% 100% no-repeat`);
  for (const name of [PIN, STUCK]) {
    if (frame.node.hasAttribute(name)) box.setAttribute(name, frame.node.getAttribute(name));
  }
  keepState(box, { places, frames: [] });
  return box;
}

// No property tells how far a sticky element is moved: it is measured against its place when made static for a
// moment (in one go, without a frame drawn in between), then its own style attribute is put back as it was.
function markStuck(stickies) {
  const stuck = stickies.map((node) => node.getBoundingClientRect());
  const styles = stickies.map((node) => node.getAttribute("style"));
  stickies.forEach((node) => node.style.setProperty("position", "static", "important"));
  const unstuck = stickies.map((node) => node.getBoundingClientRect());
  stickies.forEach((node, index) => {
    if (styles[index] === null) node.removeAttribute("style");
    else node.setAttribute("style", styles[index]);
    const [left, top] = [stuck[index].left - unstuck[index].left, stuck[index].top - unstuck[index].top];
    if (left || top) node.setAttribute(STUCK, `${left},${top}`);
  });
}

function pin(copy, place) {
  const set = (name, value) => copy.style.setProperty(name, value, "important");
  set("top", `${place.top + window.scrollY}px`);
  set("left", `${place.left + window.scrollX}px`);
  set("bottom", "auto");
  set("right", "auto");
  set("box-sizing", "border-box"); // the size measured includes padding and border
  set("width", `${place.width}px`);
  set("height", `${place.height}px`);
  set("margin", "0");
  set("transform", "none"); // the place measured is where any transform had put it
}

// The copy is moved from its place in the flow as the sticky element was; it no longer sticks to anything.
function stickWhereSeen(copy, stuck) {
  const [left, top] = stuck.split(",");
  const set = (name, value) => copy.style.setProperty(name, value, "important");
  set("position", "relative");
  set("top", `${top}px`);
  set("left", `${left}px`);
  set("bottom", "auto");
  set("right", "auto");
}

// Text of a block's own (not in a child element) is laid out in anonymous boxes, and an inline element is not
// moved by a transform: a block holding either has its content moved in a wrapper (see scrollContent), but a
// flex or grid container, which makes items of its children, text included.
function holdsText(node) {
  if (/flex|grid/.test(getComputedStyle(node).display)) return false;
  return [...node.childNodes].some((child) =>
    child.nodeType === Node.TEXT_NODE
      ? child.data.trim()
      : child instanceof Element && getComputedStyle(child).display === "inline");
}

// A scrolled box's content is moved by how far it is scrolled: each child element, or, in a box holding text of
// its own or inline elements (a log in a <pre>, a chat's lines between <br>s, a line too long for its box), the
// whole content in a block of its own (such boxes were drawn scrolled to their start).
function scrollContent(copy, scrolled) {
  const [left, top, text] = scrolled.split(",");
  const shift = `translate(${-Number(left)}px, ${-Number(top)}px)`;
  if (text) {
    const content = document.createElement("div");
    content.append(...copy.childNodes);
    for (const [name, value] of [["display", "block"], ["margin", "0"], ["padding", "0"], ["border", "0"]]) {
      content.style.setProperty(name, value, "important");
    }
    content.style.setProperty("transform", shift, "important");
    copy.appendChild(content);
    return;
  }
  for (const child of copy.children) {
    const own = child.style.transform;
    child.style.transform = `${shift}${own && own !== "none" ? ` ${own}` : ""}`;
  }
}

// A text area draws its text in a scroller of its own, which its copy starts at the top: a text area scrolled
// is drawn as a box with its computed style (its copy's has only what differs from a text area's defaults,
// which a box does not have), its text scrolled in it (see scrollContent). Its scroll bar's room is kept.
function textBoxStyle(node) {
  const style = getComputedStyle(node);
  const declarations = [...style].map((name) => `${name}:${style.getPropertyValue(name)}`);
  const borders = parseFloat(style.borderLeftWidth) + parseFloat(style.borderRightWidth);
  const scrollBar = node.offsetWidth - node.clientWidth - borders > 0;
  return [...declarations, scrollBar ? "scrollbar-gutter:stable" : ""].join(";");
}

// The copy's own style (where it is pinned or stuck, what hides a secret) goes over the computed one.
function textBox(copy, style) {
  const box = document.createElement("div");
  box.setAttribute("style", `${style};${copy.getAttribute("style") || ""}`);
  box.style.setProperty("overflow", "hidden", "important");
  box.textContent = copy.textContent;
  const [left, top] = copy.getAttribute(SCROLLED).split(",");
  scrollContent(box, `${left},${top},text`);
  return box;
}

// Cloning costs about a millisecond an element, so in a picture of the window the children of an element that
// lies wholly outside it are left out of the copy: a 2,000-row table took 17 s, most of it on rows out of
// sight. The element itself stays, with the size the copy gives every element, so what is around it is laid
// out as on the page, provided that
// - nothing in it paints in the window: neither its box nor any descendant's (fixed, absolute, transformed or
//   overflowing), nor their text overflowing them, nor how far their shadows, outlines and filters reach;
// - its content cannot move anything outside it: it is hidden, a table's row or group, or a formatting context
//   of its own (no child's margin collapses through it, no float sticks out of it);
// - no baseline outside it depends on its content: neither it nor an ancestor is inline-level, a table cell
//   aligned on baselines or an item aligned on baselines.
const CONTAINING_DISPLAYS = /^(none|flow-root|flex|grid|table|table-(row|row-group|header-group|footer-group))$/;

// A block holding only text and inline-level elements has no child's margin to collapse through it, nor floats.
function containsItsContent(style, parentStyle, onlyInline) {
  if (CONTAINING_DISPLAYS.test(style.display)) return true;
  if (!/^(block|list-item)$/.test(style.display)) return false;
  const clips = style.overflowX !== "visible" || style.overflowY !== "visible";
  const outOfFlow = style.float !== "none" || /absolute|fixed/.test(style.position);
  const contained = /layout|paint|strict|content/.test(style.contain);
  return onlyInline || clips || outOfFlow || contained || /flex|grid/.test(parentStyle.display);
}

function alignsOnBaseline(style, parentStyle) {
  const item = /flex|grid/.test(parentStyle.display) && /baseline/.test(parentStyle.alignItems);
  const cell = style.display === "table-cell" && style.verticalAlign === "baseline";
  return style.display.startsWith("inline") || cell || item || /baseline/.test(style.alignSelf);
}

// Shadows, outlines and filters reach past the box at most the sum of the lengths they are given.
function inkReach(style) {
  const outline = style.outlineStyle === "none" ? "" : `${style.outlineWidth} ${style.outlineOffset}`;
  const lengths = `${style.boxShadow} ${style.textShadow} ${style.filter} ${outline}`.match(/-?[\d.]+px/g) || [];
  return lengths.reduce((sum, length) => sum + Math.abs(parseFloat(length)), 0);
}

// Where an element itself paints: its box, the content overflowing it and its ink (null: nowhere).
function ownArea(node, style) {
  const rect = node.getBoundingClientRect();
  const reach = inkReach(style);
  if (!(rect.width || rect.height || node.scrollWidth || node.scrollHeight || reach)) return null;
  return {
    left: rect.left - reach,
    top: rect.top - reach,
    right: Math.max(rect.right, rect.left + node.clientLeft + node.scrollWidth) + reach,
    bottom: Math.max(rect.bottom, rect.top + node.clientTop + node.scrollHeight) + reach,
  };
}

function outsideWindow(area) {
  if (!area) return true;
  return area.right <= 0 || area.bottom <= 0 || area.left >= window.innerWidth || area.top >= window.innerHeight;
}

// The children whose painting is measured: none of a select's. Its options paint in its box alone, and a
// drop-down's have no box at all (the select draws the chosen one's text): they were taken for elements that paint
// nowhere and left out of the copy, which drew the select empty.
function childrenToWalk(node) {
  if (node instanceof HTMLSelectElement) return [];
  return node.shadowRoot ? [...node.shadowRoot.children, ...node.children] : node.children;
}

// Where `node` and its descendants paint, in the window's coordinates (null: nowhere); the elements that may be
// left hollow are added to `walk.hollow` on the way.
function paintedArea(node, style, parentStyle, underBaseline, walk) {
  let area = ownArea(node, style);
  let onlyInline = true;
  const baseline = underBaseline || alignsOnBaseline(style, parentStyle);
  const children = childrenToWalk(node);
  for (const child of children) {
    if (walk.isOwn(child)) continue;
    const childStyle = getComputedStyle(child);
    onlyInline = onlyInline && childStyle.display.startsWith("inline");
    const inner = paintedArea(child, childStyle, style, baseline, walk);
    if (inner) area = area ? union(area, inner) : inner;
  }
  const layout = !baseline && !node.shadowRoot && containsItsContent(style, parentStyle, onlyInline);
  if (layout && node instanceof HTMLElement && outsideWindow(area)) walk.hollow.add(node);
  return area;
}

function union(one, other) {
  return {
    left: Math.min(one.left, other.left),
    top: Math.min(one.top, other.top),
    right: Math.max(one.right, other.right),
    bottom: Math.max(one.bottom, other.bottom),
  };
}

function hollowOutsideWindow(isOwn) {
  const walk = { isOwn, hollow: new Set() };
  const { body, documentElement } = document;
  paintedArea(body, getComputedStyle(body), getComputedStyle(documentElement), false, walk);
  return walk.hollow;
}

// What the visitor chose in a form lives in properties, which the rendered copy's markup does not carry: ticked
// boxes, the options selected and a text area's text are written into the copy as attributes. (The renderer
// leaves every field's current value in its copy's value attribute.) The options are those marked on the page
// (markPage), not those of the select's value, which two options may share: the later one was drawn.
function keepFormState(copy) {
  if (holdsSecret(copy) || (copy instanceof HTMLElement && copy.hasAttribute(MASK))) {
    hideSecret(copy);
    return;
  }
  if (copy instanceof HTMLInputElement && (copy.type === "checkbox" || copy.type === "radio")) {
    copy.toggleAttribute("checked", copy.checked);
  } else if (copy instanceof HTMLTextAreaElement) {
    copy.textContent = copy.getAttribute("value");
  } else if (copy instanceof HTMLOptionElement) {
    copy.toggleAttribute("selected", copy.hasAttribute(CHOSEN));
  }
  const hintInk = copy instanceof HTMLElement && copy.getAttribute(HINT_INK);
  if (hintInk) {
    copy.style.setProperty("color", hintInk, "important");
    copy.style.setProperty("-webkit-text-fill-color", hintInk, "important");
  }
}

// What a visitor typed in a field holding a secret is not drawn, nor its length (a password's dots), nor what
// a masked element holds: the field is drawn empty, without its placeholder (which an empty one shows), and a
// select without its options; a masked element's content is hidden, its box keeping its place (a block is
// drawn over it once the page is: see maskAreas).
function hideSecret(copy) {
  if (copy instanceof HTMLInputElement || copy instanceof HTMLTextAreaElement) {
    copy.setAttribute("value", "");
    copy.value = "";
    copy.textContent = "";
    copy.removeAttribute("placeholder");
  } else if (copy instanceof HTMLSelectElement) {
    copy.replaceChildren();
  }
  if (copy.hasAttribute(MASK)) {
    for (const node of [copy, ...copy.querySelectorAll("*")]) {
      if (node.style) node.style.setProperty("visibility", "hidden", "important");
    }
  }
}

// Where the page's secret fields, masked elements and frames are in the window. A masked element is covered with
// all it holds: its text and its descendants' boxes (those of open shadow roots too), which may overflow it or be
// placed outside it, and which are all there is of one laid out as `display: contents`; the body too, when masked.
// Every frame is covered whole: another site's page (a payment form's card number) cannot be read, and one of the
// same site is drawn as a placeholder in the rendered page as well, so the picture shows no more of it either way.
function secretAreas(isOwn) {
  const areas = [];
  const covered = new Set();
  const { body } = document;
  for (const node of [body, ...pageElements(body, isOwn, [])]) {
    if (covered.has(node)) continue;
    if (node.hasAttribute(MASK)) {
      const content = document.createRange();
      content.selectNodeContents(node);
      areas.push(...node.getClientRects(), ...content.getClientRects());
      for (const inner of pageElements(node, isOwn, [])) {
        covered.add(inner);
        areas.push(...inner.getClientRects());
      }
    } else if (holdsSecret(node) || node instanceof HTMLIFrameElement) {
      areas.push(...node.getClientRects());
    }
  }
  return areas;
}

// A solid block over each masked element's box (each of its lines' for an inline one), in the picture's pixels:
// nothing of its content shows, not even its length. `origin` is the page's point at the picture's top left.
function maskAreas(canvas, masks, scale, origin) {
  const context = canvas.getContext("2d");
  context.fillStyle = MASK_INK;
  for (const rect of masks) {
    const [left, top] = [(rect.left + origin.x) * scale, (rect.top + origin.y) * scale];
    const [right, bottom] = [(rect.right + origin.x) * scale, (rect.bottom + origin.y) * scale];
    context.fillRect(Math.floor(left), Math.floor(top), Math.ceil(right - left) + 1, Math.ceil(bottom - top) + 1);
  }
}

// The page is drawn as an SVG image from a data: address; a Content-Security-Policy without data: in img-src
// makes it blank. No picture is better than a blank one the visitor might send.
function watchRefusedImages() {
  let refused = false;
  const listener = (event) => {
    if (/^(data|blob)/.test(event.blockedURI)) refused = true;
  };
  document.addEventListener("securitypolicyviolation", listener);
  return () => {
    document.removeEventListener("securitypolicyviolation", listener);
    return refused;
  };
}

// The page is redrawn with its computed styles written inline, which a Content-Security-Policy without
// 'unsafe-inline' in style-src refuses: the picture would show the page unstyled, so none is taken.
function inlineStylesAllowed() {
  const probe = document.implementation.createHTMLDocument("");
  const style = probe.createElement("style");
  probe.head.appendChild(style);
  return style.sheet !== null;
}

// Only the window is drawn, on a canvas its size at the screen's density, however long the page: the copy of
// the page's root is given the window's size, as the containing block the root has on the page, and moved by
// how far the page is scrolled, either way. Its transform makes it the containing block of fixed elements too,
// hence their pins. The root's overflow is the window's on the page, never a clip of its own.
function windowOptions(scale) {
  const { clientWidth, clientHeight } = document.documentElement; // the window less its scroll bars
  return {
    scale,
    width: window.innerWidth,
    height: window.innerHeight,
    style: {
      width: `${clientWidth}px`,
      height: `${clientHeight}px`,
      overflow: "visible",
      transform: `translate(${-window.scrollX}px, ${-window.scrollY}px)`,
    },
  };
}

// A frame's copy, and a scrolled text area's, is replaced once it is in its parent's copy, which is when the
// parent's own copy is made.
function keepState(copy, { places, frames, textBoxes = [] }) {
  keepFormState(copy);
  if (!(copy instanceof HTMLElement)) return;
  for (const child of [...copy.children]) {
    const frame = frames[child.getAttribute(FRAME)];
    if (frame) child.replaceWith(frameBox(child, frame, places));
    const textStyle = textBoxes[child.getAttribute(TEXT_BOX)];
    if (textStyle) child.replaceWith(textBox(child, textStyle));
  }
  const place = places[copy.getAttribute(PIN)];
  if (place) pin(copy, place);
  const stuck = copy.getAttribute(STUCK);
  if (stuck) stickWhereSeen(copy, stuck);
  const scrolled = copy.getAttribute(SCROLLED);
  if (scrolled) scrollContent(copy, scrolled);
}

async function renderPage(method, isOwn, maxPixels) {
  if (!inlineStylesAllowed()) throw new Error("the page's Content-Security-Policy refuses inline styles (style-src)");
  const inWindow = method !== "fullpage";
  const dense = Math.min(window.devicePixelRatio || 1, MAX_SCALE);
  const { scrollWidth, scrollHeight } = document.documentElement;
  const scale = inWindow
    ? scaleWithin(dense, window.innerWidth, window.innerHeight, maxPixels)
    : scaleWithin(fittingScale(dense), scrollWidth, scrollHeight, maxPixels);
  // Where the window is on the whole page, in the picture's pixels: the marking opens there.
  const windowAt = inWindow ? null : { top: window.scrollY * scale, height: window.innerHeight * scale };
  const marked = markPage(isOwn, { inWindow });
  // Left empty: elements out of the window, and the pages of frames (their placeholders replace them).
  const hollow = inWindow ? hollowOutsideWindow(isOwn) : new Set();
  marked.frames.forEach((frame) => frame.root && hollow.add(frame.root));
  const options = {
    ...(inWindow ? windowOptions(scale) : { scale }),
    backgroundColor: pageBackground(),
    timeout: RENDER_TIMEOUT_MS,
    filter: (node) => !(node instanceof Element && isOwn(node)) && !hollow.has(node.parentNode),
    // modern-screenshot's own request options (force-cache), marked so the page's log leaves them out.
    fetch: { requestInit: { cache: "force-cache", [OWN_REQUEST]: true }, placeholderImage: PLACEHOLDER },
    onCloneEachNode: (copy) => keepState(copy, marked),
  };
  const refused = watchRefusedImages();
  let page;
  try {
    page = await domToCanvas(document.documentElement, options);
  } finally {
    marked.unmark();
  }
  // The picture of the window starts at its top left; that of the whole page at the page's.
  const origin = inWindow ? { x: 0, y: 0 } : { x: window.scrollX, y: window.scrollY };
  maskAreas(page, marked.masks, scale, origin);
  await new Promise((resolve) => setTimeout(resolve)); // a violation is reported in a task of its own
  if (refused()) throw new Error("the page's Content-Security-Policy refuses data: images (img-src)");
  return { image: page, windowAt };
}

// The picture (`image`), of at most `maxPixels`, and, for one of the whole page, where the visitor's window was
// in it (`windowAt`).
export async function takeScreenshot({ method, useScreenCaptureAPI, isOwn, maxPixels }) {
  if (useScreenCaptureAPI && navigator.mediaDevices && navigator.mediaDevices.getDisplayMedia) {
    try {
      return { image: await frameOfTab(maxPixels, isOwn), windowAt: null };
    } catch (_refused) {
      // The visitor declined the prompt, or the tab's frame could not be masked: the rendered page is the next
      // best picture.
    }
  }
  return renderPage(method, isOwn, maxPixels);
}
