// Lantern's admin UI works without this script; it only saves clicks.
// - A select marked data-autosubmit submits its form when changed (the switchers).
// - A board card dropped on another column submits its own move form with that column's status.
"use strict";

document.addEventListener("change", (event) => {
  const select = event.target;
  if (select instanceof HTMLSelectElement && select.hasAttribute("data-autosubmit")) {
    select.form.requestSubmit();
  }
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
