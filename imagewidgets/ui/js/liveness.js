// KernelWatch: says so in the widget when a click gets no answer from the kernel, and hides
// the saved record (a plain output of the same cell) while the widget is live.
// The record's class arrives as the model's record_class.
import { lifecycle } from "./lifecycle.js";

function render({ model, el }) {
  const life = lifecycle();
  const note = document.createElement("div");
  note.className = "iw-kernel-note";
  note.setAttribute("role", "status");
  note.hidden = true;
  el.appendChild(note);
  // render() may run before the view is in the page: find the widget's root once it is.
  let area = null, tries = 0;
  const hideRecords = () => {
    area.querySelectorAll("." + model.get("record_class")).forEach((record) => {
      const child = record.closest(".jp-OutputArea-child") || record;
      if (child.style.display !== "none") child.style.display = "none";
    });
  };
  const attach = () => {
    const root = el.closest(".iw-root");
    if (!root) {
      if (tries++ < 200) life.later(attach, 50);
      return;
    }
    // Only the cell's outputs, where its record is: never the whole page.
    area = el.closest(".jp-OutputArea, .output_area, .jp-Cell") || root.parentElement || root;
    hideRecords();
    life.observe(area, hideRecords, { childList: true, subtree: true });
    life.listen(root, "click", onClick, true);
  };

  let stopWaiting = null;
  const silent = () => {
    stopWaiting = null;
    note.textContent = model.get("silent_text");
    note.hidden = false;
  };
  const ask = () => {
    if (stopWaiting !== null) return;
    stopWaiting = life.later(silent, model.get("timeout_ms"));
    try {
      model.send({ event: "ping" });
    } catch (error) {  // the connection to the kernel is gone
      stopWaiting();
      silent();
    }
  };
  const onClick = (event) => {
    if (event.target instanceof Element && event.target.closest("button")) ask();
  };
  attach();
  life.on(model, "msg:custom", (msg) => {
    if (!msg || msg.event !== "pong") return;
    if (stopWaiting !== null) stopWaiting();
    stopWaiting = null;
    note.hidden = true;
  });
  return life.cleanup;
}
export default { render };
