// A spinner, a message and the seconds elapsed, counted here in the browser so that a long job
// in the kernel (a first UMAP fit, a first model load) needs no messages to show it is alive.
function render({ model, el }) {
  el.classList.add("portalit-busy");
  el.setAttribute("role", "status");
  el.setAttribute("aria-live", "polite");
  const spinner = document.createElement("span");
  spinner.className = "portalit-spinner";
  spinner.setAttribute("aria-hidden", "true");
  const text = document.createElement("span");
  text.className = "portalit-busy-text";
  el.append(spinner, text);
  let timer = null;

  function update() {
    clearInterval(timer);
    timer = null;
    const busy = model.get("busy");
    const message = model.get("message");
    el.classList.toggle("portalit-busy-on", busy);
    el.style.display = busy || message ? "" : "none";
    text.textContent = message;
    if (busy) {
      const started = Date.now();
      timer = setInterval(() => {
        const seconds = Math.round((Date.now() - started) / 1000);
        text.textContent = `${message} (${seconds} s)`;
      }, 1000);
    }
  }

  model.on("change:busy", update);
  model.on("change:message", update);
  update();
  return () => clearInterval(timer);
}

export default { render };
