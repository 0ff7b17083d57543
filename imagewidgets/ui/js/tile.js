// ImageTile: one image's tile as one view. The placeholder box of the asked aspect, then each
// partial and the final thumbnail (bytes sent by the kernel as a binary buffer, shown through
// a blob: URL revoked when replaced or when the view goes), status, label, caption (HTML the
// kernel escaped), and the actions as real buttons named after the image. An action is a
// message to the kernel; Download and Enlarge get the full image back (delivery.js).
import { lifecycle } from "./lifecycle.js";
import { receive, use } from "./delivery.js";

const ACTIONS = [  // [action, text, class of the button, class of a span around it]
  ["download", "Download", "", "iw-download"],
  ["enlarge", "Enlarge", "", "iw-enlarge"],
  ["reuse", "Use settings", "iw-reuse", ""],
  ["edit", "Edit", "iw-edit", ""],
  ["retry_save", "Retry save", "iw-retry-save", ""],
];
const NAMES = {
  download: "Download", enlarge: "Enlarge", reuse: "Use the settings of", edit: "Edit",
  retry_save: "Retry saving",
};

function part(parent, tag, className) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  parent.appendChild(node);
  return node;
}

function render({ model, el }) {
  const life = lifecycle();
  // Set by an update right after the model opened (ui/shared.py): false, anywidget dropped
  // every update (it gave up loading this model's code); the kernel opens the tile again as
  // a new model, and this view shows stale state until that one is drawn.
  if (model.get("_live") === false) {
    el.classList.add("iw-lost");
    model.send({ event: "lost" });
  }
  // ipywidgets' view binds a msg:custom listener of its own to the model and never removes it,
  // and a closed comm stays referenced by the kernel connection: the model keeps every view it
  // ever had, and a view keeps its el. Emptied last at cleanup, a gone view holds one node.
  life.add(() => el.replaceChildren());
  const box = part(el, "div", "iw-tile-box");
  const label = part(box, "div", "iw-tile-label");
  const statusLine = part(box, "div", "iw-tile-status");
  // Until its first picture arrives, a box of the asked aspect, named as the picture will be.
  const blank = part(box, "div", "iw-tile-placeholder");
  blank.setAttribute("role", "img");
  const img = part(box, "img", "iw-tile-image");
  img.hidden = true;
  img.loading = "lazy";
  img.decoding = "async";
  const caption = part(box, "div", "iw-tile-caption");
  const saveNote = part(box, "div", "iw-save-note");
  const actions = part(box, "div", "iw-tile-actions");
  const buttons = {};
  for (const [action, text, buttonClass, wrapClass] of ACTIONS) {
    const holder = wrapClass ? part(actions, "span", wrapClass) : actions;
    const button = part(holder, "button", "jupyter-button widget-button " + buttonClass);
    button.type = "button";
    button.textContent = text;
    button.dataset.action = action;
    life.listen(button, "click", () => model.send({ event: "action", action }));
    buttons[action] = button;
  }
  const progress = part(actions, "span", "iw-download-progress");
  progress.setAttribute("aria-live", "polite");
  const reuseNote = part(actions, "span", "iw-reuse-note");

  const size = () => {
    const width = model.get("box_width"), height = model.get("box_height");
    const done = model.get("status") === "done";
    img.width = width;
    img.style.width = blank.style.width = width + "px";
    img.style.height = done ? "auto" : height + "px";
    blank.style.height = height + "px";
    el.style.width = model.get("tile_width") + "px";
    el.style.containIntrinsicSize = `auto ${model.get("tile_width")}px auto ${height + 120}px`;
  };
  const sync = () => {
    // The status as a class of the tile, set here: anywidget's view drops the listener that
    // would apply later changes of _dom_classes.
    const status = "iw-status-" + model.get("status");
    for (const name of [...el.classList]) {
      if (name.startsWith("iw-status-") && name !== status) el.classList.remove(name);
    }
    el.classList.add("iw-tile", status);
    label.textContent = model.get("label");
    label.hidden = !label.textContent;
    statusLine.textContent = model.get("status_text");
    caption.innerHTML = model.get("caption");  // escaped by the kernel (ui/captions.py)
    saveNote.innerHTML = model.get("save_note");  // escaped by the kernel (ui/saving.py)
    saveNote.hidden = !saveNote.innerHTML;
    reuseNote.innerHTML = model.get("reuse_note");  // escaped by the kernel (ui/tile.py)
    img.alt = model.get("alt");
    blank.setAttribute("aria-label", img.alt);
    const done = model.get("status") === "done";
    actions.hidden = !done;
    const subject = model.get("subject");
    for (const [action, button] of Object.entries(buttons)) {
      button.setAttribute("aria-label", `${NAMES[action]} ${subject}`);
      button.disabled = !done;
    }
    buttons.reuse.title = `Use the settings of ${subject}: load them into the controls`;
    buttons.download.title = "Save the full image";
    buttons.enlarge.title = "Show the full image";
    buttons.reuse.hidden = !model.get("can_reuse");
    buttons.edit.hidden = !model.get("can_edit");
    buttons.retry_save.hidden = !model.get("save_failed");
    progress.textContent = model.get("progress");
    progress.hidden = !progress.textContent;
    size();
  };
  sync();
  life.on(model, "change", sync);

  let shown = null;  // the blob: URL of the picture shown
  const forget = () => { if (shown) URL.revokeObjectURL(shown); shown = null; };
  life.add(forget);
  life.on(model, "msg:custom", (msg, buffers) => {
    if (!msg || msg.event !== "thumbnail" || !buffers || !buffers.length) return;
    const view = buffers[0];
    const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
    const url = URL.createObjectURL(new Blob([bytes], { type: "image/" + msg.format }));
    img.src = url;  // drawn from the new URL: the old one has done its work
    img.hidden = false;
    blank.hidden = true;
    forget();
    shown = url;
  });
  receive(life, model, (pieces, msg) => use(life, pieces, msg, msg.action, buttons[msg.action]));
  model.send({ event: "ready" });  // the kernel answers with the picture to show, if any
  return life.cleanup;
}

export default { render };
