// The page as the visitor sees it: rendered from the DOM (modern-screenshot), without the widget itself; or,
// when the project asks for it, a frame of the tab from the browser's screen-capture prompt.
import { domToCanvas } from "modern-screenshot";

const MAX_SCALE = 2;
const RENDER_TIMEOUT_MS = 15000;

// Where the window reaches past the rendered page (a page shorter than the window), the picture is white, as the
// visitor saw it, not transparent.
function crop(source, x, y, width, height) {
  const canvas = document.createElement("canvas");
  canvas.width = Math.max(1, Math.round(width));
  canvas.height = Math.max(1, Math.round(height));
  const context = canvas.getContext("2d");
  context.fillStyle = "#ffffff";
  context.fillRect(0, 0, canvas.width, canvas.height);
  context.drawImage(source, x, y, width, height, 0, 0, width, height);
  return canvas;
}

async function frameOfTab() {
  const stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false, preferCurrentTab: true });
  try {
    const video = document.createElement("video");
    video.srcObject = stream;
    video.muted = true;
    await video.play();
    return crop(video, 0, 0, video.videoWidth, video.videoHeight);
  } finally {
    stream.getTracks().forEach((track) => track.stop());
  }
}

function renderPage(method, isOwn) {
  const scale = Math.min(window.devicePixelRatio || 1, MAX_SCALE);
  const options = {
    scale,
    backgroundColor: "#ffffff",
    timeout: RENDER_TIMEOUT_MS,
    filter: (node) => !(node instanceof Element && isOwn(node)),
  };
  return domToCanvas(document.documentElement, options).then((page) => {
    if (method === "fullpage") return page;
    const { scrollX, scrollY, innerWidth, innerHeight } = window;
    return crop(page, scrollX * scale, scrollY * scale, innerWidth * scale, innerHeight * scale);
  });
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
