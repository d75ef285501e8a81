// 统计: a month's §12 figures by department and by street, raw (按原期) beside adjusted (按批准期); the
// trend of reported / filed / closed over the 30 days to the month's end, the rates and the most
// frequent categories as the service's SVG charts; a heat map of the cases reported per cell; and
// 导出通报, the monthly bulletin as a spreadsheet or a document. The statistics are heavy reads, of
// which a person may have a few in flight (GRID_SERVICE_HEAVY_READS_PER_CALLER): never more are asked.
import { api } from "/app/static/api.js";
import { desk, go } from "/desk/static/desk.js";
import { baseMap, showGrid } from "/desk/static/maps.js";
import { $, el, refusal, today } from "/desk/static/words.js";

const XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
let heat = null;
let drawing = 0;
const blobs = [];

function monthOf(params) {
  const asked = params.get("month");
  return /^\d{4}-(0[1-9]|1[0-2])$/.test(asked || "") ? asked : today().slice(0, 7);
}

function bounds(month) {
  const [year, number] = month.split("-").map(Number);
  const next = number === 12 ? `${year + 1}-01` : `${year}-${String(number + 1).padStart(2, "0")}`;
  const end = `${next}-01` > today() ? null : `${next}-01`; // a month under way: up to now
  return { from: `${month}-01`, to: end };
}

function daysBefore(date, days) {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() - days);
  return d.toISOString().slice(0, 10);
}

// Runs the tasks as many at a time as a person may have heavy reads in flight, in order of asking.
async function inTurn(tasks) {
  const results = new Array(tasks.length);
  let next = 0;
  async function worker() {
    while (next < tasks.length) {
      const index = next++;
      try {
        results[index] = { value: await tasks[index]() };
      } catch (error) {
        results[index] = { error };
      }
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, desk.settings.heavy_reads_at_once || 1) }, worker));
  return results;
}

async function svg(path) {
  const response = await fetch(path, { credentials: "same-origin" });
  if (!response.ok) throw Object.assign(new Error(`HTTP ${response.status}`), { status: response.status });
  const url = URL.createObjectURL(await response.blob());
  blobs.push(url);
  return url;
}

export async function showStats(params) {
  $("stats-view").hidden = false;
  const month = monthOf(params);
  const form = $("stats-form");
  form.elements.month.value = month;
  form.elements.month.max = today().slice(0, 7);
  const message = $("stats-message");
  message.textContent = "";
  const turn = ++drawing;
  const { from, to } = bounds(month);
  const period = new URLSearchParams({ from, ...(to ? { to } : {}) }).toString();
  const trendEnd = to || today();
  const trend = new URLSearchParams({ from: daysBefore(trendEnd, 30), ...(to ? { to } : {}) }).toString();
  const body = $("stats-body");
  body.replaceChildren(el("p", { text: "统计中…" }));
  // The department's figures first, raw and adjusted side by side (two heavy reads), and meanwhile
  // the day-by-day trend, the categories and the cells (index reads, no heavy-read slot); then the
  // rates chart, whose figures are those just counted (kept by then for an ended month), and the
  // cells' outlines. The street's figures when asked for (按街道).
  const light = Promise.all([
    svg(`/api/v1/stats/trend.svg?${trend}`).then((value) => ({ value }), (error) => ({ error })),
    svg(`/api/v1/stats/categories.svg?${period}`).then((value) => ({ value }), (error) => ({ error })),
    api("GET", `/api/v1/stats/cells?${period}`).then((value) => ({ value }), (error) => ({ error })),
  ]);
  const figures = await inTurn([
    () => api("GET", `/api/v1/stats?${period}&group_by=department`),
    () => api("GET", `/api/v1/stats?${period}&group_by=department&adjusted=true`),
  ]);
  if (turn !== drawing) return;
  const [[ratesSvg, outlines], [trendSvg, categoriesSvg, cells]] = await Promise.all([
    inTurn([() => svg(`/api/v1/stats/rates.svg?${period}&group_by=department`), () => api("GET", "/api/v1/grids")]),
    light,
  ]);
  if (turn !== drawing) return;
  const drawings = [ratesSvg, outlines, trendSvg, categoriesSvg, cells];
  const [deptRaw, deptAdj] = figures;
  const results = [...figures, ...drawings];
  const failed = results.find((r) => r.error);
  if (failed) message.textContent = `部分统计未能读取：${refusal(failed.error)}`;
  while (blobs.length > 3) URL.revokeObjectURL(blobs.shift()); // the charts shown before these
  const streets = el("section", { "aria-label": "按街道" }, el("h3", { text: "按街道" }));
  const more = el("button", { type: "button", text: "按街道统计" });
  more.addEventListener("click", async () => {
    more.disabled = true;
    more.textContent = "统计中…";
    const [raw, adjusted] = await inTurn([
      () => api("GET", `/api/v1/stats?${period}&group_by=street`),
      () => api("GET", `/api/v1/stats?${period}&group_by=street&adjusted=true`),
    ]);
    if (turn !== drawing) return;
    if (raw.error || adjusted.error) {
      more.disabled = false;
      more.textContent = "按街道统计";
      message.textContent = `按街道统计未能读取：${refusal(raw.error || adjusted.error)}`;
      return;
    }
    streets.replaceWith(table("按街道", raw.value, adjusted.value));
  });
  streets.append(more);
  body.replaceChildren(
    el("div", { class: "stats-tables" }, table("按部门", deptRaw.value, deptAdj.value), streets),
    el("div", { class: "charts" },
      chart("近 30 日上报、立案、结案", trendSvg.value),
      chart("结案率与按期结案率（原期与批准期）", ratesSvg.value),
      chart("高发类别", categoriesSvg.value)),
    el("h3", { text: "网格案件热力图（本期上报数）" }),
    el("div", { id: "heat", class: "heat", role: "img", "aria-label": "网格案件热力图" }),
  );
  drawHeat(cells.value, outlines.value);
  document.body.dataset.stats = month; // drawn (for the benches and the tests)
}

const pct = (rate) => (rate === null || rate === undefined ? "—" : `${(rate * 100).toFixed(1)}%`);

function table(title, raw, adjusted) {
  const section = el("section", { "aria-label": title }, el("h3", { text: title }));
  if (!raw) return section;
  const byKey = new Map(((adjusted && adjusted.groups) || []).map((g) => [g.key, g]));
  const head = ["名称", "上报", "立案", "应结案", "结案", "按期结案", "结案率（原期）", "按期结案率（原期）",
    "结案率（批准期）", "按期结案率（批准期）", "返工率", "综合评价"];
  const rows = raw.groups.map((g) => {
    const a = byKey.get(g.key) || {};
    const score = g.scores && Object.values(g.scores)[0];
    return el("tr", {}, ...[
      g.name || g.key || "—", g.reported, g.filed, g.due, g.closed, g.closed_on_time, pct(g.closure_rate),
      pct(g.on_time_rate), pct(a.closure_rate), pct(a.on_time_rate), pct(g.rework_rate),
      score === null || score === undefined ? "—" : score.toFixed(3),
    ].map((v) => el("td", { text: String(v) })));
  });
  section.append(el("table", {}, el("thead", {}, el("tr", {}, ...head.map((h) => el("th", { scope: "col", text: h })))),
    el("tbody", {}, ...rows)));
  return section;
}

function chart(title, url) {
  return el("figure", {}, url ? el("img", { src: url, alt: title }) : el("p", { text: "图表未能读取" }),
    el("figcaption", { text: title }));
}

function drawHeat(figures, cells) {
  const counts = new Map(((figures && figures.cells) || []).map((c) => [c.code, c.reported]));
  const box = $("heat");
  if (heat) heat.remove(); // the map of the page drawn before
  heat = baseMap(box, { preferCanvas: true }); // thousands of cells: one canvas
  showGrid(heat);
  if (!cells) return; // the outlines could not be read: the figures stand without the map
  const most = Math.max(1, ...counts.values());
  L.geoJSON(cells, {
    style: (feature) => {
      const n = counts.get(feature.properties.code) || 0;
      return { color: "#7f1d1d", weight: 1, fillColor: "#dc2626", fillOpacity: n ? 0.15 + 0.7 * (n / most) : 0.02 };
    },
    onEachFeature: (feature, layer) => {
      // A node, not a string: Leaflet puts a string in as HTML.
      layer.bindTooltip(el("span", { text: `${feature.properties.name}：${counts.get(feature.properties.code) || 0} 件` }));
    },
  }).addTo(heat);
  box.dataset.cells = String(cells.features.length);
}

async function download(type, extension) {
  const month = $("stats-form").elements.month.value;
  const message = $("stats-message");
  message.textContent = "";
  try {
    const response = await fetch(`/api/v1/reports/monthly?month=${encodeURIComponent(month)}`, {
      headers: { Accept: type }, credentials: "same-origin",
    });
    if (!response.ok) {
      let parsed = null;
      try {
        parsed = await response.json();
      } catch {
        parsed = null;
      }
      message.textContent = refusal({ status: response.status, body: parsed }, { month: "月份" });
      return;
    }
    const url = URL.createObjectURL(await response.blob());
    const link = el("a", { href: url, download: `月度通报-${month}.${extension}` });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  } catch (error) {
    message.textContent = refusal(error);
  }
}

$("stats-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const month = event.target.elements.month.value;
  if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(month)) {
    $("stats-message").textContent = "请选择月份";
    return;
  }
  go({ view: "stats", month });
});
$("export-xlsx").addEventListener("click", () => download(XLSX, "xlsx"));
$("export-docx").addEventListener("click", () => download(DOCX, "docx"));
