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
      // The blob's URL is not revoked: the page keeps the module it names anyway.
      loaded.set(code, import(URL.createObjectURL(new Blob([code], { type: "text/javascript" }))));
      const id = "iw-style-" + shared.get("name");
      // A stylesheet of older code goes.
      document.getElementById(id)?.remove();
      document.head.append(Object.assign(document.createElement("style"), { id, textContent: shared.get("css") }));
    }
    return (await loaded.get(code)).default.render(view);
  },
};
