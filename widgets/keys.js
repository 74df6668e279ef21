// Keeps JupyterLab's notebook shortcuts away from the widget's controls. In command mode Lab binds
// the arrow keys (move between cells) and letters (A, B, X, D D: insert, cut, delete cells) to any
// focused element that is not a text box, so an arrow key on a select or a letter typed to jump in
// its list would act on the notebook instead. Lumino skips elements marked data-lm-suppress-shortcuts.
const CONTROLS = "select, button, input:not([type=text]):not([type=number]), summary, [tabindex]";

function render({ el }) {
  el.style.display = "none";
  let observer = null;
  let tries = 0;

  function mark(root) {
    for (const control of root.querySelectorAll(CONTROLS)) {
      if (!control.hasAttribute("data-lm-suppress-shortcuts")) {
        control.setAttribute("data-lm-suppress-shortcuts", "true");
      }
    }
  }

  const timer = setInterval(() => {
    const root = el.closest(".portalit-widget");
    if (!root && ++tries < 200) return;
    clearInterval(timer);
    if (!root) return;
    mark(root);
    // Controls drawn later (a table's summary, a second backend's select) are marked as they come.
    observer = new MutationObserver(() => mark(root));
    observer.observe(root, { childList: true, subtree: true });
  }, 50);

  return () => {
    clearInterval(timer);
    if (observer) observer.disconnect();
  };
}

export default { render };
