// The browser's side of imagewidgets/ui/delivery.py, shared by download.js and tile.js: a file
// arrives as one binary buffer, or as parts of bounded size, each confirmed so the kernel sends
// the next; the parts become one Blob. Then it is saved (a link with download set) or shown
// enlarged; its blob: URL is revoked once used, or when the view goes.
import { lifecycle } from "./lifecycle.js";

// Listen for files on model; onFile(pieces, msg) gets each whole one.
export function receive(life, model, onFile) {
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
      onFile(whole, msg);
      return;
    }
    if (msg.event === "image") onFile([bytesOf(buffers[0])], msg);
  });
}

// Save (action "download") or show enlarged ("enlarge") a file received; focus goes back to opener.
export function use(life, pieces, msg, action, opener) {
  const url = URL.createObjectURL(new Blob(pieces, { type: msg.mime }));
  if (action === "download") {
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
  showOverlay(life, url, msg.filename, opener);
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
