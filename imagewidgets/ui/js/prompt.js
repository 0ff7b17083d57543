// The prompt box: a textarea bound to the model's value; Ctrl+Enter (Cmd+Enter) submits.
import { lifecycle } from "./lifecycle.js";

function render({ model, el }) {
  const life = lifecycle();
  const box = document.createElement("textarea");
  box.className = "iw-prompt-input";
  box.rows = 3;
  box.placeholder = model.get("placeholder");
  box.value = model.get("value");
  box.setAttribute("aria-label", "Prompt");
  // Keep JupyterLab's own shortcuts (Ctrl+Enter runs the cell) out of the prompt.
  el.setAttribute("data-lm-suppress-shortcuts", "true");
  const push = () => { model.set("value", box.value); model.save_changes(); };
  life.listen(box, "input", push);
  life.listen(box, "keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      event.stopPropagation();
      push();
      // The text travels with the submit: ipywidgets holds value updates back while the
      // kernel is busy with an earlier one, but sends custom messages at once.
      model.send({ event: "submit", value: box.value });
    }
  });
  life.on(model, "change:value", () => {
    if (box.value !== model.get("value")) box.value = model.get("value");
  });
  el.appendChild(box);
  return life.cleanup;
}
export default { render };
