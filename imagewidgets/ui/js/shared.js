// The _esm of a widget whose code is shared (imagewidgets/ui/shared.py): the model named by
// its _code holds the code and stylesheet once for the kernel; here they are loaded once per
// page (the module imported, the stylesheet added to the document), then the code renders.
const loaded = (globalThis.__imagewidgets ??= new Map());

async function load(shared) {
  const code = shared.get("code");
  if (!loaded.has(code)) {
    const url = URL.createObjectURL(new Blob([code], { type: "text/javascript" }));
    loaded.set(code, import(url).finally(() => URL.revokeObjectURL(url)));
    const id = "iw-style-" + shared.get("name");
    let style = document.getElementById(id);
    if (!style) {
      style = document.createElement("style");
      style.id = id;
      document.head.appendChild(style);
    }
    style.textContent = shared.get("css");
  }
  return loaded.get(code);
}

async function render(context) {
  // Set by an update right after the model opened: false, anywidget dropped every update
  // (it gave up loading this model's code); the kernel opens the widget again as a new model.
  if (context.model.get("_live") === false) {
    context.el.classList.add("iw-lost");  // drawn from stale state until the new model's view
    context.model.send({ event: "lost" });
  }
  const module = await load(await context.host.getModel(context.model.get("_code")));
  return module.default.render(context);
}

export default { render };
