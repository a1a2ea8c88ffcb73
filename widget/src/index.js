// Lantern's embeddable widget. A site adds
//   <script src="https://lantern.example.com/widget.js" data-api-key="lt_pub_…" defer></script>
// and its visitors get a button that reports a bug with a screenshot they can mark up, and the page's
// context: console errors, failed requests, recent actions, browser and viewport.
// Optional attributes: data-lang (a language for the widget, else the browser's), data-api-url (Lantern's
// address, else the script's own origin), data-launcher="hidden" (no button: the page calls Lantern.open()).
// The page talks to the widget through `window.Lantern` (api.js).
import { installApi } from "./api.js";
import { startRecording } from "./context.js";
import { mountWidget } from "./widget.js";

const SCRIPT_SELECTOR = "script[data-api-key]";

function ownScript() {
  return document.currentScript || document.querySelector(SCRIPT_SELECTOR);
}

function settingsFrom(script) {
  const apiKey = script && script.dataset.apiKey;
  if (!apiKey) {
    console.warn("Lantern: the widget's <script> needs a data-api-key attribute.");
    return null;
  }
  const apiUrl = (script.dataset.apiUrl || new URL(script.src, location.href).origin).replace(/\/+$/, "");
  // data-try-pass: only on Lantern's own "Try the widget" page, whose address the project's origins do not list.
  return { apiKey, apiUrl, lang: script.dataset.lang || null, tryPass: script.dataset.tryPass || null,
    launcher: script.dataset.launcher !== "hidden" };
}

async function fetchConfig(settings, fetch) {
  const url = new URL(`${settings.apiUrl}/api/v1/widget/config/${encodeURIComponent(settings.apiKey)}`);
  if (settings.lang) url.searchParams.set("lang", settings.lang);
  if (settings.tryPass) url.searchParams.set("tryPass", settings.tryPass);
  const response = await fetch(url, { credentials: "omit" });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.message || `HTTP ${response.status}`);
  return body.config;
}

// The widget goes after the body (see mountWidget): before the body is parsed, it would land in front of it.
function whenBodyReady(callback) {
  if (document.body) callback();
  else document.addEventListener("DOMContentLoaded", callback, { once: true });
}

const settings = settingsFrom(ownScript());
// Twice-included scripts (a tag manager and the page, say) must not show two buttons.
if (settings && !window.__lanternWidget) {
  window.__lanternWidget = true;
  // Recording starts at once: errors thrown by the page's scripts that run after this one are in the report
  // (a tag without `defer`, first in <head>, sees those of every script).
  const recording = startRecording(settings.apiUrl);
  // At once too: the page's calls queued before the script loaded are made now, and those after it need no queue.
  const api = installApi();
  fetchConfig(settings, recording.fetch)
    .then((config) => whenBodyReady(() => api.attach(mountWidget({ settings, config, recording, page: api.page }))))
    // The page's origin too: the site's owner compares it with the project's allowed origins (www or not, a port).
    .catch((error) => {
      console.warn(`Lantern: the widget is off (${error.message}) on ${location.origin}.`);
      api.off(error.message);
    });
}
