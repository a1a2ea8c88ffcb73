// The widget lives in a shadow root, under a host whose properties are reset inline (widgetHost, in widget.js): the
// page's CSS cannot reach it and its CSS cannot reach the page. It stacks at the highest z-index there is, and
// coming after the body, above a page's own elements at that height.
import { legible, textFor, textOn } from "./contrast.js";

export function stylesFor(config, dark) {
  const pick = (light, darkValue) => (dark ? darkValue : light);
  const c = config;
  const launcherText = textOn(pick(c.lightButtonColor, c.darkButtonColor), pick(c.lightTextColor, c.darkTextColor));
  const launcherHoverText = textOn(
    pick(c.lightButtonHoverColor, c.darkButtonHoverColor),
    pick(c.lightTextHoverColor, c.darkTextHoverColor),
  );
  // Focus rings and the chosen tool are drawn in the site's colour, moved away from the dialog's background until
  // they show: a light brand colour (yellow) drew rings no one could see on white.
  const ring = legible(c.primaryColor, pick("#ffffff", "#1f2937"));
  const refused = pick("#b91c1c", "#fca5a5");
  return `
* { box-sizing: border-box; font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif; }
.launcher {
  position: fixed; z-index: 2147483647; display: inline-flex; align-items: center; gap: 8px;
  padding: 10px 16px; border: 0; cursor: pointer; font-size: 14px; font-weight: 600; line-height: 1;
  box-shadow: 0 4px 14px rgba(0,0,0,.18); transition: transform .12s ease, background-color .12s ease;
  background: ${legible(pick(c.lightButtonColor, c.darkButtonColor), launcherText)}; color: ${launcherText};
}
.launcher:hover, .launcher:focus-visible {
  background: ${legible(pick(c.lightButtonHoverColor, c.darkButtonHoverColor), launcherHoverText)};
  color: ${launcherHoverText};
  ${c.enableHoverScaleEffect ? "transform: scale(1.05);" : ""}
}
.launcher[hidden] { display: none; }
.launcher:focus-visible { outline: 3px solid ${ring}; outline-offset: 2px; }
.bottom-right { right: 20px; bottom: 20px; } .bottom-left { left: 20px; bottom: 20px; }
.top-right { right: 20px; top: 20px; } .top-left { left: 20px; top: 20px; }
.rectangle { border-radius: 6px; } .rounded { border-radius: 999px; }
.circle { border-radius: 50%; width: 52px; height: 52px; padding: 0; justify-content: center; }
.toast {
  position: fixed; z-index: 2147483647; left: 50%; bottom: 24px; transform: translateX(-50%); padding: 10px 16px;
  border-radius: 6px; background: #111827; color: #f9fafb; font-size: 14px; box-shadow: 0 4px 14px rgba(0,0,0,.25);
}
.backdrop {
  position: fixed; inset: 0; z-index: 2147483647; display: flex; align-items: center; justify-content: center;
  background: rgba(15, 23, 42, .55); padding: 16px;
  /* A swipe on the backdrop, or past the dialog's end, scrolled the page behind the modal dialog. */
  overscroll-behavior: contain; touch-action: none;
}
.dialog {
  width: min(960px, 100%); max-height: calc(100vh - 32px); overflow: auto; overscroll-behavior: contain;
  touch-action: pan-x pan-y pinch-zoom; border-radius: 10px;
  background: ${pick("#ffffff", "#1f2937")}; color: ${pick("#111827", "#f3f4f6")}; box-shadow: 0 20px 50px rgba(0,0,0,.3);
}
/* Focused on a phone as where a screen reader starts (focusOnOpen), not as a control to show a ring around. */
.dialog:focus { outline: none; }
header { display: flex; align-items: center; justify-content: space-between; padding: 14px 18px;
  border-bottom: 1px solid ${pick("#e5e7eb", "#374151")}; }
h2 { margin: 0; font-size: 17px; }
.content { display: grid; gap: 18px; padding: 18px; grid-template-columns: minmax(0, 3fr) minmax(260px, 2fr); }
.content.no-shot { grid-template-columns: minmax(0, 1fr); }
@media (max-width: 720px) {
  /* minmax(0, …), not 1fr: a column of 1fr is as wide as its widest part will go (a file input, a long word), and
     on a phone that was wider than the dialog, which cut the form off on the right. */
  .content { grid-template-columns: minmax(0, 1fr); }
  /* A phone's tall screenshot would push the title below the fold: it keeps its shape at half the screen, less in
     a short window, where focusing the title scrolled the heading, the close button and the tools out of view. */
  .shot canvas { width: auto; height: auto; max-width: 100%; max-height: max(120px, min(55vh, 100vh - 380px));
    margin: 0 auto; }
}
/* A short window wide enough for two (the widget in a 600 x 400 frame, a phone held sideways) keeps them: in one,
   the title was below the screenshot, and focusing it scrolled the dialog's top out of view. */
@media (min-width: 560px) and (max-height: 560px) {
  .content { grid-template-columns: minmax(0, 3fr) minmax(240px, 2fr); }
  .shot canvas { width: 100%; max-height: none; }
}
.toolbar { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; margin-bottom: 8px; }
.tool, .swatch, .icon-button {
  display: inline-flex; align-items: center; justify-content: center; min-width: 32px; height: 32px; padding: 0 8px;
  border-radius: 6px; border: 1px solid transparent; cursor: pointer;
  background: ${pick(c.dialogLightButtonColor, c.dialogDarkButtonColor)};
  color: ${pick(c.dialogLightTextColor, c.dialogDarkTextColor)};
}
.tool:hover, .icon-button:hover {
  background: ${pick(c.dialogLightButtonHoverColor, c.dialogDarkButtonHoverColor)};
  color: ${pick(c.dialogLightTextHoverColor, c.dialogDarkTextHoverColor)};
}
.tool[aria-pressed="true"], .swatch[aria-pressed="true"] { border-color: ${ring};
  box-shadow: 0 0 0 2px ${ring} inset; }
.swatch { min-width: 24px; width: 24px; height: 24px; padding: 0; border-radius: 50%; }
canvas { display: block; width: 100%; height: auto; border-radius: 6px; cursor: crosshair; touch-action: none;
  border: 1px solid ${pick("#e5e7eb", "#374151")}; }
canvas:focus-visible { outline: 3px solid ${ring}; outline-offset: 2px; }
/* The screenshot left out of the report (showIncluded): dimmed, and no crosshair cursor; its note shows. */
.left-out canvas { opacity: .35; filter: grayscale(1); cursor: default; }
.left-out-note:empty { display: none; }
/* A picture of the whole page, scrolled within the dialog (pageScroller). */
.scroller { max-height: 70vh; overflow: auto; overscroll-behavior: contain; border-radius: 6px; }
.spoken { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.hint { margin: 6px 0 0; font-size: 12px; color: ${pick("#6b7280", "#9ca3af")}; }
/* The description's note sits under it, closer than the form's gap; empty, it takes no room. */
.cut { margin: -8px 0 0; } .cut:empty { display: none; }
form { display: flex; flex-direction: column; gap: 12px; }
label { position: relative; display: flex; flex-direction: column; gap: 4px; font-size: 13px; font-weight: 600; }
label.check { flex-direction: row; align-items: center; font-weight: 400; margin-top: 6px; }
input, textarea, select { font: inherit; font-size: 14px; font-weight: 400; padding: 8px 10px; border-radius: 6px;
  /* At least 3:1 against the field's background: the border is what shows where to type. */
  border: 1px solid ${pick("#6b7280", "#9ca3af")}; background: ${pick("#ffffff", "#111827")}; color: inherit; }
/* 20 px, not the browser's 13: a target a finger hits on a phone (the label around it takes a tap too). */
input[type="checkbox"] { padding: 0; width: 20px; height: 20px; margin: 0 8px 0 0; flex: none; }
.file { position: absolute; width: 1px; height: 1px; padding: 0; border: 0; overflow: hidden; clip: rect(0 0 0 0);
  white-space: nowrap; }
.choose { display: flex; align-items: center; gap: 10px; font-weight: 400; cursor: pointer; }
.choose .secondary { flex: none; padding: 7px 14px; font-size: 13px; }
.chosen { overflow-wrap: anywhere; }
/* The chooser shows the hidden input's refusal (its focus ring, drawn after, wins while it has the focus). */
.file[aria-invalid="true"] + .choose .secondary { outline: 2px solid ${refused}; outline-offset: 2px; }
.file:focus-visible + .choose .secondary { outline: 2px solid ${ring}; outline-offset: 2px; }
.file:disabled + .choose { opacity: .6; cursor: default; }
.tool:disabled, .swatch:disabled, .icon-button:disabled { opacity: .5; cursor: default; }
textarea { min-height: 110px; resize: vertical; }
input:focus, textarea:focus, select:focus { outline: 2px solid ${ring}; outline-offset: 0; }
[aria-invalid="true"] { border-color: ${refused}; }
/* A field's refusal sits under it (showFieldError), closer than the form's gap, as the description's note does. */
.field-error { margin: -8px 0 0; font-size: 13px; }
.status { min-height: 1.2em; margin: 0; font-size: 13px; }
.status.error, .field-error { color: ${refused}; } .status.done { color: ${pick("#15803d", "#86efac")}; }
.status ul { margin: 4px 0 0; padding-left: 18px; }
footer { display: flex; justify-content: flex-end; gap: 8px; }
.primary, .secondary { padding: 9px 16px; border-radius: 6px; border: 0; font-size: 14px; font-weight: 600; cursor: pointer; }
.primary { background: ${legible(c.primaryColor, textFor(c.primaryColor))}; color: ${textFor(c.primaryColor)}; }
.primary[aria-disabled] { opacity: .6; cursor: progress; }
@media (prefers-reduced-motion: reduce) { * { transition: none !important; } }
.secondary { background: ${pick(c.dialogLightButtonColor, c.dialogDarkButtonColor)};
  color: ${pick(c.dialogLightTextColor, c.dialogDarkTextColor)}; }
`;
}
