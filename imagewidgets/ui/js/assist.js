// Names each slider's handle after its label, keeps disabled handles out of the tab order,
// scrolls to a control on request. Watches only its own panel (the .iw-root around it).
import { lifecycle } from "./lifecycle.js";

function nameSliders(root) {
  root.querySelectorAll(".widget-slider").forEach((slider) => {
    const label = slider.querySelector(":scope > .widget-label");
    const name = label ? label.textContent.trim() : "";
    const off = !!slider.querySelector(".noUi-target[disabled]");
    slider.querySelectorAll(".noUi-handle").forEach((handle) => {
      // Only what differs is written: the observer below sees these writes too.
      if (name && handle.getAttribute("aria-label") !== name) handle.setAttribute("aria-label", name);
      const tab = off ? "-1" : "0";
      if (handle.getAttribute("tabindex") !== tab) handle.setAttribute("tabindex", tab);
      if (off !== (handle.getAttribute("aria-disabled") === "true")) {
        if (off) handle.setAttribute("aria-disabled", "true");
        else handle.removeAttribute("aria-disabled");
      }
    });
    const readout = slider.querySelector(".widget-readout");
    const typed = `${name}, typed value`;
    if (readout && name && readout.getAttribute("aria-label") !== typed) {
      readout.setAttribute("role", "textbox");
      readout.setAttribute("aria-label", typed);
    }
  });
}

function render({ model, el }) {
  const life = lifecycle();
  let root = null, tries = 0, queued = false;
  const refresh = () => {
    if (queued) return;
    queued = true;
    life.frame(() => { queued = false; if (root) nameSliders(root); });
  };
  const attach = () => {
    root = el.closest(".iw-root");
    if (!root) {  // not in the page yet
      if (tries++ < 100) life.later(attach, 50);
      return;
    }
    nameSliders(root);
    life.observe(root, refresh, { subtree: true, childList: true, attributes: true,
                                  attributeFilter: ["disabled", "tabindex"] });
  };
  attach();
  life.on(model, "msg:custom", (msg) => {
    if (!msg || msg.event !== "show" || !root) return;
    const target = root.querySelector(msg.selector);
    if (target) target.scrollIntoView({ block: "nearest" });
  });
  return life.cleanup;
}
export default { render };
