// Marks on the screenshot: freehand lines, boxes, arrows and highlights, each undoable. The marks are drawn
// into the image that is sent and also kept as shapes (coordinates from 0 to 1 of the image) in the
// report's `annotations`, so they can be shown, or redrawn, apart from the picture.
// A mark is drawn with a pointer, or from the keyboard: on the focused screenshot the arrow keys move a
// crosshair (Shift for longer steps), Enter or Space starts and ends a mark, Escape drops the one being drawn.
export const TOOLS = ["pen", "box", "arrow", "highlight"];
export const COLORS = ["#e11d48", "#f59e0b", "#2563eb", "#16a34a"];

const MIN_DRAG = 4;

function drawArrow(context, [from, to], width) {
  const angle = Math.atan2(to.y - from.y, to.x - from.x);
  const head = width * 5;
  context.beginPath();
  context.moveTo(from.x, from.y);
  context.lineTo(to.x, to.y);
  context.moveTo(to.x, to.y);
  context.lineTo(to.x - head * Math.cos(angle - Math.PI / 6), to.y - head * Math.sin(angle - Math.PI / 6));
  context.moveTo(to.x, to.y);
  context.lineTo(to.x - head * Math.cos(angle + Math.PI / 6), to.y - head * Math.sin(angle + Math.PI / 6));
  context.stroke();
}

function drawShape(context, shape, width) {
  const [from, to] = [shape.points[0], shape.points[shape.points.length - 1]];
  context.strokeStyle = shape.color;
  context.fillStyle = shape.color;
  context.lineWidth = width;
  context.lineCap = "round";
  context.lineJoin = "round";
  if (shape.tool === "pen") {
    context.beginPath();
    shape.points.forEach((point, index) => (index ? context.lineTo(point.x, point.y) : context.moveTo(point.x, point.y)));
    context.stroke();
  } else if (shape.tool === "box") {
    context.strokeRect(from.x, from.y, to.x - from.x, to.y - from.y);
  } else if (shape.tool === "highlight") {
    context.globalAlpha = 0.3;
    context.fillRect(from.x, from.y, to.x - from.x, to.y - from.y);
    context.globalAlpha = 1;
  } else if (shape.tool === "arrow") {
    drawArrow(context, [from, to], width);
  }
}

function isMark(shape) {
  const [from, to] = [shape.points[0], shape.points[shape.points.length - 1]];
  return shape.tool === "pen" ? shape.points.length > 1 : Math.hypot(to.x - from.x, to.y - from.y) >= MIN_DRAG;
}

// Keyboard steps, in hundredths of the image's longer side.
const STEP = 0.01;
const LONG_STEP = 0.1;
const ARROWS = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };

function drawCrosshair(context, point, color, width) {
  const arm = width * 6;
  for (const [stroke, lineWidth] of [["#ffffff", width + 4], [color, width]]) {
    context.strokeStyle = stroke;
    context.lineWidth = lineWidth;
    context.beginPath();
    context.moveTo(point.x - arm, point.y);
    context.lineTo(point.x + arm, point.y);
    context.moveTo(point.x, point.y - arm);
    context.lineTo(point.x, point.y + arm);
    context.stroke();
  }
}

// Only an `editable` screenshot takes marks (a project may turn annotation off). `announce(event, details)` tells
// a screen reader what the keyboard did: "started", "added" (with the marks' count and the tool), "cancelled",
// "counted" (after Undo or Clear). `marks` are those of a dialog closed before sending, drawn on this same image.
export function createAnnotator(canvas, image, { editable, announce, marks = [] }) {
  canvas.width = image.width;
  canvas.height = image.height;
  canvas.style.aspectRatio = `${image.width} / ${image.height}`; // kept when the dialog caps its height
  const context = canvas.getContext("2d");
  const lineWidth = Math.max(3, Math.round(image.width / 320));
  const step = Math.max(image.width, image.height) * STEP;
  const shapes = marks.map((shape) => ({ ...shape, points: [...shape.points] }));
  let drawing = null;
  let tool = TOOLS[0];
  let color = COLORS[0];
  let crosshair = null; // where the keyboard draws, shown while the screenshot has the focus
  let cursor = { x: image.width / 2, y: image.height / 2 };
  let frozen = false; // sent: the marks are the report's now
  let paused = false; // the screenshot is left out of the report: it takes no marks, and keeps those it has

  function redraw() {
    // Cleared first: wherever the picture is not opaque, the marks drawn before would otherwise stay.
    context.clearRect(0, 0, canvas.width, canvas.height);
    context.drawImage(image, 0, 0);
    for (const shape of drawing ? [...shapes, drawing] : shapes) drawShape(context, shape, lineWidth);
    if (crosshair) drawCrosshair(context, crosshair, color, Math.max(2, lineWidth / 2));
  }

  function pointAt(event) {
    const box = canvas.getBoundingClientRect();
    return {
      x: ((event.clientX - box.left) * canvas.width) / box.width,
      y: ((event.clientY - box.top) * canvas.height) / box.height,
    };
  }

  function extend(point) {
    if (drawing.tool === "pen") drawing.points.push(point);
    else drawing.points = [drawing.points[0], point];
  }

  function finish() {
    if (drawing && isMark(drawing)) shapes.push(drawing);
    drawing = null;
    redraw();
  }

  function cancel() {
    if (!drawing) return false;
    drawing = null;
    redraw();
    announce("cancelled");
    return true;
  }

  if (editable) {
    // Only the pointer that started a mark draws it: a second finger (a pinch) made one stroke zig-zag between the
    // two.
    let pointer = null;
    canvas.addEventListener("pointerdown", (event) => {
      if (pointer !== null || frozen || paused) return;
      pointer = event.pointerId;
      canvas.setPointerCapture(pointer);
      drawing = { tool, color, points: [pointAt(event)] };
    });
    canvas.addEventListener("pointermove", (event) => {
      if (!drawing || event.pointerId !== pointer) return;
      extend(pointAt(event));
      redraw();
    });
    const release = (event) => {
      if (event.pointerId !== pointer) return;
      pointer = null;
      if (drawing) cursor = pointAt(event); // the keyboard goes on from where the pointer left off
      finish();
    };
    canvas.addEventListener("pointerup", release);
    canvas.addEventListener("pointercancel", release);

    canvas.addEventListener("keydown", (event) => {
      if (frozen || paused) return;
      const arrow = ARROWS[event.key];
      if (arrow) {
        const distance = event.shiftKey ? step * (LONG_STEP / STEP) : step;
        cursor = {
          x: Math.min(canvas.width, Math.max(0, cursor.x + arrow[0] * distance)),
          y: Math.min(canvas.height, Math.max(0, cursor.y + arrow[1] * distance)),
        };
        if (drawing) extend(cursor);
      } else if (event.key === "Enter" || event.key === " ") {
        if (!drawing) {
          drawing = { tool, color, points: [cursor] };
          announce("started");
        } else if (isMark(drawing)) {
          const drawn = drawing.tool;
          finish();
          announce("added", { count: shapes.length, tool: drawn });
        } else {
          announce("started"); // nothing drawn yet: the mark stays open
        }
      } else {
        return;
      }
      event.preventDefault(); // no scrolling, no sending the form
      crosshair = cursor;
      redraw();
    });
    canvas.addEventListener("focus", () => {
      if (frozen || paused) return;
      crosshair = cursor;
      redraw();
    });
    canvas.addEventListener("blur", () => {
      crosshair = null;
      if (drawing) cancel();
      else redraw();
    });
  }
  redraw();

  const counted = () => announce("counted", { count: shapes.length });
  return {
    setTool: (name) => (tool = name),
    setColor: (value) => (color = value),
    cancel,
    // The marks as drawn, for a dialog opened again on the same image.
    marks: () => shapes.map((shape) => ({ ...shape, points: [...shape.points] })),
    // Paused while the screenshot is left out: no pointer, key or focus draws, and the marks stay as they are.
    pause(on) {
      paused = on;
      if (!editable || frozen) return;
      if (on) {
        cancel();
        crosshair = null;
        canvas.removeAttribute("tabindex");
        redraw();
      } else {
        canvas.setAttribute("tabindex", "0");
      }
    },
    freeze() {
      frozen = true;
      crosshair = null;
      canvas.removeAttribute("tabindex");
      redraw();
    },
    undo() {
      shapes.pop();
      redraw();
      counted();
    },
    clear() {
      shapes.length = 0;
      redraw();
      counted();
    },
    toBlob() {
      // The crosshair is the widget's, not the page's: it never goes out with the picture.
      const shown = crosshair;
      crosshair = null;
      redraw();
      // Not canvas.toBlob: Chromium encodes that in the page's idle time, and a page that draws no frames
      // (a background tab, a headless browser) waits up to ten seconds for its fallback. This is at once.
      const url = canvas.toDataURL("image/png");
      crosshair = shown;
      redraw();
      const bytes = Uint8Array.from(atob(url.slice(url.indexOf(",") + 1)), (char) => char.charCodeAt(0));
      return new Blob([bytes], { type: "image/png" });
    },
    annotations() {
      const scaled = (point) => ({ x: +(point.x / canvas.width).toFixed(4), y: +(point.y / canvas.height).toFixed(4) });
      return {
        version: 1,
        width: canvas.width,
        height: canvas.height,
        shapes: shapes.map((shape) => ({ tool: shape.tool, color: shape.color, points: shape.points.map(scaled) })),
      };
    },
  };
}
