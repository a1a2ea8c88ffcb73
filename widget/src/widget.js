// The button and the report dialog, in a shadow root of their own.
import { COLORS, TOOLS, createAnnotator } from "./annotator.js";
import { icon } from "./icons.js";
import { takeScreenshot } from "./screenshot.js";
import { stylesFor } from "./styles.js";

const MAX_ATTACHMENTS = 4; // the submit takes 5 images: the screenshot and 4 more
const TITLE_MIN = 4;

function element(tag, attributes = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "text") node.textContent = value;
    else if (key === "className") node.className = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) if (child) node.appendChild(child);
  return node;
}

// A phone or a tablet: a finger and no mouse or trackpad (a laptop's touch screen has one beside it).
function touchOnly() {
  const matches = (query) => Boolean(window.matchMedia && window.matchMedia(query).matches);
  return matches("(any-pointer: coarse)") && !matches("(any-pointer: fine)");
}

function prefersDark(theme) {
  if (theme === "dark") return true;
  if (theme === "light") return false;
  return Boolean(window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches);
}

function launcher(config, texts) {
  const label = config.buttonText || texts.button;
  const circle = config.buttonShape === "circle";
  const button = element("button", {
    type: "button",
    className: `launcher ${config.position} ${config.buttonShape}`,
    "aria-label": label,
    title: config.tooltipEnabled ? config.tooltipText || label : undefined,
  });
  if (config.buttonIcon !== "none") button.appendChild(icon(config.buttonIcon, config.buttonIconSize, config.buttonIconStroke));
  if (!circle || config.buttonIcon === "none") button.appendChild(element("span", { text: label }));
  return button;
}

function field(labelText, control) {
  return element("label", {}, [element("span", { text: labelText }), control]);
}

// A file input's button and what it says of the files chosen are the browser's words, in the browser's language
// ("Choose Files", "No file chosen"), whatever the widget's: the widget shows its own, in the visitor's, over the
// input, which stays the label's control (focusable, read out, and what a click on the label opens).
function fileChooser(config, texts) {
  // Named by the field's title alone, and described by the files chosen: named by the whole label, a screen
  // reader read "No image chosen" in its name, then the browser's own "No file chosen" again.
  const input = element("input", { type: "file", name: "attachments", multiple: true, className: "file",
    accept: "image/png,image/jpeg,image/webp", "aria-labelledby": "lantern-attachments-title",
    "aria-describedby": "lantern-attachments-chosen" });
  const chosen = element("span", { className: "chosen", id: "lantern-attachments-chosen", text: texts.noImageChosen });
  // The images are checked as soon as they are chosen, not when the report is sent.
  input.addEventListener("change", () => {
    chosen.textContent = [...input.files].map((file) => file.name).join(", ") || texts.noImageChosen;
    showFieldError(input, imagesRefusal(chosenImages(new FormData(input.form)), config) || "");
  });
  const button = element("span", { className: "secondary", "aria-hidden": "true", text: texts.chooseImages });
  return element("label", {}, [element("span", { id: "lantern-attachments-title", text: texts.attachments }), input,
    element("span", { className: "choose" }, [button, chosen])]);
}

// The description takes as many characters as the server does, and a note under it tells when a text reaches them
// (noteDescriptionCut); it describes the field, read out with it.
function descriptionField(texts) {
  return [
    field(texts.description, element("textarea", { name: "description", maxlength: 20000, dir: "auto",
      placeholder: texts.descriptionPlaceholder, "aria-describedby": "lantern-description-cut" })),
    element("p", { className: "hint cut", id: "lantern-description-cut" }),
  ];
}

// What the visitor types runs in its own script's direction (dir="auto"), whatever the dialog's language: Arabic in
// an English dialog was laid out left to right, its punctuation at the wrong end. An e-mail address stays as is.
function reportForm(config, texts) {
  const priorities = element("select", { name: "priority" });
  for (const [value, label] of Object.entries(texts.priorities)) {
    priorities.appendChild(element("option", { value, text: label, selected: value === "medium" }));
  }
  const attachments = config.features.attachments ? fileChooser(config, texts) : null;
  return element("form", { novalidate: true }, [
    field(texts.title, element("input", { name: "title", required: true, minlength: TITLE_MIN, maxlength: 200,
      placeholder: texts.titlePlaceholder, autocomplete: "off", dir: "auto" })),
    ...descriptionField(texts),
    field(texts.priority, priorities),
    field(texts.name, element("input", { name: "reporterName", maxlength: 200, autocomplete: "name", dir: "auto" })),
    field(texts.email, element("input", { name: "reporterEmail", type: "email", maxlength: 320, autocomplete: "email" })),
    attachments,
    element("div", { className: "status", id: "lantern-status", role: "status", "aria-live": "polite" }),
    element("footer", {}, [
      element("button", { type: "button", className: "secondary", "data-action": "cancel", text: texts.cancel }),
      element("button", { type: "submit", className: "primary", text: texts.send }),
    ]),
  ]);
}

function toolbar(annotator, texts) {
  const bar = element("div", { className: "toolbar", role: "toolbar" });
  const group = (buttons, pick) => buttons.forEach((button) => button.addEventListener("click", () => {
    buttons.forEach((other) => other.setAttribute("aria-pressed", String(other === button)));
    pick(button.dataset.value);
  }));
  const tools = TOOLS.map((name, index) => element("button", { type: "button", className: "tool", "data-value": name,
    "aria-pressed": String(index === 0), title: texts[name], "aria-label": texts[name] }, [icon(name)]));
  const colors = COLORS.map((color, index) => {
    const name = texts.colors[color];
    const swatch = element("button", { type: "button", className: "swatch", "data-value": color,
      "aria-pressed": String(index === 0), title: name, "aria-label": name });
    swatch.style.background = color;
    return swatch;
  });
  group(tools, annotator.setTool);
  group(colors, annotator.setColor);
  const action = (name, run) => {
    const button = element("button", { type: "button", className: "icon-button", title: texts[name],
      "aria-label": texts[name] }, [icon(name)]);
    button.addEventListener("click", run);
    return button;
  };
  [...tools, ...colors, action("undo", annotator.undo), action("clear", annotator.clear)].forEach((b) => bar.appendChild(b));
  return bar;
}

// A picture of the whole page scrolls in a box of its own, which opens where the visitor's window was: at the
// page's top, it showed what they had scrolled away from. (Scrolling the dialog instead took the form out of view.)
function pageScroller(canvas, windowAt) {
  const scroller = element("div", { className: "scroller" }, [canvas]);
  const showWindow = () => {
    scroller.scrollTop = windowAt.top * (canvas.clientHeight / canvas.height);
  };
  return { scroller, showWindow };
}

// Unticked, "Include the screenshot" leaves the picture out of the report: it changed nothing on screen, and the
// marks were dropped at the send without a word. The picture is dimmed, its tools and marking are off (disabled,
// read out so), and a note says so; the marks are kept for when the box is ticked again.
function showIncluded({ include, panel, annotator, note, canvas }, texts) {
  const included = include.checked;
  panel.classList.toggle("left-out", !included);
  for (const button of panel.querySelectorAll(".toolbar button")) button.disabled = !included;
  // The marking area (role application) is disabled; a picture that takes no marks (role img) is only dimmed.
  if (included || canvas.getAttribute("role") !== "application") canvas.removeAttribute("aria-disabled");
  else canvas.setAttribute("aria-disabled", "true");
  annotator.pause(!included);
  note.textContent = included ? "" : texts.screenshotLeftOut;
}

// With annotation on, the screenshot takes marks from a pointer or the keyboard, and what the keyboard did is
// read out by a live region of its own (the form's status line is for sending). The hint tells of the keyboard
// only where there is one to expect: not on a phone or a tablet. `kept` is what a dialog closed before sending
// left on the same picture: its marks, and whether it was to be included.
function screenshotPanel({ image, windowAt }, config, texts, kept = null) {
  const annotate = config.features.annotation;
  const canvas = annotate
    ? element("canvas", { tabindex: 0, role: "application", "aria-label": texts.screenshot,
        "aria-describedby": "lantern-annotate-hint" })
    : element("canvas", { role: "img", "aria-label": texts.screenshot });
  const spoken = element("div", { className: "spoken", "aria-live": "polite", "aria-atomic": "true" });
  const say = { started: texts.markStarted, added: texts.markAdded, cancelled: texts.markCancelled,
    counted: texts.markCount };
  const announce = (event, { count = 0, tool = "" } = {}) => {
    spoken.textContent = say[event].replace("{count}", String(count)).replace("{tool}", tool && texts[tool]);
  };
  const annotator = createAnnotator(canvas, image, { editable: annotate, announce, marks: kept ? kept.marks : [] });
  const include = element("input", { type: "checkbox", name: "includeScreenshot", checked: kept ? kept.included : true,
    "aria-describedby": "lantern-left-out" });
  const note = element("p", { className: "hint left-out-note", id: "lantern-left-out" });
  const page = windowAt ? pageScroller(canvas, windowAt) : null;
  const hint = touchOnly() ? texts.annotateHintTouch : texts.annotateHint;
  const panel = element("section", { className: "shot" }, [
    annotate ? toolbar(annotator, texts) : null,
    page ? page.scroller : canvas,
    annotate ? element("p", { className: "hint", id: "lantern-annotate-hint", text: hint }) : null,
    annotate ? spoken : null,
    element("label", { className: "check" }, [include, element("span", { text: texts.includeScreenshot })]),
    note,
  ]);
  const shown = { include, panel, annotator, note, canvas };
  include.addEventListener("change", () => showIncluded(shown, texts));
  showIncluded(shown, texts);
  return { panel, annotator, include, annotate, showWindow: page && page.showWindow };
}

// `control`'s accessible description, with the element `id` in it (first: the field's error is read out before its
// notes) or not.
function describeBy(control, id, described) {
  const others = (control.getAttribute("aria-describedby") || "").split(" ").filter((one) => one && one !== id);
  const ids = described ? [id, ...others] : others;
  if (ids.length) control.setAttribute("aria-describedby", ids.join(" "));
  else control.removeAttribute("aria-describedby");
}

// Why a field is refused, said under it (its label holds it) and in its description, the field marked invalid; an
// empty `message` takes it away. Said beside Send, a refusal was far from its field, out of sight on a phone.
function showFieldError(control, message) {
  const id = `lantern-${control.name}-error`;
  control.form.querySelectorAll(`#${id}, #${id}-spoken`).forEach((said) => said.remove());
  describeBy(control, id, Boolean(message));
  if (!message) {
    control.removeAttribute("aria-invalid");
    return;
  }
  control.setAttribute("aria-invalid", "true");
  control.closest("label").after(element("p", { className: "field-error", id, text: message }));
  // A field is read out with its description as it takes the focus, but one that has it already (Enter in the
  // title, images just chosen) is not read out again: the status line says the error too, to screen readers alone.
  if (control === control.getRootNode().activeElement) {
    const spoken = element("span", { className: "spoken", id: `${id}-spoken`, text: message });
    control.form.querySelector(".status").appendChild(spoken);
  }
}

// The dialog's field a refusal names (the server's details name them as the widget sends them), if it has one.
function fieldNamed(form, name) {
  const control = form.elements.namedItem(name);
  return control instanceof Element && control.name ? control : null;
}

// A refusal, said where the visitor corrects it: each detail under the field it names, the first of those fields
// focused. The status line, beside Send, says the rest: the message, and the details of no field of the dialog
// (metadata.url: the page's address, which the visitor cannot change); nothing when every detail has its field.
function showRefusal(form, status, message, details) {
  for (const control of form.querySelectorAll("[aria-invalid]")) showFieldError(control, "");
  const said = new Map();
  const others = [];
  for (const detail of details) {
    const control = fieldNamed(form, detail.field);
    if (control) said.set(control, [...(said.get(control) || []), detail.message]);
    else others.push(detail);
  }
  const everyDetailAtItsField = details.length > 0 && others.length === 0;
  showStatus(status, "error", everyDetailAtItsField ? "" : message, others);
  said.forEach((messages, control) => showFieldError(control, messages.join(" ")));
  const first = form.querySelector("[aria-invalid]");
  if (first) first.focus();
}

// A field the visitor edits is no longer refused: its error goes until the next send.
function clearErrorsWhenEdited(form) {
  form.addEventListener("input", (event) => {
    if (event.target.hasAttribute("aria-invalid")) showFieldError(event.target, "");
  });
}

const focusables = (dialog) => [...dialog.querySelectorAll("button,input,select,textarea")]
  .filter((node) => !node.disabled && node.getClientRects().length);

// Tab and Shift+Tab stay inside the modal dialog.
function trapFocus(root, dialog) {
  dialog.addEventListener("keydown", (event) => {
    if (event.key !== "Tab") return;
    const focusable = focusables(dialog);
    if (!focusable.length) return;
    const [first, last] = [focusable[0], focusable[focusable.length - 1]];
    if (event.shiftKey && root.activeElement === first) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && root.activeElement === last) {
      event.preventDefault();
      first.focus();
    }
  });
}

function showStatus(status, kind, message, details = []) {
  status.className = `status ${kind}`;
  status.textContent = message;
  if (details.length) {
    const list = element("ul");
    details.forEach((detail) => list.appendChild(element("li", { text: detail.message || String(detail) })));
    status.appendChild(list);
  }
}

// A page's text cut inside an emoji ("Grüße 😀".slice(0, 7) in a console message, a title, an address) holds half
// a UTF-16 pair, which JSON.stringify writes as a lone surrogate's escape: each is sent as U+FFFD, as
// String.prototype.toWellFormed does where the browser has it (no lookbehind here: older browsers lack both).
const SURROGATES = /[\uD800-\uDBFF][\uDC00-\uDFFF]|[\uD800-\uDFFF]/g;

function wellFormed(text) {
  if (typeof text.toWellFormed === "function") return text.toWellFormed();
  return text.replace(SURROGATES, (found) => (found.length === 2 ? found : "\uFFFD"));
}

const wellFormedStrings = (_key, value) => (typeof value === "string" ? wellFormed(value) : value);

// The body as JSON, every string in it well-formed (above). Prototype.js (in Magento 1 shops, among others) gives
// arrays a toJSON that writes them as strings, which the server refuses ("Must be a list."): the body is written
// without it.
function stringify(value) {
  const pageOwn = Object.getOwnPropertyDescriptor(Array.prototype, "toJSON");
  if (!pageOwn) return JSON.stringify(value, wellFormedStrings);
  delete Array.prototype.toJSON;
  try {
    return JSON.stringify(value, wellFormedStrings);
  } finally {
    Object.defineProperty(Array.prototype, "toJSON", pageOwn);
  }
}

const chosenImages = (values) => values.getAll("attachments").filter((file) => file && file.size);

const IMAGE_TYPES = ["image/png", "image/jpeg", "image/webp"];

// Why the server would refuse the images chosen, or nothing: more than a report takes (all of them were listed as
// chosen, and those past the fourth dropped without a word), one too large (12 MB were sent, to hear that 10 are
// the most) or of another type, by its name.
function imagesRefusal(images, { texts, maxImageBytes }) {
  if (images.length > MAX_ATTACHMENTS) return texts.tooManyImages.replace("{max}", MAX_ATTACHMENTS);
  const tooLarge = images.find((file) => file.size > maxImageBytes);
  if (tooLarge) return texts.imageTooLarge.replace("{name}", tooLarge.name);
  const other = images.find((file) => IMAGE_TYPES.indexOf(file.type) < 0);
  return other ? texts.notAnImage.replace("{name}", other.name) : null;
}

// What the form holds that the server would refuse, said before anything is sent, as the server's details are:
// a title too short, and the images.
function refusalsBeforeSending(form, config) {
  const values = new FormData(form);
  const refusals = [];
  if (String(values.get("title")).trim().length < TITLE_MIN) {
    refusals.push({ field: "title", message: config.texts.titleTooShort });
  }
  const images = imagesRefusal(chosenImages(values), config);
  if (images) refusals.push({ field: "attachments", message: images });
  return refusals;
}

// A submission that gets no answer (a proxy that holds it, a server that hung) ends, so that the visitor can send
// it again: it stayed "Sending…" for good. After half a minute, and a second more for each 25 KB it carries (a
// slow phone's 200 kbit/s upload), so a large screenshot on a slow line is not cut off.
function patienceFor(multipart) {
  let bytes = 0;
  for (const part of multipart.values()) bytes += typeof part === "string" ? part.length : part.size;
  return 30000 + bytes / 25;
}

async function send({ settings, form, shot, recording, config, moment }) {
  const values = new FormData(form);
  const body = {
    title: String(values.get("title")).trim(),
    description: String(values.get("description") || "").trim() || undefined,
    priority: values.get("priority"),
    reporterName: String(values.get("reporterName") || "").trim() || undefined,
    reporterEmail: String(values.get("reporterEmail") || "").trim() || undefined,
    metadata: recording.metadata(config.features, moment),
  };
  // The screenshot and the visitor's files go in parts of their own, which the server keeps apart: BugPin's
  // `media` parts would make the first file the screenshot when the visitor left the screenshot out.
  const multipart = new FormData();
  if (shot && shot.include.checked) {
    if (shot.annotate) body.annotations = shot.annotator.annotations();
    multipart.append("screenshot", shot.annotator.toBlob(), "screenshot.png");
  }
  chosenImages(values).forEach((file) => multipart.append("attachments", file, file.name));
  multipart.append("data", stringify(body));
  const url = new URL(`${settings.apiUrl}/api/v1/widget/submit`);
  url.searchParams.set("apiKey", settings.apiKey); // a query, not a header: no CORS preflight per report
  if (settings.lang) url.searchParams.set("lang", settings.lang);
  if (settings.tryPass) url.searchParams.set("tryPass", settings.tryPass);
  const unanswered = new AbortController();
  const timer = setTimeout(() => unanswered.abort(), patienceFor(multipart));
  try {
    const response = await recording.fetch(url, { method: "POST", body: multipart, credentials: "omit",
      signal: unanswered.signal });
    const retryAfter = response.status === 429 ? Number(response.headers.get("Retry-After")) || 0 : 0;
    // null: an answer that is not Lantern's JSON (a proxy's error page)
    return { ok: response.ok, status: response.status, retryAfter, body: await response.json().catch(() => null) };
  } finally {
    clearTimeout(timer);
  }
}

// The time of day `seconds` from now, as the page's language writes it ("14:05:30", "2:05:30 PM").
function clockTime(seconds, lang) {
  return new Date(Date.now() + seconds * 1000).toLocaleTimeString(lang);
}

// The signed-in user the page named (Lantern.identify) fills the name and e-mail fields, which the visitor may
// still change.
function prefill(form, reporter) {
  form.elements.namedItem("reporterName").value = reporter.name || "";
  form.elements.namedItem("reporterEmail").value = reporter.email || "";
}

// What the visitor wrote in a dialog closed before sending (Escape, a stray click on Cancel, after a failed send)
// is given back when they open it again; a sent report leaves nothing behind. So is whether the screenshot was to
// be included (a visitor who left it out as private sent it after reopening), and a screenshot they marked: its
// marks were lost, silently, with the screenshot taken afresh. That screenshot comes back, with its marks and the
// moment it was taken (the page's address, title and context at the time); one without marks is taken afresh, as
// the page may have changed since. Once the page names another user, the fields that name the reporter are that
// user's, not the draft's, and the screenshot, its marks and its moment are not given back (on a shared device,
// the next user's report carried the previous one's marked picture of their page): one is taken afresh.
const DRAFTED = ["title", "description", "priority", "reporterName", "reporterEmail"];
const REPORTER_FIELDS = ["reporterName", "reporterEmail"];
let draft = null;

function keepDraft(form, reporter, { shot, screenshot, moment }) {
  const values = Object.fromEntries(DRAFTED.map((name) => [name, form.elements.namedItem(name).value]));
  const marks = shot ? shot.annotator.marks() : [];
  draft = {
    values,
    reporter: JSON.stringify(reporter),
    included: shot ? shot.include.checked : true,
    marked: marks.length ? { screenshot, moment, marks } : null,
  };
}

function draftedBy(reporter) {
  return Boolean(draft) && draft.reporter === JSON.stringify(reporter);
}

// The screenshot a dialog closed before sending was marked on, with its marks and its moment, if the page names
// the same user as then; or nothing.
function markedDraft(reporter) {
  return draftedBy(reporter) ? draft.marked : null;
}

function restoreDraft(form, reporter) {
  if (!draft) return;
  const sameReporter = draftedBy(reporter);
  DRAFTED.filter((name) => sameReporter || !REPORTER_FIELDS.includes(name)).forEach((name) => {
    form.elements.namedItem(name).value = draft.values[name];
  });
}

// A toast, read out as a status: what the widget is busy with, or how a report sent from a closed dialog fared.
function toast(root, text) {
  const node = element("div", { className: "toast", role: "status", text });
  root.appendChild(node);
  return node;
}

// What a refused send tells the visitor. A refusal the server explains is shown in its words, already in the
// visitor's language, but not a key's (401, 404: "The project's settings in Lantern show the key that replaced it"
// told the visitor of settings they do not have), which the console tells the site's owner. Nor is the site's
// (403: an origin the project no longer allows, a paused project): "This origin is not allowed to use this project's
// widget" is the owner's word, with nothing for the visitor to do; they read that reporting is not available here,
// to tell the site another way, and the console says why. Lantern's own try page, whose reader is the project's
// manager, shows the server's words (a pass past its hour: reload the page). A visitor is told what to correct, not
// the API's "The request is not valid.", and when to send again, not only to wait. A server's failure or a proxy's
// error page passes: they may send again in a moment.
function refusalMessage({ status, retryAfter, body }, texts, onTryPage) {
  const keyRefused = status === 401 || status === 404;
  if (body && (keyRefused || status === 403)) console.warn(`Lantern: the report was refused (${body.message}).`);
  if (retryAfter) return texts.tryAgainAt.replace("{time}", clockTime(retryAfter, texts.lang));
  if (!body || status >= 500) return texts.failedForNow;
  if (status === 403 && !onTryPage) return texts.notAvailableHere;
  if (body.details && body.details.length) return texts.failed; // the details say the rest (showRefusal)
  return (!keyRefused && typeof body.message === "string" && body.message) || texts.failed;
}

// Why a send got no answer: the visitor's connection is down, the server is out of reach, or it did not answer.
function unansweredMessage(error, texts) {
  if (navigator.onLine === false) return texts.disconnected;
  return error && error.name === "AbortError" ? texts.noAnswer : texts.offline;
}

// How a send went, for the visitor: the status line's kind and message, and the refused fields' details.
async function deliver(request, texts) {
  let answer;
  try {
    answer = await send(request);
  } catch (error) {
    return { ok: false, kind: "error", message: unansweredMessage(error, texts), details: [] };
  }
  const body = answer.body || {};
  if (answer.ok) {
    const message = body.trackingId ? texts.sentWithId.replace("{trackingId}", body.trackingId) : texts.sent;
    const report = { id: body.reportId, trackingId: body.trackingId || null }; // for the page's event
    return { ok: true, kind: "done", message, report };
  }
  const message = refusalMessage(answer, texts, Boolean(request.settings.tryPass));
  return { ok: false, kind: "error", message, details: body.details || [] };
}

// A report still on its way when its dialog was closed (Escape while sending) is sent all the same, and how it
// fared is told in a toast; until then the button opens no dialog, which would give its text back as a draft.
// It was created, never told, given back and sent a second time.
let sending = null;

// Sent on the button's click, not on the form's submit event: in a frame sandboxed without allow-forms the browser
// blocks submitting, and that event never came. Enter in a field clicks the button too; the click is cancelled,
// so the form itself is never submitted.
function sendOnClick({ backdrop, form, texts, request, onSent, tell }) {
  const status = form.querySelector(".status");
  const submit = form.querySelector("button[type=submit]");
  const showOutcome = (outcome) => {
    if (!outcome.ok) {
      submit.removeAttribute("aria-disabled");
      showRefusal(form, status, outcome.message, outcome.details);
      return;
    }
    showStatus(status, outcome.kind, outcome.message);
    submit.remove();
    // What was sent stays in view as it went, no longer to be changed: it looked as if the report still could be.
    for (const control of backdrop.querySelectorAll("input, textarea")) control.readOnly = true;
    for (const control of backdrop.querySelectorAll("select, input[type=checkbox], input[type=file], .toolbar button")) {
      control.disabled = true;
    }
    if (request.shot) request.shot.annotator.freeze();
    const closer = form.querySelector("[data-action=cancel]");
    closer.textContent = texts.close;
    closer.focus(); // the button that had focus is gone: keyboard users stay in the dialog
  };
  submit.addEventListener("click", (event) => {
    event.preventDefault();
    if (submit.getAttribute("aria-disabled")) return; // a send is under way
    const refusals = refusalsBeforeSending(form, request.config);
    showRefusal(form, status, "", refusals); // with none, it takes the last send's away
    if (refusals.length) return;
    // aria-disabled, not disabled: a disabled button drops the focus to the page behind the modal dialog.
    submit.setAttribute("aria-disabled", "true");
    showStatus(status, "", texts.sending);
    sending = deliver(request, texts).then((outcome) => {
      sending = null;
      if (outcome.ok) {
        draft = null;
        onSent(outcome.report);
      }
      if (backdrop.isConnected) showOutcome(outcome);
      else tell(outcome.ok ? outcome.message : texts.notSentKept);
    });
  });
}

// A long text (a pasted log) is cut to the description's length: a note under the field says so while the text is
// at that length, besides the status line's word when something is cut.
function noteDescriptionCut(form, texts) {
  const description = form.elements.namedItem("description");
  const note = form.querySelector(".cut");
  const said = texts.descriptionCut.replace("{max}", description.maxLength.toLocaleString(texts.lang));
  const update = () => {
    note.textContent = description.value.length >= description.maxLength ? said : "";
  };
  description.addEventListener("input", update);
  update(); // a draft given back may be at the length
}

// Returns a function that closes the dialog, as Cancel does.
function openDialog({ root, settings, config, recording, moment, reporter, screenshot, screenshotFailed, onClose,
  onSent, tell }) {
  const texts = config.texts;
  const marked = markedDraft(reporter);
  const kept = draftedBy(reporter) && {
    included: draft.included,
    marks: marked && marked.screenshot === screenshot ? marked.marks : [],
  };
  const shot = screenshot ? screenshotPanel(screenshot, config, texts, kept) : null;
  const form = reportForm(config, texts);
  prefill(form, reporter);
  restoreDraft(form, reporter);
  let sent = false;
  const status = form.querySelector(".status");
  if (screenshotFailed) showStatus(status, "", texts.screenshotFailed);
  // A text pasted or typed past a field's length is cut by the browser without a word: the visitor hears it
  // (when something is cut, not when the text merely reaches the length).
  for (const name of ["title", "description"]) {
    const control = form.elements.namedItem(name);
    control.addEventListener("beforeinput", (event) => {
      const incoming = event.data ?? event.dataTransfer?.getData("text/plain") ?? "";
      const kept = control.value.length - (control.selectionEnd - control.selectionStart);
      if (kept + incoming.length <= control.maxLength) return;
      showStatus(status, "", texts.cutAt.replace("{max}", control.maxLength.toLocaleString(texts.lang)));
    });
  }
  noteDescriptionCut(form, texts);
  clearErrorsWhenEdited(form);
  const closeButton = element("button", { type: "button", className: "icon-button", "aria-label": texts.close,
    title: texts.close, text: "×" });
  const dialog = element("div", { className: "dialog", role: "dialog", "aria-modal": "true",
    "aria-labelledby": "lantern-dialog-title", tabindex: -1 }, [
    element("header", {}, [element("h2", { id: "lantern-dialog-title", text: texts.dialogTitle }), closeButton]),
    element("div", { className: shot ? "content" : "content no-shot" }, [shot && shot.panel, form]),
  ]);
  const backdrop = element("div", { className: "backdrop" }, [dialog]);
  const close = () => {
    if (!sent) keepDraft(form, reporter, { shot, screenshot, moment });
    backdrop.remove();
    document.removeEventListener("keydown", onEscape, true);
    document.removeEventListener("focusin", keepFocus, true);
    onClose();
  };
  // Escape drops a mark being drawn first; the next one closes the dialog. One that cancels a conversion being
  // typed (Japanese, Chinese) is the input method's: it closed the dialog and lost the marks.
  const onEscape = (event) =>
    event.key === "Escape" && !event.isComposing && !(shot && shot.annotator.cancel()) && close();
  document.addEventListener("keydown", onEscape, true);
  // Focus that leaves for the page comes back to the modal dialog: after a click on its blank space, Shift+Tab
  // went from the page's body to its search field, where the visitor's typing landed. (Focus within the widget
  // reaches the document as its host's.)
  const keepFocus = (event) => event.target !== root.host && focusables(dialog)[0].focus();
  document.addEventListener("focusin", keepFocus, true);
  closeButton.addEventListener("click", close);
  form.querySelector("[data-action=cancel]").addEventListener("click", close);
  sendOnClick({ backdrop, form, texts, request: { settings, form, shot, recording, config, moment },
    onSent: (report) => {
      sent = true;
      onSent(report);
    }, tell });
  trapFocus(root, dialog);
  root.appendChild(backdrop);
  if (shot && shot.showWindow) shot.showWindow();
  focusOnOpen(dialog, form.elements.title);
  return close;
}

// The title takes the focus, for typing at once. A phone or a tablet opens at the dialog's top (its heading, close
// button and tools) without the on-screen keyboard, which a focused field brings up over half the screen: the
// dialog has the focus, where a screen reader starts.
function focusOnOpen(dialog, title) {
  if (touchOnly()) {
    dialog.focus({ preventScroll: true });
    return;
  }
  title.focus({ preventScroll: true }); // a small window shows the dialog's top: its tools, the screenshot
  // ...but focus is never out of sight (a window zoomed to 400 %).
  const box = title.getBoundingClientRect();
  if (box.top < 0 || box.bottom > window.innerHeight) title.scrollIntoView({ block: "nearest" });
}

// A constructed style sheet where the browser has them, not a <style> element: a page whose
// Content-Security-Policy refuses inline styles (style-src without 'unsafe-inline') still shows the widget styled.
function adoptStyles(root, css) {
  if ("adoptedStyleSheets" in root && "replaceSync" in CSSStyleSheet.prototype) {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(css);
    root.adoptedStyleSheets = [sheet];
  } else {
    root.appendChild(element("style", { text: css }));
  }
}

// Keys and text typed into the widget reach the page as events of its host (shadow DOM retargets them), which no
// "ignore keys in form fields" check recognizes: the page's shortcuts fired, a player's Space ate the spaces, the
// Escape that closed the widget closed the page's own dialog too. So do focus changes: a page's modal that keeps
// the focus inside it (Bootstrap's, on `focusin` at the document) took it back from the widget's fields. They end
// at the host. A page's listeners in the capture phase (on window or document, with `true`) still get them first,
// with the host as their target: stopping them before those would keep them from the widget's own fields too.
const PAGE_FREE_EVENTS = ["keydown", "keypress", "keyup", "beforeinput", "input", "compositionstart",
  "compositionupdate", "compositionend", "paste", "copy", "cut", "focusin", "focusout"];

function keepEventsFromPage(host) {
  for (const type of PAGE_FREE_EVENTS) host.addEventListener(type, (event) => event.stopPropagation());
}

// The element the widget hangs from: an element of its own name, which a page's rules for its divs do not reach,
// with every property reset inline and !important, which beats any page rule that still does (`* { all: unset }`,
// `:not(:defined) { display: none }`). What is inside inherits from it: none of the page's letter-spacing,
// line-height or text-transform.
function widgetHost(texts) {
  // In its texts' language and direction, whatever the page's: a screen reader reads it in the right voice.
  const host = element("lantern-widget", { "data-lantern-widget": "", lang: texts.lang, dir: texts.dir });
  host.style.setProperty("all", "initial", "important"); // CSSOM: a Content-Security-Policy allows it
  keepEventsFromPage(host);
  return host;
}

// Of the page's elements at the highest z-index, the later in the document is drawn on top: one the page adds after
// the widget (a cookie bar after load) covered the dialog and its Send button. Opening takes the widget to the end
// again; moving it drops the focus, which the dialog then sets.
function bringToFront(host) {
  if (host.nextElementSibling) document.documentElement.appendChild(host);
}

// Once the next frame is painted, or after a moment in a tab that paints none (in the background, headless).
function painted() {
  return new Promise((resolve) => {
    requestAnimationFrame(() => setTimeout(resolve));
    setTimeout(resolve, 100);
  });
}

// A picture of the page, or why there is none.
async function screenshotFor(root, config, isOwn) {
  if (!config.features.screenshot) return { screenshot: null, screenshotFailed: false };
  const capturing = toast(root, config.texts.capturing);
  // The page is drawn on the page's one thread, which a long page holds for seconds: the notice is painted first
  // (it showed only once the drawing was done), and the click that opened the dialog is over meanwhile.
  await painted();
  try {
    const { captureMethod: method, useScreenCaptureAPI, maxImagePixels: maxPixels } = config;
    const screenshot = await takeScreenshot({ method, useScreenCaptureAPI, isOwn, maxPixels });
    return { screenshot, screenshotFailed: false };
  } catch (error) {
    // The site's developer reads why in the console; the visitor is told in the dialog, in their language.
    console.warn(`Lantern: no screenshot was taken (${error && error.message}).`);
    return { screenshot: null, screenshotFailed: true };
  } finally {
    capturing.remove();
  }
}

// `page` is what the embedding page told (Lantern.identify, setCustomData) and where its events go (api.js).
// Returns the dialog's open and close, for Lantern.open() and close().
export function mountWidget({ settings, config, recording, page }) {
  const host = widgetHost(config.texts);
  const root = host.attachShadow({ mode: "open" });
  adoptStyles(root, stylesFor(config, prefersDark(config.theme)));
  // With data-launcher="hidden" the page opens the dialog from a trigger of its own: there is no button.
  const button = settings.launcher ? launcher(config, config.texts) : null;
  if (button) root.appendChild(button);
  // After the body, not in it: a transform, filter, will-change or contain on the body makes it the box that
  // fixed elements are placed in, which put the button at the end of a long page instead of the window's corner.
  document.documentElement.appendChild(host);
  const isOwn = (node) => node === host;
  let opener = null; // the page's own element that had the focus when the page called Lantern.open()
  const showButton = () => {
    if (button) button.hidden = false;
    // Back where the visitor was, for keyboard and screen reader users: the page's trigger, or the button.
    const back = opener && opener.isConnected ? opener : button;
    if (back) back.focus();
  };
  let notice = null;
  // How a report sent from a dialog closed meanwhile fared: shown for ten seconds, or until the dialog is opened.
  const tell = (message) => {
    const shown = toast(root, message);
    notice = shown;
    setTimeout(() => shown.remove(), 10000);
  };

  let closeDialog = null; // the open dialog's
  let opening = false; // while its screenshot is taken, or a report sent meanwhile is on its way
  let closeWhenOpened = false; // Lantern.close() came meanwhile
  const open = async () => {
    if (opening) closeWhenOpened = false; // the last call wins: open(), close(), open() leaves it open
    if (opening || closeDialog) return;
    opening = true;
    closeWhenOpened = false;
    if (notice) notice.remove();
    const focused = document.activeElement;
    opener = focused && focused !== document.body && focused !== host ? focused : null;
    if (button) button.hidden = true;
    bringToFront(host);
    if (sending) {
      const waiting = toast(root, config.texts.sending);
      await sending; // which tells how it went
      waiting.remove();
      opening = false;
      showButton();
      return;
    }
    // The report tells of the page its screenshot shows, and what the page said of itself then: a screenshot the
    // visitor marked in a dialog closed before sending comes back as it was (keepDraft).
    const reporter = page.reporter();
    const marked = markedDraft(reporter);
    const moment = marked ? marked.moment : { ...recording.moment(), custom: page.customData() };
    const { screenshot, screenshotFailed } = marked
      ? { screenshot: marked.screenshot, screenshotFailed: false }
      : await screenshotFor(root, config, isOwn);
    opening = false;
    if (closeWhenOpened) {
      showButton();
      return;
    }
    const onClose = () => {
      closeDialog = null;
      showButton();
      page.emit("closed");
    };
    const onSent = (report) => page.emit("submitted", report);
    closeDialog = openDialog({ root, settings, config, recording, moment, reporter, screenshot,
      screenshotFailed, onClose, onSent, tell });
    page.emit("opened");
  };
  const close = () => {
    if (closeDialog) closeDialog();
    else if (opening) closeWhenOpened = true;
  };
  if (button) button.addEventListener("click", open);
  return { open, close };
}
