// What the page that embeds the widget tells it and asks of it, as `window.Lantern`: who is signed in
// (identify), facts of its own sent with each report (setCustomData), and open() and close() for a page with a
// trigger of its own. The page hears of the dialog through events on window: `lantern:opened`, `lantern:closed`
// and `lantern:submitted` (with the report's id and tracking ID, nothing of its content).
// A call made before the script has loaded waits in `Lantern.q`, as [method, ...arguments], put there by the
// page's stub (README, "The widget's JavaScript API"); the queue is played in order when the script runs.
// A call never throws: what the page gets wrong is left out, with a console warning that says why.

// As the server bounds them (`CustomData` in app/domain/reports/schemas.py); the server counts characters,
// JavaScript UTF-16 units, of which an emoji has two: a value that passes here passes there.
const MAX_CUSTOM_KEYS = 50;
const MAX_KEY_LENGTH = 100;
const MAX_VALUE_LENGTH = 1000;
// The dialog's fields' lengths, and the server's pattern for an address (app/lib/patterns.py's EMAIL).
const MAX_NAME_LENGTH = 200;
const MAX_EMAIL_LENGTH = 320;
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

const METHODS = ["identify", "setCustomData", "open", "close"];
const USER_KEYS = ["email", "name"];
const IDENTIFY_TAKES = "takes { email, name }, or null when the user signs out";

function warn(message) {
  console.warn(`Lantern: ${message}`);
}

// A key as a warning quotes it: a page's mistake may be a key of any length.
function quoted(key) {
  return JSON.stringify(key.length > 40 ? `${key.slice(0, 40)}…` : key);
}

const isObject = (value) => typeof value === "object" && value !== null && !Array.isArray(value);

// Why a value cannot be sent as custom data, or nothing when it can.
function refusal(key, value) {
  if (key.length > MAX_KEY_LENGTH) return `a key has at most ${MAX_KEY_LENGTH} characters`;
  if (typeof value === "string") {
    return value.length > MAX_VALUE_LENGTH ? `a text has at most ${MAX_VALUE_LENGTH} characters` : null;
  }
  if (typeof value === "number") return Number.isFinite(value) ? null : "a number must be finite";
  return typeof value === "boolean" ? null : "a value is a string, a number or a boolean";
}

// The signed-in user as the dialog's name and e-mail fields take them: each left out when it is not one.
function reporterFrom(user) {
  const reporter = {};
  const name = typeof user.name === "string" ? user.name.trim() : "";
  if (name && name.length <= MAX_NAME_LENGTH) reporter.name = name;
  else if (user.name != null && user.name !== "") {
    warn(`identify: a name is text of at most ${MAX_NAME_LENGTH} characters; it was left out.`);
  }
  const email = typeof user.email === "string" ? user.email.trim() : "";
  if (email && email.length <= MAX_EMAIL_LENGTH && EMAIL.test(email)) reporter.email = email;
  else if (user.email != null && user.email !== "") {
    warn(`identify: ${JSON.stringify(String(user.email))} is no e-mail address; it was left out.`);
  }
  return reporter;
}

// The user an identify call (`args`, its arguments) names. A call that names none (no argument, as
// `identify(session.user)` makes once the user signed out; something other than an object; an object with neither
// `email` nor `name`, { mail }, {}) forgets the user, as null does, and says so in a warning: it kept the user
// before, whose name and e-mail the next person on the device found in the dialog. Keys beside email or name are
// left out.
function identified(args) {
  const [user] = args;
  if (user === null) return {}; // signed out
  const forgotten = "the user is forgotten; null signs them out";
  if (user === undefined) {
    warn(`identify was called without a user: it ${IDENTIFY_TAKES}; the user is forgotten.`);
    return {};
  }
  if (!isObject(user)) {
    warn(`identify ${IDENTIFY_TAKES}; the user is forgotten.`);
    return {};
  }
  const keys = Object.keys(user);
  const unknown = keys.filter((key) => !USER_KEYS.includes(key));
  const named = unknown.length < keys.length;
  if (unknown.length) {
    const which = unknown.map(quoted).join(", ");
    const what = unknown.length === 1 ? "is not one of its keys" : "are not among its keys";
    warn(`identify: ${which} ${what} (${USER_KEYS.join(", ")}): ${named ? "left out" : forgotten}.`);
  } else if (!named) {
    warn(`identify: {} names no user (it takes { email, name }): ${forgotten}.`);
  }
  return named ? reporterFrom(user) : {};
}

// Whether `value` is the README's stub (an object whose `q` is an array), or nothing yet: anything else named
// Lantern is the page's own (a function, a library of that name), which the widget leaves as it is.
const isStub = (value) => value == null || (isObject(value) && Array.isArray(value.q));

// `api` made `window.Lantern`, and the stub's queued calls played through `run`. The stub's own object is kept, so
// that a page holding a reference to it calls the real methods from now on (its queue goes on taking calls, made
// at once); a stub the page froze gives way to a new object. Where the page's own Lantern is there, or the name
// cannot be assigned, the widget goes on without its API, and says so: it never throws, and never breaks the page.
function installed(api, run) {
  const existing = window.Lantern;
  if (!isStub(existing)) {
    warn(`window.Lantern is the page's own (${typeof existing}): the widget works without its JavaScript API.`);
    return;
  }
  const queued = existing ? existing.q : [];
  const methods = { ...api, q: { push: (...calls) => calls.forEach(run) } };
  const lantern = existing && Object.isExtensible(existing) ? existing : {};
  try {
    Object.assign(lantern, methods);
    window.Lantern = lantern;
  } catch (_readOnly) {
    // A property the page made read-only (assigning it throws in strict code, does nothing otherwise).
  }
  if (window.Lantern !== lantern) {
    warn("window.Lantern cannot be assigned: the widget works without its JavaScript API.");
  }
  queued.forEach(run);
}

// `window.Lantern`, made from the page's stub (whose queued calls are played) or anew. Returns what the widget
// reads of it (`page`) and `attach(controls)`, which hands it the widget's open and close once the widget is
// shown: an open() called before waits for that; `off(reason)`, when it will not be.
export function installApi() {
  let reporter = {};
  const custom = new Map(); // not an object: a key "__proto__" is a key like any other
  let controls = null;
  let openWhenShown = false;
  let off = null; // why the widget is off on this page (its configuration was refused), once it is
  const warnOff = () => warn(`open() opens nothing: the widget is off on this page (${off}).`);

  const api = {
    identify(...args) {
      reporter = identified(args);
    },
    setCustomData(data) {
      if (!isObject(data)) {
        warn("setCustomData takes an object of keys and values (null removes a key).");
        return;
      }
      for (const [key, value] of Object.entries(data)) {
        if (value == null) {
          custom.delete(key);
          continue;
        }
        const full = !custom.has(key) && custom.size >= MAX_CUSTOM_KEYS;
        const why = refusal(key, value) || (full && `it holds at most ${MAX_CUSTOM_KEYS} keys`);
        if (why) warn(`setCustomData: ${quoted(key)} was left out: ${why}.`);
        else custom.set(key, value);
      }
    },
    open() {
      if (off) warnOff(); // a page's trigger that does nothing, without a word, is hard to tell from a broken one
      else if (controls) controls.open();
      else openWhenShown = true;
    },
    close() {
      if (controls) controls.close();
      else openWhenShown = false;
    },
  };

  // Each call as [method, ...arguments]; one the API does not have is left out, with a word.
  const run = (call) => {
    const [method, ...args] = Array.isArray(call) ? call : [];
    if (METHODS.includes(method)) api[method](...args);
    else warn(`${JSON.stringify(String(method))} is not one of Lantern's methods (${METHODS.join(", ")}).`);
  };
  installed(api, run);

  return {
    page: {
      reporter: () => ({ ...reporter }),
      customData: () => (custom.size ? Object.fromEntries(custom) : undefined),
      emit: (name, detail) => window.dispatchEvent(new CustomEvent(`lantern:${name}`, { detail })),
    },
    attach(widget) {
      controls = widget;
      if (openWhenShown) widget.open();
    },
    // The widget is off on this page, for `reason`: an open() made before, or after, says so.
    off(reason) {
      off = reason;
      if (openWhenShown) warnOff();
      openWhenShown = false;
    },
  };
}
