// Makes a plot readable without sight: names the plot in its frame (role="figure" + aria-label: a
// sentence that says what is plotted) and shows the plotted data as a table, collapsed under it.
// Not role="img": its children would be presentational, and plotly's plots hold focusable parts.
// The plot is a sibling view rendered on its own schedule: look for it until it is there.
function render({ model, el }) {
  const details = document.createElement("details");
  details.className = "portalit-plot-data";
  const summary = document.createElement("summary");
  const body = document.createElement("div");
  details.append(summary, body);
  el.append(details);
  let timer = null;

  function label() {
    const frame = el.closest(".portalit-figure");
    const plot = frame && frame.querySelector(".portalit-plot");
    if (!plot) return false;
    const name = model.get("label");
    if (name) {
      plot.setAttribute("role", "figure");
      plot.setAttribute("aria-label", name);
    } else {
      plot.removeAttribute("role");
      plot.removeAttribute("aria-label");
    }
    return true;
  }

  function update() {
    summary.textContent = model.get("summary");
    body.innerHTML = model.get("table");
    details.style.display = model.get("table") ? "" : "none";
    clearInterval(timer);
    let tries = 0;
    if (!label()) {
      timer = setInterval(() => {
        if (label() || ++tries > 200) clearInterval(timer);
      }, 50);
    }
  }

  model.on("change", update);
  update();
  return () => clearInterval(timer);
}

export default { render };
