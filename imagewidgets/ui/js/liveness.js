// KernelWatch: says so in the widget when a click gets no answer from the kernel, and hides
// the saved record (a plain output of the same cell) while the widget is live.
// The record's class arrives as the model's record_class.
// A missed answer alone cannot tell a busy kernel (a long cell running: the click is answered
// when it ends) from one that restarted (never answered): the kernel's own status and the
// widget's connection can, and so can the kernel's "idle" for the ping itself: a kernel that
// took the ping up and did not answer is not this widget's kernel any more (it restarted), one
// that has not taken it up yet is running a cell. The kernel's overall status alone cannot
// say busy, since a request answered on the control channel while a cell runs sets it to idle.
// The record's output is also kept up to date from here: after a reload of the page the
// notebook shows its outputs as last saved, and JupyterLab routes a later update_display only
// to outputs this page displayed, so the kernel's updates would never reach (nor be saved in)
// the notebook. The view asks the kernel for the record's current output when drawn, is sent
// it whenever the record changes, and writes it into the output of its notebook that carries
// its display id. (By message, not in the state: the output holds it, the state need not.)
import { lifecycle } from "./lifecycle.js";

// The notebook model of the page (JupyterLab's widget manager knows its document); null elsewhere.
function notebookModel(model) {
  try {
    const context = model.widget_manager && model.widget_manager.context;
    return (context && context.model && context.model.cells) ? context.model : null;
  } catch (error) {
    return null;
  }
}

function refreshRecord(model, html) {
  const id = model.get("record_id");
  const notebook = notebookModel(model);
  if (!id || !html || !notebook) return;
  const marker = `data-iw-record="${id}"`;
  for (const cell of notebook.cells) {
    const outputs = cell.outputs;
    if (!outputs) continue;
    for (let index = 0; index < outputs.length; index++) {
      const output = outputs.get(index);
      const shown = output.data && output.data["text/html"];
      const text = Array.isArray(shown) ? shown.join("") : shown;
      if (typeof text !== "string" || !text.includes(marker) || text === html) continue;
      outputs.set(index, { output_type: "display_data", data: { "text/html": html }, metadata: {} });
    }
  }
}

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
  let gone = false;  // the connection to the kernel was dropped: it restarted or stopped
  const say = (name) => {
    note.textContent = model.get(name);
    note.dataset.kernel = name;
    note.hidden = false;
  };
  let ignored = false;  // the kernel went idle after the ping without answering it
  const LOST = ["dead", "unknown", "restarting", "autorestarting", "terminating"];
  const kernelLost = () => {
    try {
      const kernel = model.widget_manager && model.widget_manager.kernel;
      return !kernel || LOST.includes(kernel.status) || kernel.connectionStatus === "disconnected";
    } catch (error) {  // a manager without a kernel (another front end): nothing to answer
      return true;
    }
  };
  const silent = () => {
    stopWaiting = null;
    // Still waiting for the answer when busy: the pong hides the note once the cell ends.
    say(gone || ignored || kernelLost() ? "silent_text" : "busy_text");
  };
  // The kernel's status messages for the ping (its parent): "idle" means it was handled.
  const pingStatus = (msg) => {
    if (msg && msg.content && msg.content.execution_state === "idle" && stopWaiting !== null) {
      ignored = true;
    }
  };
  const ask = () => {
    if (gone) return say("silent_text");
    if (stopWaiting !== null) return;
    ignored = false;
    stopWaiting = life.later(silent, model.get("timeout_ms"));
    try {
      model.send({ event: "ping" }, { iopub: { status: pingStatus } });
    } catch (error) {  // the connection to the kernel is gone
      stopWaiting();
      silent();
    }
  };
  const onClick = (event) => {
    if (event.target instanceof Element && event.target.closest("button")) ask();
  };
  attach();
  const askRecord = () => {
    if (!model.get("record_id")) return;
    try {
      model.send({ event: "record" });
    } catch (error) {  // no kernel: the notebook shows the record as saved
    }
  };
  askRecord();
  life.on(model, "change:record_id", askRecord);
  life.on(model, "comm_live_update", () => {
    // The view marks itself disconnected first (its listener is older than this one).
    gone = el.classList.contains("jupyter-widgets-disconnected");
    if (!gone) return;
    if (stopWaiting !== null) stopWaiting();
    stopWaiting = null;
    say("silent_text");
  });
  life.on(model, "msg:custom", (msg) => {
    if (msg && msg.event === "record" && typeof msg.html === "string") refreshRecord(model, msg.html);
    if (!msg || msg.event !== "pong") return;
    if (stopWaiting !== null) stopWaiting();
    stopWaiting = null;
    note.hidden = true;
  });
  return life.cleanup;
}
export default { render };
