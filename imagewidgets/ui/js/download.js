// FullImageButton: asks the kernel for the full image on click, then downloads it or shows
// it enlarged. The bytes arrive as a binary buffer, or a large file (a zip) as parts of
// bounded size, each confirmed so the kernel sends the next; they become one blob: URL,
// revoked once used.
import { lifecycle } from "./lifecycle.js";

function render({ model, el }) {
  const life = lifecycle();
  const button = document.createElement("button");
  button.className = "jupyter-button widget-button iw-full-image-button";
  let tries = 0, stopTrying = () => {};
  const applyAlt = () => {
    // The tile's picture is an ipywidgets Image, which has no alt trait: set it here.
    const alt = model.get("image_alt");
    if (!alt) return;
    const img = el.closest(".iw-tile")?.querySelector("img.iw-tile-image");
    if (img) img.alt = alt;
    else if (tries++ < 50) stopTrying = life.later(applyAlt, 100);  // not in the page yet
  };
  const sync = () => {
    button.textContent = model.get("label");
    button.title = model.get("tooltip_text");
    const name = model.get("aria_label");
    if (name) button.setAttribute("aria-label", name);
    else button.removeAttribute("aria-label");
    button.disabled = model.get("disabled");
    button.dataset.action = model.get("action");
    stopTrying();
    tries = 0;
    applyAlt();
  };
  sync();
  life.on(model, "change", sync);
  life.listen(button, "click", () => model.send({ event: "request" }));

  // What the kernel says it is doing ("zipping 3/40", "sending 12 of 80 MB"), beside the button.
  const progress = document.createElement("span");
  progress.className = "iw-download-progress";
  progress.setAttribute("aria-live", "polite");
  const showProgress = () => {
    progress.textContent = model.get("progress");
    progress.hidden = !progress.textContent;
  };
  showProgress();
  life.on(model, "change:progress", showProgress);

  let parts = [], partsOf = null;  // the parts of the file arriving, and its id
  life.add(() => { parts = []; });
  const bytesOf = (view) => new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  life.on(model, "msg:custom", (msg, buffers) => {
    if (!msg) return;
    if (msg.event === "abort") {
      if (msg.id === partsOf) { parts = []; partsOf = null; }
      return;
    }
    if (!buffers || !buffers.length) return;
    if (msg.event === "part") {
      if (msg.index === 0) { parts = []; partsOf = msg.id; }
      if (msg.id !== partsOf || msg.index !== parts.length) return;  // not the one being put together
      parts.push(bytesOf(buffers[0]));
      model.send({ event: "received", id: msg.id, index: msg.index });
      if (parts.length < msg.count) return;
      const whole = parts;
      parts = []; partsOf = null;
      deliver(whole, msg);
      return;
    }
    if (msg.event === "image") deliver([bytesOf(buffers[0])], msg);
  });

  const deliver = (pieces, msg) => {
    const url = URL.createObjectURL(new Blob(pieces, { type: msg.mime }));
    if (model.get("action") === "download") {
      const link = document.createElement("a");
      link.href = url;
      link.download = msg.filename;
      document.body.appendChild(link);
      link.click();
      link.remove();
      // The download reads the URL after the click returns: revoked a minute later, or
      // when the view goes.
      const revoke = life.add(() => URL.revokeObjectURL(url));
      life.later(revoke, 60000);
      return;
    }
    showOverlay(life, url, msg.filename, button);
  };
  el.appendChild(button);
  el.appendChild(progress);
  return life.cleanup;
}

// The full image over the page until a click or Escape; closed with the view too.
function showOverlay(life, url, title, opener) {
  const own = lifecycle();  // the overlay's listeners, undone when it closes
  const overlay = document.createElement("div");
  overlay.className = "iw-enlarged";
  overlay.tabIndex = 0;
  overlay.setAttribute("role", "dialog");
  overlay.setAttribute("aria-label", title);
  overlay.style.cssText =
    "position:fixed;inset:0;z-index:10000;background:rgba(0,0,0,.85);display:flex;" +
    "align-items:center;justify-content:center;cursor:zoom-out";
  const img = document.createElement("img");
  const revoke = own.add(() => URL.revokeObjectURL(url));  // drawn: the URL has done its work
  own.listen(img, "load", revoke);
  own.listen(img, "error", revoke);
  img.src = url;
  img.alt = title;
  img.style.cssText = "max-width:95vw;max-height:95vh;box-shadow:0 0 24px #000";
  overlay.appendChild(img);
  const close = life.add(() => {
    own.cleanup();
    overlay.remove();
    if (opener && opener.isConnected) opener.focus();  // back where the person was
  });
  own.listen(overlay, "click", close);
  own.listen(overlay, "keydown", (e) => {
    if (e.key !== "Escape") return;
    e.preventDefault();
    e.stopPropagation();  // JupyterLab's own Escape handling would move focus elsewhere
    close();
  });
  document.body.appendChild(overlay);
  overlay.focus();
}

export default { render };
