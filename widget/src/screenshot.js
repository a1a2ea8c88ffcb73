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

function videoFrame(video) {
  const canvas = document.createElement("canvas");
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  canvas.getContext("2d").drawImage(video, 0, 0);
  return canvas;
}

async function frameOfTab() {
  const stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false, preferCurrentTab: true });
  try {
    const video = document.createElement("video");
    video.srcObject = stream;
    video.muted = true;
    await video.play();
    return videoFrame(video);
  } finally {
    stream.getTracks().forEach((track) => track.stop());
  }
}

const PIN = "data-lantern-pin";
const SCROLLED = "data-lantern-scrolled";
const STUCK = "data-lantern-stuck";

// The page is drawn from a copy of its elements. What a copy does not keep is marked on the page's elements
// for their copies (see keepState), and unmarked once the picture is made:
// - in a picture of the window, a fixed element (a header, a cookie bar, a modal) is laid out against the copy
//   of the page's root, not the window: it is marked with its place in the window;
// - a sticky element stuck to the window's edge (or a scrolled box's) would be drawn where it sits unstuck,
//   nothing being scrolled in the copy: it is marked with how far it is moved from there;
// - a box scrolled inside the page would show its start: it is marked with how far it is scrolled.
function markPage(isOwn, { inWindow }) {
  const places = [];
  const stickies = [];
  for (const node of document.body.querySelectorAll("*")) {
    if (isOwn(node)) continue;
    if (node.scrollTop || node.scrollLeft) node.setAttribute(SCROLLED, `${node.scrollLeft},${node.scrollTop}`);
    const position = inWindow && getComputedStyle(node).position;
    if (position === "fixed") {
      node.setAttribute(PIN, String(places.length));
      places.push(node.getBoundingClientRect());
    } else if (position === "sticky") {
      stickies.push(node);
    }
  }
  markStuck(stickies);
  const unmark = () => document.querySelectorAll(`[${PIN}],[${SCROLLED}],[${STUCK}]`).forEach((node) => {
    node.removeAttribute(PIN);
    node.removeAttribute(SCROLLED);
    node.removeAttribute(STUCK);
  });
  return { places, unmark };
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

function scrollContent(copy, scrolled) {
  const [left, top] = scrolled.split(",").map(Number);
  for (const child of copy.children) {
    const own = child.style.transform;
    child.style.transform = `translate(${-left}px, ${-top}px)${own && own !== "none" ? ` ${own}` : ""}`;
  }
}

// What the visitor chose in a form lives in properties, which the rendered copy's markup does not carry: ticked
// boxes, the option selected and a text area's text are written into the copy as attributes. (The renderer
// leaves every field's current value in its copy's value attribute.)
function keepFormState(copy) {
  if (copy instanceof HTMLInputElement && (copy.type === "checkbox" || copy.type === "radio")) {
    copy.toggleAttribute("checked", copy.checked);
  } else if (copy instanceof HTMLTextAreaElement) {
    copy.textContent = copy.getAttribute("value");
  } else if (copy instanceof HTMLSelectElement) {
    const chosen = copy.getAttribute("value");
    for (const option of copy.options) option.toggleAttribute("selected", option.value === chosen);
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

function keepState(copy, places) {
  keepFormState(copy);
  if (!(copy instanceof HTMLElement)) return;
  const place = places[copy.getAttribute(PIN)];
  if (place) pin(copy, place);
  const stuck = copy.getAttribute(STUCK);
  if (stuck) stickWhereSeen(copy, stuck);
  const scrolled = copy.getAttribute(SCROLLED);
  if (scrolled) scrollContent(copy, scrolled);
}

async function renderPage(method, isOwn) {
  if (!inlineStylesAllowed()) throw new Error("the page's Content-Security-Policy refuses inline styles (style-src)");
  const inWindow = method !== "fullpage";
  const scale = Math.min(window.devicePixelRatio || 1, MAX_SCALE);
  const marked = markPage(isOwn, { inWindow });
  const options = {
    ...(inWindow ? windowOptions(scale) : { scale: fittingScale(scale) }),
    backgroundColor: pageBackground(),
    timeout: RENDER_TIMEOUT_MS,
    filter: (node) => !(node instanceof Element && isOwn(node)),
    // modern-screenshot's own request options (force-cache), marked so the page's log leaves them out.
    fetch: { requestInit: { cache: "force-cache", [OWN_REQUEST]: true } },
    onCloneEachNode: (copy) => keepState(copy, marked.places),
  };
  const refused = watchRefusedImages();
  let page;
  try {
    page = await domToCanvas(document.documentElement, options);
  } finally {
    marked.unmark();
  }
  await new Promise((resolve) => setTimeout(resolve)); // a violation is reported in a task of its own
  if (refused()) throw new Error("the page's Content-Security-Policy refuses data: images (img-src)");
  return page;
}

export async function takeScreenshot({ method, useScreenCaptureAPI, isOwn }) {
  if (useScreenCaptureAPI && navigator.mediaDevices && navigator.mediaDevices.getDisplayMedia) {
    try {
      return await frameOfTab();
    } catch (_refused) {
      // The visitor declined the prompt: the rendered page is the next best picture.
    }
  }
  return renderPage(method, isOwn);
}
