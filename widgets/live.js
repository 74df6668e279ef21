// An HTML region whose changes screen readers announce (aria-live): results and verdicts that a
// control's change redraws. The live element itself persists; only its content is replaced, since
// a live region that is replaced along with its content is never announced.
function render({ model, el }) {
  el.classList.add("portalit-live");
  function update() {
    el.setAttribute("aria-live", model.get("live"));
    el.innerHTML = model.get("value");
  }
  model.on("change:value", update);
  model.on("change:live", update);
  update();
}

export default { render };
