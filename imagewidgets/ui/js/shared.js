// The _esm of a widget whose code is shared (imagewidgets/ui/shared.py): the model named by
// its _code holds the code and stylesheet once for the kernel; here they are loaded once per
// page (the module imported, the stylesheet added to the document), then the code renders.
// Kept short: anywidget imports each widget's _esm anew, and a notebook saved with widget
// state holds it once a widget (B11-state).
const loaded = (globalThis.__imagewidgets ??= new Map());
export default {
  async render(view) {
    const shared = await view.host.getModel(view.model.get("_code"));
    const code = shared.get("code");
    if (!loaded.has(code)) {
      const url = URL.createObjectURL(new Blob([code], { type: "text/javascript" }));
      loaded.set(code, import(url).finally(() => URL.revokeObjectURL(url)));
      const id = "iw-style-" + shared.get("name");
      const style = document.getElementById(id) ?? document.head.appendChild(document.createElement("style"));
      style.id = id;
      style.textContent = shared.get("css");
    }
    return (await loaded.get(code)).default.render(view);
  },
};
