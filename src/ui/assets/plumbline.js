// Plumbline's web UI script: charts (uPlot), a refresh of the page's main part, period pickers
// that apply on change, and the backtest form (progress from the NDJSON stream). Pages work
// without it; it only adds to them.

const COLOURS = ["#0b57d0", "#b3261e", "#146c2e", "#7a2e8e", "#a66b00"];

/** Draws every chart of `root` from its data-chart attribute (see components.tsx Chart). */
function drawCharts(root) {
  if (typeof window.uPlot !== "function") return;
  for (const area of root.querySelectorAll("[data-chart]")) {
    if (area.dataset.drawn === "1") continue;
    area.dataset.drawn = "1";
    const spec = JSON.parse(area.dataset.chart);
    const width = () => Math.max(area.clientWidth, 240);
    const series = [
      {},
      ...spec.series.map((s, i) => ({
        label: s.label,
        stroke: s.stroke ?? COLOURS[i % COLOURS.length],
        width: s.pointsOnly ? 0 : 2,
        dash: s.dash ? [6, 4] : undefined,
        points: {
          show: s.pointsOnly || spec.x.length < 3 ? true : undefined,
          size: s.pointsOnly ? 7 : 5,
        },
        spanGaps: false,
      })),
    ];
    // One point has no time range of its own (uPlot would widen it by 86400 / 1e-3 seconds):
    // show the hour around it.
    const single = spec.x.length === 1 ? spec.x[0] : undefined;
    const xRange = (_u, min, max) =>
      single === undefined ? [min, max] : [single - 3600, single + 3600];
    const log = spec.scale === "log";
    const options = {
      width: width(),
      height: 240,
      series,
      scales: { x: { time: true, range: xRange }, ...(log && { y: { distr: 3 } }) },
      axes: [
        {},
        {
          label: spec.yLabel,
          size: 64,
          ...(log && {
            values: (_u, splits) =>
              splits.map((v) => (v == null ? "" : v === 0 ? "0" : v.toExponential(0))),
          }),
        },
      ],
    };
    const data = [spec.x, ...spec.series.map((s) => s.values)];
    const chart = new window.uPlot(options, data, area);
    new ResizeObserver(() => chart.setSize({ width: width(), height: 240 })).observe(area);
  }
}

/** Submits a GET form when one of its [data-autosubmit] fields changes. */
function autosubmit(root) {
  for (const field of root.querySelectorAll("[data-autosubmit]")) {
    field.addEventListener("change", () => field.form?.requestSubmit());
  }
}

/** Every N seconds (main[data-refresh]), reloads the main part while the page is visible and idle. */
function refresh() {
  const main = document.querySelector("main[data-refresh]");
  if (main === null) return;
  const seconds = Number(main.dataset.refresh);
  if (!(seconds > 0)) return;
  setInterval(async () => {
    if (document.visibilityState !== "visible") return;
    const active = document.activeElement;
    if (
      active !== null &&
      active !== document.body &&
      main.contains(active) &&
      active.matches("input, select, textarea")
    )
      return;
    const response = await fetch(location.href, { headers: { accept: "text/html" } }).catch(
      () => undefined,
    );
    if (response === undefined || !response.ok) return;
    const next = new DOMParser()
      .parseFromString(await response.text(), "text/html")
      .querySelector("main");
    if (next === null) return;
    main.innerHTML = next.innerHTML;
    setup(main);
  }, seconds * 1000);
}

/** The backtest form: reads a picked file into the text area, then streams the run. */
function backtest() {
  const form = document.getElementById("backtest");
  if (form === null) return;
  const file = document.getElementById("rule-file");
  const text = document.getElementById("rule-json");
  const box = document.getElementById("backtest-progress");
  const bar = document.getElementById("bt-bar");
  const status = document.getElementById("bt-status");
  const result = document.getElementById("backtest-result");
  let fileName = "pasted rule";
  file.addEventListener("change", async () => {
    const picked = file.files?.[0];
    if (picked === undefined) return;
    text.value = await picked.text();
    fileName = picked.name;
  });
  text.addEventListener("input", () => (fileName = file.files?.[0]?.name ?? "pasted rule"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    let parsed;
    try {
      parsed = JSON.parse(text.value);
    } catch (error) {
      result.innerHTML = "";
      const p = document.createElement("p");
      p.className = "notice error";
      p.setAttribute("role", "alert");
      p.textContent = `The rule is not JSON: ${error.message}`;
      result.append(p);
      return;
    }
    const rules = (Array.isArray(parsed) ? parsed : [parsed]).map((rule, i, all) => ({
      file: all.length > 1 ? `${fileName}[${i}]` : fileName,
      rule,
    }));
    const data = new FormData(form);
    const body = { rules, since: data.get("since") };
    if (data.get("until")) body.until = data.get("until");
    if (data.get("service")) body.service = data.get("service");
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    result.innerHTML = "";
    box.hidden = false;
    bar.removeAttribute("value");
    status.textContent = "Starting…";
    try {
      const response = await fetch("/backtest/run", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffered = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffered += value;
        const lines = buffered.split("\n");
        buffered = lines.pop() ?? "";
        for (const line of lines) {
          if (line.trim() === "") continue;
          const message = JSON.parse(line);
          if (message.progress !== undefined) {
            const { done: n, total } = message.progress;
            bar.max = Math.max(total, 1);
            bar.value = n;
            status.textContent = `${n} of ${total} steps`;
          } else if (message.html !== undefined) {
            result.innerHTML = message.html;
            status.textContent = response.ok ? "Done." : "Refused.";
            result.querySelector("h2")?.focus();
          }
        }
      }
    } catch (error) {
      status.textContent = `The backtest could not run: ${error.message}`;
    } finally {
      button.disabled = false;
      if (status.textContent === "Done.") bar.value = bar.max;
    }
  });
}

function setup(root) {
  drawCharts(root);
  autosubmit(root);
}

function start() {
  setup(document);
  refresh();
  backtest();
}

// uPlot is a classic deferred script; module scripts run after it.
if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
