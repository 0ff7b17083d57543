// FullImageButton: asks the kernel for the full image on click, then downloads it or shows
// it enlarged (delivery.js puts the bytes together and uses them).
import { lifecycle } from "./lifecycle.js";
import { receive, use } from "./delivery.js";

function render({ model, el }) {
  const life = lifecycle();
  const button = document.createElement("button");
  button.className = "jupyter-button widget-button iw-full-image-button";
  const sync = () => {
    button.textContent = model.get("label");
    button.title = model.get("tooltip_text");
    const name = model.get("aria_label");
    if (name) button.setAttribute("aria-label", name);
    else button.removeAttribute("aria-label");
    button.disabled = model.get("disabled");
    button.dataset.action = model.get("action");
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
  receive(life, model, (pieces, msg) => use(life, pieces, msg, model.get("action"), button));
  el.appendChild(button);
  el.appendChild(progress);
  return life.cleanup;
}

export default { render };
