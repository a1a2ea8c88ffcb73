// What a report tells about the page: console errors, failed requests and the visitor's recent actions,
// recorded from the moment the script runs; the page's address, title and viewport when the screenshot is taken;
// the browser and device.
// Typed values are never recorded: an input only says that it changed, and a click on it names the field, not
// what is in it. Secrets that pages put in addresses and logged objects (tokens, keys, passwords) are redacted.

const LIMITS = { console: 50, network: 50, actions: 30 };
const TEXT_LIMIT = 500;
// Lantern refuses more than 512 KB of logs; the oldest entries give way, so that a page full of long errors
// can still be reported.
const LOG_BUDGET_BYTES = 448 * 1024;
// A name is secret-looking when it, or its last part (`access_token`, `x-api-key`, `authToken`), is one of these.
const SENSITIVE =
  /(?:^|[_\-.])(?:pass(?:word|wd|phrase)?|pwd|secret|token|api[_-]?key|key|auth(?:orization)?|session(?:id)?|sid|cookie|signature|sig|credentials?|code|jwt)$/i;
const REDACTED = "[redacted]";
// `name=value` in an address or any text (a stack trace carries the page's address, a hash router its query).
const PARAMETER = /(^|[?&#;/\s])([\w.\-[\]]+)=([^&#\s"'<>]*)/g;
// The password of `https://user:password@host`.
const USER_PASSWORD = /(\/\/[^/@\s:]+:)[^/@\s]+@/g;

function ring(limit) {
  const items = [];
  return {
    push(item) {
      items.push(item);
      if (items.length > limit) items.shift();
    },
    list: () => items.slice(),
  };
}

function now() {
  return new Date().toISOString();
}

// Cut at a whole character: half of an emoji's surrogate pair is not valid JSON text, and the server would refuse
// the whole report.
function clip(text, limit = TEXT_LIMIT) {
  const value = String(text == null ? "" : text);
  if (value.length <= limit) return value;
  const cut = value.slice(0, limit - 1);
  return `${/[\uD800-\uDBFF]$/.test(cut) ? cut.slice(0, -1) : cut}…`;
}

// In an address, `code` is OAuth's; in a logged object it is far more often an error's code, worth keeping.
function isSecret(name, { inAddress = true } = {}) {
  const words = String(name).replace(/([a-z0-9])([A-Z])/g, "$1_$2");
  return SENSITIVE.test(words) && (inAddress || !/(?:^|[_\-.])code$/i.test(words));
}

// Text with the values of secret-looking parameters, and addresses' passwords, hidden; the rest as it was.
function redactText(text) {
  return String(text)
    .replace(PARAMETER, (whole, before, name) => (isSecret(name) ? `${before}${name}=${REDACTED}` : whole))
    .replace(USER_PASSWORD, `$1${REDACTED}@`);
}

// Never throws: the page's own call must fail, or not, as it would without the widget.
function redactUrl(url) {
  try {
    return redactText(new URL(url, location.href).href);
  } catch (_invalid) {
    return redactText(url);
  }
}

const redactKeys = (key, value) => (key && isSecret(key, { inAddress: false }) ? REDACTED : value);

function describeArgument(value) {
  if (value instanceof Error) return redactText(value.stack || `${value.name}: ${value.message}`);
  if (typeof value === "object" && value !== null) {
    try {
      return redactText(JSON.stringify(value, redactKeys));
    } catch (_error) {
      return Object.prototype.toString.call(value);
    }
  }
  return redactText(value);
}

function recordConsole(entries) {
  for (const level of ["error", "warn"]) {
    const original = console[level];
    console[level] = function (...args) {
      entries.push({ type: level, message: clip(args.map(describeArgument).join(" "), 10000), timestamp: now() });
      return original.apply(this, args);
    };
  }
  window.addEventListener("error", (event) => {
    if (!event.message) return; // a resource that failed to load: the network log has it
    entries.push({
      type: "error",
      message: clip(redactText(event.message), 10000),
      source: event.filename ? clip(redactUrl(event.filename), 2048) : undefined,
      line: event.lineno || undefined,
      timestamp: now(),
    });
  });
  window.addEventListener("unhandledrejection", (event) => {
    const message = `Unhandled rejection: ${describeArgument(event.reason)}`;
    entries.push({ type: "error", message: clip(message, 10000), timestamp: now() });
  });
}

// Read without constructing a Request, which would take over a streamed body the page still needs.
function describeRequest(input, init) {
  const isRequest = typeof Request !== "undefined" && input instanceof Request;
  const url = isRequest ? input.url : String(input);
  const method = (init && init.method) || (isRequest ? input.method : "GET");
  return { method: String(method).toUpperCase(), url: redactUrl(url) };
}


// Marks the widget's own requests made through the page's fetch (the screenshot's images and fonts), which
// are no failures of the page's.
export const OWN_REQUEST = Symbol("lantern");

function recordFetch(entries, ignored) {
  const original = window.fetch;
  if (!original) return;
  window.fetch = async function (input, init) {
    if (init && init[OWN_REQUEST]) return original.call(this, input, init);
    const request = describeRequest(input, init);
    const started = performance.now();
    const entry = { method: request.method, url: clip(request.url, 2048), timestamp: now() };
    try {
      const response = await original.call(this, input, init);
      if (response.status >= 400 && !ignored(request.url)) {
        entries.push({ ...entry, status: response.status, statusText: response.statusText,
          duration: Math.round(performance.now() - started) });
      }
      return response;
    } catch (error) {
      if (!ignored(request.url)) {
        entries.push({ ...entry, status: 0, error: clip(error && error.message),
          duration: Math.round(performance.now() - started) });
      }
      throw error;
    }
  };
}

function recordXhr(entries, ignored) {
  const proto = window.XMLHttpRequest && window.XMLHttpRequest.prototype;
  if (!proto) return;
  const open = proto.open;
  const send = proto.send;
  proto.open = function (method, url, ...rest) {
    this.__lantern = { method: String(method).toUpperCase(), url: clip(redactUrl(url), 2048) };
    return open.call(this, method, url, ...rest);
  };
  proto.send = function (...args) {
    const request = this.__lantern;
    if (request && !ignored(request.url)) {
      const started = performance.now();
      const timestamp = now();
      this.addEventListener("loadend", () => {
        if (this.status === 0 || this.status >= 400) {
          entries.push({ ...request, status: this.status, statusText: this.statusText, timestamp,
            duration: Math.round(performance.now() - started) });
        }
      });
    }
    return send.apply(this, args);
  };
}

function describeElement(element) {
  if (!(element instanceof Element)) return "";
  const parts = [element.tagName.toLowerCase()];
  if (element.id) parts.push(`#${element.id}`);
  const classes = Array.from(element.classList).slice(0, 3);
  if (classes.length) parts.push(`.${classes.join(".")}`);
  const name = element.getAttribute("name");
  if (name) parts.push(`[name="${name}"]`);
  return clip(parts.join(""), 200);
}

// A field's value is what the visitor typed (a password, a card number): a field is named by its label only.
const FIELDS = "input:not([type=button]):not([type=submit]):not([type=reset]),textarea,select";

function visibleText(element) {
  const label = element.getAttribute("aria-label");
  const typed = element.matches(FIELDS) || element.isContentEditable; // a rich-text editor's text is typed too
  const text = label || (typed ? "" : element.innerText || element.value || "");
  return clip(String(text).replace(/\s+/g, " ").trim(), 80);
}

const CONTROLS = "a,button,input,select,textarea,label,[role=button]";

function recordActions(entries, isOwn) {
  document.addEventListener("click", (event) => {
    const target = event.target;
    if (!(target instanceof Element) || isOwn(target)) return;
    // The document sees a click in a web component's open shadow root on its host: the control clicked inside,
    // and its text (which the host's own text leaves out), are named after the host.
    const inner = event.composedPath()[0];
    const control = inner !== target && inner instanceof Element && inner.closest(CONTROLS);
    const element = control || target.closest(CONTROLS) || target;
    const described = control ? `${describeElement(target)} ${describeElement(control)}` : describeElement(element);
    entries.push({ type: "click", target: clip(described, 200), text: visibleText(element), timestamp: now() });
  }, true);
  const changed = (event) => {
    const target = event.target;
    if (!(target instanceof Element) || isOwn(target)) return;
    entries.push({ type: "input", target: describeElement(target), timestamp: now() });
  };
  document.addEventListener("change", changed, true);
  // A change stays in the shadow root of its field (a web component's), where the document never hears it. An
  // input event leaves it, and comes first: the field's own root is listened to from its first one on.
  const listened = new WeakSet();
  document.addEventListener("input", (event) => {
    if (!(event.target instanceof Element) || isOwn(event.target)) return;
    const root = event.composedPath()[0].getRootNode();
    if (root instanceof ShadowRoot && !listened.has(root)) {
      listened.add(root);
      root.addEventListener("change", changed, true);
    }
  }, true);
  let logged = null;
  const navigated = () => {
    logged = location.href;
    entries.push({ type: "navigation", url: clip(redactUrl(logged), 2048), timestamp: now() });
  };
  for (const method of ["pushState", "replaceState"]) {
    const original = history[method];
    history[method] = function (...args) {
      const result = original.apply(this, args);
      navigated();
      return result;
    };
  }
  window.addEventListener("popstate", navigated);
  // A change of the fragment fires popstate, then hashchange: one navigation, logged once (hashchange alone where a
  // browser fires no popstate for it).
  window.addEventListener("hashchange", () => location.href !== logged && navigated());
}

function browserInfo() {
  const agent = navigator.userAgent;
  const known = [
    ["Edge", /Edg\/([\d.]+)/], ["Opera", /OPR\/([\d.]+)/], ["Samsung Internet", /SamsungBrowser\/([\d.]+)/],
    ["Firefox", /Firefox\/([\d.]+)/], ["Chrome", /Chrom(?:e|ium)\/([\d.]+)/], ["Safari", /Version\/([\d.]+).*Safari/],
  ];
  for (const [name, pattern] of known) {
    const match = agent.match(pattern);
    if (match) return { name, version: match[1], userAgent: clip(agent, 1024) };
  }
  return { name: "Unknown", userAgent: clip(agent, 1024) };
}

function deviceInfo() {
  const agent = navigator.userAgent;
  const systems = [
    ["iOS", /(?:iPhone|iPad|iPod).*OS ([\d_]+)/], ["Android", /Android ([\d.]+)/], ["Windows", /Windows NT ([\d.]+)/],
    ["macOS", /Mac OS X ([\d_.]+)/], ["ChromeOS", /CrOS \S+ ([\d.]+)/], ["Linux", /Linux()/],
  ];
  let os = "Unknown";
  let osVersion;
  for (const [name, pattern] of systems) {
    const match = agent.match(pattern);
    if (match) {
      os = name;
      osVersion = match[1] ? match[1].replace(/_/g, ".") : undefined;
      break;
    }
  }
  const tablet = /iPad|Tablet/.test(agent) || (/Android/.test(agent) && !/Mobile/.test(agent));
  const type = tablet ? "tablet" : /Mobi|iPhone/.test(agent) ? "mobile" : "desktop";
  return { type, os, osVersion };
}

// The page as its screenshot shows it, read when the screenshot is taken: a single-page app may go to another
// route, a phone be turned, while the visitor writes the report.
function pageMoment() {
  return {
    url: clip(redactUrl(location.href), 2048),
    title: clip(document.title, 2048),
    viewport: {
      width: window.innerWidth,
      height: window.innerHeight,
      devicePixelRatio: window.devicePixelRatio || 1,
      orientation: window.innerWidth >= window.innerHeight ? "landscape" : "portrait",
    },
  };
}

function pageLoadTime() {
  const [navigation] = performance.getEntriesByType ? performance.getEntriesByType("navigation") : [];
  return navigation && navigation.loadEventEnd > 0 ? Math.round(navigation.loadEventEnd) : undefined;
}

// The newest entries of the three logs that fit the budget together: the oldest entry of the largest log goes
// first.
function withinBudget(logs) {
  const encoder = new TextEncoder();
  const sizes = logs.map((entries) => entries.map((entry) => encoder.encode(JSON.stringify(entry)).length + 1));
  const total = (index) => sizes[index].reduce((sum, size) => sum + size, 0);
  const totals = logs.map((_entries, index) => total(index));
  while (totals.reduce((sum, size) => sum + size, 0) > LOG_BUDGET_BYTES) {
    const largest = totals.indexOf(Math.max(...totals));
    logs[largest].shift();
    totals[largest] -= sizes[largest].shift();
  }
  return logs;
}

export function startRecording(apiUrl) {
  const consoleErrors = ring(LIMITS.console);
  const networkErrors = ring(LIMITS.network);
  const userActions = ring(LIMITS.actions);
  // The widget's own calls to Lantern are not the page's failures; the page's own calls to the same host are (a
  // site may share it with Lantern behind a proxy).
  const widgetEndpoints = `${apiUrl}/api/v1/widget/`;
  const ignored = (url) => String(url).startsWith(widgetEndpoints);
  const isOwn = (element) => Boolean(element.closest("[data-lantern-widget]"));
  // The widget's own requests go through fetch as it is now: a page that wraps it later (to add its own
  // headers, say) must not change them.
  const ownFetch = window.fetch.bind(window);
  recordConsole(consoleErrors);
  recordFetch(networkErrors, ignored);
  recordXhr(networkErrors, ignored);
  recordActions(userActions, isOwn);
  return {
    fetch: ownFetch,
    moment: pageMoment,
    // `moment` is what pageMoment read when the screenshot was taken.
    metadata(features, moment) {
      const [consoleLog, networkLog, actions] = withinBudget([
        features.consoleCapture === false ? [] : consoleErrors.list(),
        networkErrors.list(),
        userActions.list(),
      ]);
      return {
        ...moment,
        referrer: document.referrer ? clip(redactUrl(document.referrer), 2048) : undefined,
        browser: browserInfo(),
        device: deviceInfo(),
        timestamp: now(),
        timezone: Intl.DateTimeFormat().resolvedOptions().timeZone,
        pageLoadTime: pageLoadTime(),
        consoleErrors: consoleLog,
        networkErrors: networkLog,
        userActions: actions,
      };
    },
  };
}
