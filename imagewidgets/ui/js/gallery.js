// GalleryGrid: every image of the gallery shown, with its caption, checkbox and buttons. The
// kernel sends the items a page at a time, then their thumbnails as binary buffers, shown from
// blob: URLs revoked when their item goes. Every string is set as text, never as HTML. One click
// and one change listener for the whole grid; a click goes back to the kernel as a message.
import { lifecycle } from "./lifecycle.js";

const BUTTONS = [
  ["open", "Open", (name) => `Show ${name} full size`],
  ["download", "Download", (name) => `Save ${name}`],
  ["use", "Use settings", () => "Load this image's settings into the panel"],
  ["delete", "Delete", (name) => `Delete ${name} and its settings`],
];

function button(action, text, title) {
  const made = document.createElement("button");
  made.type = "button";
  made.className = `jupyter-button widget-button iw-gallery-${action}`;
  made.dataset.action = action;
  made.textContent = text;
  if (title) made.title = title;
  return made;
}

// The picture of an item: its thumbnail once arrived (from a blob: URL), else a box of the
// same size, named as the image would be, saying it is loading or cannot be shown.
function picture(item, side, url, unreadable) {
  if (url) {
    const img = document.createElement("img");
    img.className = "iw-gallery-image";
    img.alt = item.alt;
    img.decoding = "async";
    img.style.width = img.style.height = side;
    img.src = url;
    return img;
  }
  const box = document.createElement("div");
  box.className = unreadable ? "iw-gallery-unreadable" : "iw-gallery-loading";
  box.setAttribute("role", "img");
  box.setAttribute("aria-label", item.alt);
  box.textContent = unreadable ? "unreadable image" : "loading…";
  box.style.width = box.style.height = side;
  return box;
}

function build(item, side) {
  const node = document.createElement("div");
  node.className = "iw-gallery-item";
  node.setAttribute("role", "listitem");
  node.dataset.name = item.name;
  const shown = picture(item, side, null, false);
  const caption = document.createElement("div");
  caption.className = "iw-gallery-caption";
  caption.textContent = item.caption;
  caption.style.width = side;
  const actions = document.createElement("div");
  actions.className = "iw-gallery-actions";
  actions.style.width = side;
  const select = document.createElement("label");
  select.className = "iw-gallery-select";
  const checkbox = document.createElement("input");
  checkbox.type = "checkbox";
  checkbox.setAttribute("aria-label", `Select ${item.name}`);
  checkbox.title = `Select ${item.name}`;
  select.appendChild(checkbox);
  actions.appendChild(select);
  const buttons = {};
  for (const [action, text, title] of BUTTONS) {
    buttons[action] = button(action, text, title(item.name));
    buttons[action].setAttribute("aria-label", `${text} ${item.name}`);
    actions.appendChild(buttons[action]);
  }
  // Delete asks again; only the confirming Delete reaches the kernel.
  const confirm = document.createElement("div");
  confirm.className = "iw-gallery-ask";
  confirm.hidden = true;
  const question = document.createElement("span");
  question.textContent = `Delete ${item.name}?`;
  const yes = button("confirm", "Delete", "");
  yes.classList.add("mod-danger");
  confirm.append(question, yes, button("keep", "Keep", ""));
  node.append(shown, caption, actions, confirm);
  return { item, node, picture: shown, checkbox, use: buttons.use };
}

function render({ model, el }) {
  const life = lifecycle();
  const grid = document.createElement("div");
  grid.className = "iw-gallery-grid";
  grid.setAttribute("role", "list");
  let drawn = [];  // what build made, in order
  const urls = new Map();  // item key -> the blob: URL of its thumbnail
  const broken = new Set();  // item keys whose image cannot be shown
  const revoke = (keys) => {
    for (const key of keys) {
      URL.revokeObjectURL(urls.get(key));
      urls.delete(key);
      broken.delete(key);
    }
  };
  life.add(() => revoke([...urls.keys()]));
  const side = () => `${model.get("side")}px`;
  const paint = (made) => {
    const now = picture(made.item, side(), urls.get(made.item.key), broken.has(made.item.key));
    made.picture.replaceWith(now);
    made.picture = now;
  };
  const tick = () => {
    const chosen = new Set(model.get("selected"));
    for (const made of drawn) {
      made.checkbox.checked = chosen.has(made.item.name);
      made.use.hidden = !model.get("can_use");
    }
  };

  // From the kernel: items from a position on (those before stay), their thumbnails, the
  // ones that cannot be shown. An item leaving takes its thumbnail's URL with it.
  life.on(model, "msg:custom", (msg, buffers) => {
    if (!msg) return;
    if (msg.event === "items") {
      const gone = drawn.splice(msg.start);
      const added = msg.items.map((item) => build(item, side()));
      const kept = new Set(added.map((made) => made.item.key));
      revoke(gone.map((made) => made.item.key).filter((key) => !kept.has(key) && urls.has(key)));
      for (const made of gone) made.node.remove();
      drawn = drawn.concat(added);
      for (const made of added) {
        if (urls.has(made.item.key) || broken.has(made.item.key)) paint(made);
        grid.appendChild(made.node);
      }
      tick();
    } else if (msg.event === "thumbnails") {
      msg.keys.forEach((key, index) => {
        if (urls.has(key)) URL.revokeObjectURL(urls.get(key));
        urls.set(key, URL.createObjectURL(new Blob([buffers[index]], { type: `image/${msg.formats[index]}` })));
      });
      const arrived = new Set(msg.keys);
      for (const made of drawn) if (arrived.has(made.item.key)) paint(made);
    } else if (msg.event === "unreadable") {
      for (const key of msg.keys) broken.add(key);
      const named = new Set(msg.keys);
      for (const made of drawn) if (named.has(made.item.key)) paint(made);
    }
  });
  life.on(model, "change:selected", tick);
  life.on(model, "change:can_use", tick);

  const itemOf = (target) => target.closest(".iw-gallery-item");
  life.listen(grid, "click", (event) => {
    const clicked = event.target.closest("button[data-action]");
    const node = clicked && itemOf(clicked);
    if (!node) return;
    const action = clicked.dataset.action;
    const confirm = node.querySelector(".iw-gallery-ask");
    if (action === "delete") {
      confirm.hidden = false;
      confirm.querySelector(".iw-gallery-keep").focus();
    } else if (action === "keep") {
      confirm.hidden = true;
      node.querySelector(".iw-gallery-delete").focus();
    } else {
      model.send({ event: action === "confirm" ? "delete" : action, name: node.dataset.name });
    }
  });
  life.listen(grid, "change", () => {
    const ticked = [...grid.querySelectorAll(".iw-gallery-item")]
      .filter((node) => node.querySelector(".iw-gallery-select input").checked)
      .map((node) => node.dataset.name);
    model.set("selected", ticked);
    model.save_changes();
  });
  el.appendChild(grid);
  model.send({ event: "ready" });  // a view drawn anew (a reload, a second view) asks for all of it
  return life.cleanup;
}

export default { render };
