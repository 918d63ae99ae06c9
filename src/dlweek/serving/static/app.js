// dlweek upload page: plain JavaScript, no frameworks, no CDN.
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const form = $("form"), fileInput = $("file"), drop = $("drop"), preview = $("preview");
  const modelSelect = $("model"), submit = $("submit"), results = $("results");
  const errorBox = $("error"), statusBox = $("status"), timing = $("timing");
  let chosen = null;

  function showError(message) {
    errorBox.textContent = message;
    errorBox.hidden = false;
  }
  function clearOutput() {
    errorBox.hidden = true;
    errorBox.textContent = "";
    results.textContent = "";
    timing.textContent = "";
  }
  function updateButton() {
    submit.disabled = !(chosen && modelSelect.value);
  }

  async function loadModels() {
    try {
      const resp = await fetch("/api/v1/models");
      const body = await resp.json();
      modelSelect.textContent = "";
      for (const m of body.models) {
        const opt = document.createElement("option");
        opt.value = m.name;
        opt.textContent = m.name + (m.state === "ready" ? "" : " (" + m.state + ")");
        if (m.name === body.default) opt.selected = true;
        modelSelect.appendChild(opt);
      }
      if (body.models.some((m) => m.state === "loading")) setTimeout(loadModels, 2000);
    } catch (err) {
      showError("Could not reach the server to list the models. Is it running?");
    }
    updateButton();
  }

  function choose(file) {
    clearOutput();
    if (!file) return;
    if (file.size > window.DLWEEK.maxBytes) {
      chosen = null;
      showError("That file is too big: the limit is " + window.DLWEEK.limit + ".");
      updateButton();
      return;
    }
    chosen = file;
    preview.src = URL.createObjectURL(file);
    preview.hidden = false;
    $("drop-text").textContent = file.name;
    updateButton();
  }

  fileInput.addEventListener("change", () => choose(fileInput.files[0]));
  modelSelect.addEventListener("change", updateButton);
  ["dragenter", "dragover"].forEach((ev) => drop.addEventListener(ev, (e) => {
    e.preventDefault();
    drop.classList.add("over");
  }));
  ["dragleave", "drop"].forEach((ev) => drop.addEventListener(ev, (e) => {
    e.preventDefault();
    drop.classList.remove("over");
  }));
  drop.addEventListener("drop", (e) => {
    if (e.dataTransfer && e.dataTransfer.files.length) choose(e.dataTransfer.files[0]);
  });
  drop.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === " ") { e.preventDefault(); fileInput.click(); }
  });

  function render(body) {
    results.textContent = "";
    for (const p of body.predictions) {
      const li = document.createElement("li");
      const row = document.createElement("div");
      row.className = "row";
      const label = document.createElement("span");
      label.className = "label";
      label.textContent = p.label;
      const score = document.createElement("span");
      score.className = "score";
      score.textContent = (100 * p.score).toFixed(1) + "%";
      row.append(label, score);
      const bar = document.createElement("div");
      bar.className = "bar";
      const fill = document.createElement("span");
      fill.style.width = (100 * p.score).toFixed(1) + "%";
      bar.appendChild(fill);
      li.append(row, bar);
      results.appendChild(li);
    }
    const t = body.timing_ms;
    timing.textContent = body.model + " · " + t.total.toFixed(1) + " ms (decode " +
      t.decode.toFixed(1) + ", queue " + t.queue.toFixed(1) + ", inference " +
      t.inference.toFixed(1) + ")";
  }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!chosen) { showError("Choose an image first."); return; }
    clearOutput();
    const data = new FormData();
    data.append("file", chosen);
    data.append("model", modelSelect.value);
    data.append("top_k", $("top_k").value);
    submit.disabled = true;
    statusBox.textContent = "Classifying…";
    try {
      const resp = await fetch("/api/v1/predict", {method: "POST", body: data});
      let body = null;
      try { body = await resp.json(); } catch (err) { body = null; }
      if (!resp.ok) {
        showError(body && body.error ? body.error.message
          : "The server answered " + resp.status + " without an explanation.");
      } else {
        render(body);
      }
    } catch (err) {
      showError("The request did not reach the server (network error). Try again.");
    } finally {
      statusBox.textContent = "";
      updateButton();
    }
  });

  loadModels();
})();
