// One view's listeners, observers and timers, each recorded with its removal, so that
// the function a render returns undoes them all: nothing outlives a re-render or a close.
// Every widget module imports it; imagewidgets/ui/frontend.py inlines it in their _esm
// (anywidget loads _esm from a blob: URL, where a relative import cannot resolve).
export function lifecycle() {
  const undo = new Set();
  let closed = false;
  // Record how to undo something; after cleanup, undo it at once (a late callback).
  const keep = (remove) => {
    if (closed) {
      remove();
      return () => {};
    }
    const once = () => {
      if (undo.delete(once)) remove();
    };
    undo.add(once);
    return once;
  };
  return {
    // target.addEventListener, removed at cleanup (or earlier by calling what it returns).
    listen(target, type, handler, options) {
      target.addEventListener(type, handler, options);
      return keep(() => target.removeEventListener(type, handler, options));
    },
    // model.on, for messages and trait changes.
    on(model, name, handler) {
      model.on(name, handler);
      return keep(() => model.off(name, handler));
    },
    // A MutationObserver on node, disconnected at cleanup.
    observe(node, callback, options) {
      const observer = new MutationObserver(callback);
      observer.observe(node, options);
      return keep(() => observer.disconnect());
    },
    // setTimeout; cleared at cleanup if it has not run.
    later(callback, ms) {
      let done = () => {};
      const id = setTimeout(() => {
        done();
        callback();
      }, ms);
      done = keep(() => clearTimeout(id));
      return done;
    },
    // requestAnimationFrame; cancelled at cleanup if it has not run.
    frame(callback) {
      let done = () => {};
      const id = requestAnimationFrame(() => {
        done();
        callback();
      });
      done = keep(() => cancelAnimationFrame(id));
      return done;
    },
    // Anything else to undo at cleanup (an overlay to close, a URL to revoke).
    add: keep,
    // What render returns: undo everything, newest first.
    cleanup() {
      closed = true;
      for (const remove of [...undo].reverse()) remove();
    },
  };
}
