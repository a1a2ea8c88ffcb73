// Lantern's admin UI works without this script; it only saves clicks.
// - A select marked data-autosubmit submits its form when changed with the mouse (the switchers); changed with
//   the keyboard, whose arrows step through every choice on the way, it waits for Enter or its button.
// - A board card dropped on another column submits its own move form with that column's status.
// - A board wider than the window fades at each edge that has columns past it (a scrollbar is easy to miss).
// - A refused form, shown again, is at the address of the page it was on (see base.html), not the post's.
// - A comment being written is kept in this browser until it is sent: a session that ended meanwhile sends its
//   author to the login first, and what they typed came back with them as an empty box. So are the triage
//   form's changes once sent, until the page says they were saved.
// - What the worker is still doing (a tracking ID, a screenshot, a file, a GitHub issue, an export) is shown done when
//   it is, and how far it is meanwhile where the page says (an export's progress).
// - A list's box in its heading selects every row of the page (hidden without this script).
// - A form is sent once per click, not twice on a double click (see the end).
// - A new organization's time zone is the browser's (the sign-up form's hidden field); without this script, UTC.
"use strict";

if (document.body.dataset.formPage) history.replaceState(null, "", document.body.dataset.formPage);

for (const zone of document.querySelectorAll("input[data-browser-timezone]")) {
  zone.value = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
}

const autosubmits = (node) => node instanceof HTMLSelectElement && node.hasAttribute("data-autosubmit");
const steppedByKeys = new WeakSet();

document.addEventListener("keydown", (event) => {
  if (!autosubmits(event.target)) return;
  if (event.key === "Enter") {
    event.preventDefault();
    event.target.form.requestSubmit();
  } else {
    steppedByKeys.add(event.target);
  }
});

document.addEventListener("pointerdown", (event) => {
  if (autosubmits(event.target)) steppedByKeys.delete(event.target);
});

document.addEventListener("change", (event) => {
  if (autosubmits(event.target) && !steppedByKeys.has(event.target)) event.target.form.requestSubmit();
});

let dragged = null;

document.addEventListener("dragstart", (event) => {
  dragged = event.target instanceof Element ? event.target.closest(".board .card") : null;
  if (!dragged) return;
  // Some browsers start no drag without data; the card's link is what it carries.
  event.dataTransfer.setData("text/uri-list", dragged.querySelector("a").href);
  event.dataTransfer.effectAllowed = "move";
});

document.addEventListener("dragover", (event) => {
  const column = event.target instanceof Element ? event.target.closest(".board .column") : null;
  if (!dragged || !column) return;
  event.preventDefault();
  column.classList.add("drop-target");
});

document.addEventListener("dragleave", (event) => {
  const column = event.target instanceof Element ? event.target.closest(".board .column") : null;
  if (column && !column.contains(event.relatedTarget)) column.classList.remove("drop-target");
});

document.addEventListener("drop", (event) => {
  const column = event.target instanceof Element ? event.target.closest(".board .column") : null;
  if (!dragged || !column) return;
  event.preventDefault();
  column.classList.remove("drop-target");
  const form = dragged.querySelector("form.move");
  if (form && form.elements.status.value !== column.dataset.status) {
    form.elements.status.value = column.dataset.status;
    form.requestSubmit();
  }
  dragged = null;
});

// A key shown once is selected whole when focused, ready to copy.
document.addEventListener("focusin", (event) => {
  const field = event.target;
  if (field instanceof HTMLInputElement && field.hasAttribute("data-select-on-focus")) field.select();
});

// The board's columns and a table's (a phone shows a few of them) past an edge of their box: ui.css fades it.
const markHiddenColumns = (box) => {
  const hidden = box.scrollWidth - box.clientWidth;
  box.classList.toggle("more-before", box.scrollLeft > 1);
  box.classList.toggle("more-after", box.scrollLeft < hidden - 1);
};
const scrollers = document.querySelectorAll(".board, .scroll");
for (const box of scrollers) {
  markHiddenColumns(box);
  box.addEventListener("scroll", () => markHiddenColumns(box), { passive: true });
}
window.addEventListener("resize", () => scrollers.forEach(markHiddenColumns));

// Storage can be refused (a browser's setting): the box then works as it would without this script.
const drafts = (() => {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
})();

// A draft is the box's text and the boxes ticked in its form: an internal note must come back internal.
const readDraft = (key) => {
  try {
    return JSON.parse(drafts.getItem(key));
  } catch {
    return null;
  }
};

for (const box of drafts ? document.querySelectorAll("textarea[data-draft]") : []) {
  const key = `lantern.draft.${box.dataset.draft}`;
  const ticks = () => Array.from(box.form.querySelectorAll("input[type=checkbox][name]"));
  const draft = readDraft(key);
  if (box.hasAttribute("data-draft-sent")) {
    drafts.removeItem(key);
    // A reload of this address must not throw away a draft begun after the comment was sent.
    const address = new URL(location.href);
    address.searchParams.delete("comment");
    history.replaceState(null, "", address);
  } else if (!box.value && typeof draft?.text === "string") {
    box.value = draft.text;
    for (const tick of ticks()) tick.checked = (draft.ticked ?? []).includes(tick.name);
    document.getElementById(`${box.id}-draft-restored`)?.removeAttribute("hidden");
    box.focus();
  }
  const keep = () => {
    const ticked = ticks().filter((tick) => tick.checked).map((tick) => tick.name);
    if (box.value.trim()) drafts.setItem(key, JSON.stringify({ text: box.value, ticked }));
    else drafts.removeItem(key);
  };
  box.form.addEventListener("input", keep);
  box.form.addEventListener("change", keep);
}

// The triage form's changes, kept when sent (the fields not left as the form showed them, with what it showed)
// for an hour at most, until the page says they were saved; chosen again on the form the login led back to. The
// form then says it showed what it showed before the login: a colleague's change meanwhile is kept, and named,
// as it would have been (the current values there made the save replace it without a word).
const UNSENT_FOR_MS = 60 * 60 * 1000;

for (const form of drafts ? document.querySelectorAll("form[data-unsent]") : []) {
  const key = `lantern.unsent.${form.dataset.unsent}`;
  const unsent = readDraft(key);
  if (form.hasAttribute("data-unsent-saved")) {
    drafts.removeItem(key);
  } else if (unsent && Date.now() - unsent.at < UNSENT_FOR_MS) {
    for (const [name, value] of Object.entries({ ...unsent.shown, ...unsent.fields })) {
      const field = form.elements.namedItem(name);
      if (field) field.value = value;
    }
    document.getElementById("triage-unsent")?.removeAttribute("hidden");
  }
  form.addEventListener("submit", () => {
    const fields = {};
    const shown = {};
    for (const field of form.elements) {
      const before = form.elements.namedItem(`shown_${field.name}`);
      if (before && field.value !== before.value) {
        fields[field.name] = field.value;
        shown[before.name] = before.value;
      }
    }
    drafts.setItem(key, JSON.stringify({ at: Date.now(), fields, shown }));
  });
}

// An element marked data-pending is filled in from the page asked for again, a little less often each time and
// for two minutes at most (a job that takes longer is shown done at the next visit); one marked data-progress, how
// far its work is, each time.
const PENDING = "[data-pending][id]";
const PROGRESS = "[data-progress][id]";
const PENDING_FOR_MS = 120_000;
const pendingSince = Date.now();
let pendingWait = 1000;

const showWhatIsDone = async () => {
  const answer = await fetch(location.href, { headers: { accept: "text/html" } }).catch(() => null);
  if (answer?.ok) {
    const fresh = new DOMParser().parseFromString(await answer.text(), "text/html");
    for (const element of document.querySelectorAll(PROGRESS)) {
      const now = fresh.getElementById(element.id);
      if (now) element.replaceChildren(...Array.from(now.childNodes, (node) => document.importNode(node, true)));
    }
    for (const element of document.querySelectorAll(PENDING)) {
      const done = fresh.getElementById(element.id);
      if (!done || done.hasAttribute("data-pending")) continue;
      // Its content, not the element: a live region must stay the same node for its change to be read out.
      element.replaceChildren(...Array.from(done.childNodes, (node) => document.importNode(node, true)));
      element.removeAttribute("data-pending");
    }
  }
  pendingWait = Math.min(pendingWait * 1.5, 10_000);
  if (document.querySelector(PENDING) && Date.now() - pendingSince < PENDING_FOR_MS) {
    setTimeout(showWhatIsDone, pendingWait);
  }
};
if (document.querySelector(PENDING)) setTimeout(showWhatIsDone, pendingWait);

const plural = new Intl.PluralRules(document.documentElement.lang);

for (const all of document.querySelectorAll("input[data-select-all]")) {
  const name = all.dataset.selectAll;
  const rows = () => Array.from(document.querySelectorAll(`input[type=checkbox][name="${name}"]`));
  const count = document.querySelector(`[data-ticked-count="${name}"]`);
  const tell = () => {
    const ticked = rows().filter((row) => row.checked).length;
    all.checked = ticked === rows().length;
    all.indeterminate = ticked > 0 && ticked < rows().length;
    if (count) {
      const form = plural.select(ticked) === "one" ? count.dataset.one : count.dataset.other;
      count.textContent = ticked ? form.replace("{n}", ticked.toLocaleString(document.documentElement.lang)) : "";
    }
  };
  all.hidden = false;
  all.addEventListener("change", () => {
    for (const row of rows()) row.checked = all.checked;
    tell();
  });
  document.addEventListener("change", (event) => {
    if (rows().includes(event.target)) tell();
  });
}

// A double click sent a form twice: the second was refused ("another project already uses this tracking
// prefix") while the first was done, or did it twice. A form sent waits for its answer; after a while with none
// (a connection lost), it may be sent again. Listened to last: a send another handler stopped does not count.
const SEND_AGAIN_AFTER_MS = 10_000;
let sentAt = new WeakMap();

document.addEventListener("submit", (event) => {
  if (event.defaultPrevented) return;
  const since = sentAt.get(event.target);
  if (since !== undefined && performance.now() - since < SEND_AGAIN_AFTER_MS) {
    event.preventDefault();
    return;
  }
  sentAt.set(event.target, performance.now());
});

// A page the browser shows again from its cache (Back) sends its forms anew.
window.addEventListener("pageshow", (event) => {
  if (event.persisted) sentAt = new WeakMap();
});
