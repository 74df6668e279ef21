// A spinner, a message and the seconds elapsed, counted here in the browser so that a long job
// in the kernel (a first UMAP fit, a first model load) needs no messages to show it is alive.
// The element is a live region that stays in the page while idle: screen readers announce what
// a region says only if it was there before it spoke.
function render({ model, el }) {
  el.classList.add("portalit-busy");
  el.setAttribute("role", "status");
  el.setAttribute("aria-live", "polite");
  const spinner = document.createElement("span");
  spinner.className = "portalit-spinner";
  spinner.setAttribute("aria-hidden", "true");
  const text = document.createElement("span");
  text.className = "portalit-busy-text";
  // The ticking seconds are for the eye; announced every second they would drown everything else.
  const seconds = document.createElement("span");
  seconds.setAttribute("aria-hidden", "true");
  el.append(spinner, text, seconds);
  let timer = null;

  function update() {
    clearInterval(timer);
    timer = null;
    const busy = model.get("busy");
    const message = model.get("message");
    el.classList.toggle("portalit-busy-on", busy);
    el.classList.toggle("portalit-busy-said", !busy && message !== "");
    text.textContent = message;
    seconds.textContent = "";
    if (busy) {
      const started = Date.now();
      timer = setInterval(() => {
        seconds.textContent = ` (${Math.round((Date.now() - started) / 1000)} s)`;
      }, 1000);
    }
  }

  model.on("change:busy", update);
  model.on("change:message", update);
  update();
  return () => clearInterval(timer);
}

export default { render };
