// Marks on the screenshot: freehand lines, boxes, arrows and highlights, each undoable. The marks are drawn
// into the image that is sent and also kept as shapes (coordinates from 0 to 1 of the image) in the
// report's `annotations`, so they can be shown, or redrawn, apart from the picture.
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

export function createAnnotator(canvas, image) {
  canvas.width = image.width;
  canvas.height = image.height;
  canvas.style.aspectRatio = `${image.width} / ${image.height}`; // kept when the dialog caps its height
  const context = canvas.getContext("2d");
  const lineWidth = Math.max(3, Math.round(image.width / 320));
  const shapes = [];
  let drawing = null;
  let tool = TOOLS[0];
  let color = COLORS[0];

  function redraw() {
    // Cleared first: wherever the picture is not opaque, the marks drawn before would otherwise stay.
    context.clearRect(0, 0, canvas.width, canvas.height);
    context.drawImage(image, 0, 0);
    for (const shape of drawing ? [...shapes, drawing] : shapes) drawShape(context, shape, lineWidth);
  }

  function pointAt(event) {
    const box = canvas.getBoundingClientRect();
    return {
      x: ((event.clientX - box.left) * canvas.width) / box.width,
      y: ((event.clientY - box.top) * canvas.height) / box.height,
    };
  }

  canvas.addEventListener("pointerdown", (event) => {
    canvas.setPointerCapture(event.pointerId);
    drawing = { tool, color, points: [pointAt(event)] };
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!drawing) return;
    const point = pointAt(event);
    if (drawing.tool === "pen") drawing.points.push(point);
    else drawing.points = [drawing.points[0], point];
    redraw();
  });
  const finish = () => {
    if (drawing && isMark(drawing)) shapes.push(drawing);
    drawing = null;
    redraw();
  };
  canvas.addEventListener("pointerup", finish);
  canvas.addEventListener("pointercancel", finish);
  redraw();

  return {
    setTool: (name) => (tool = name),
    setColor: (value) => (color = value),
    undo() {
      shapes.pop();
      redraw();
    },
    clear() {
      shapes.length = 0;
      redraw();
    },
    toBlob: () => new Promise((resolve) => canvas.toBlob(resolve, "image/png")),
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
