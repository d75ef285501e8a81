// The lists of the workbench: a view's cases (its filters and the person's, all in the page address),
// newest first, a page of PAGE at a time by the API's keyset cursor, so a list of 10,000 open cases
// reads and draws one page. A department's inbox signs for one or many cases at once.
import { api } from "/app/static/api.js";
import { desk, go, mayAct, signedOut } from "/desk/static/desk.js";
import { $, el, options, refusal, when, LIGHT, PENDING, REQUEST, SOURCE, STATUS } from "/desk/static/words.js";

const PAGE = 50;
const FILTERS = ["case_no", "status", "category", "department", "street", "light", "source", "since", "until"];
let shown = { view: null, params: null };
let drawing = 0;

function filtersFrom(params) {
  const chosen = {};
  for (const name of FILTERS) if (params.get(name)) chosen[name] = params.get(name);
  return chosen;
}

function apiQuery(view, params) {
  const chosen = filtersFrom(params);
  const query = { ...view.query, limit: String(PAGE) };
  if (view.statusFilter) query.status = chosen.status === undefined ? "open" : chosen.status;
  for (const name of ["case_no", "category", "department", "light", "source", "since"]) {
    if (chosen[name]) query[name] = chosen[name];
  }
  if (chosen.until) query.until = dayAfter(chosen.until); // 上报至 includes its day
  if (chosen.case_no && view.statusFilter) delete query.status; // a number is looked up whatever its status
  if (chosen.street) query.grid = chosen.street;
  if (params.get("after")) query.after = params.get("after");
  if (query.status === "all") delete query.status;
  return new URLSearchParams(query).toString();
}

function dayAfter(date) {
  const day = new Date(`${date}T00:00:00Z`);
  day.setUTCDate(day.getUTCDate() + 1);
  return day.toISOString().slice(0, 10);
}

function fillFilters(view, params) {
  const form = $("filters");
  const chosen = filtersFrom(params);
  options(form.elements.status, [["open", "全部在办"], ["all", "全部（含已结）"], ...Object.entries(STATUS)], {
    chosen: chosen.status || "open",
  });
  $("status-filter").hidden = !view.statusFilter;
  options(form.elements.category, desk.categories.map((c) => [c.code, c.name]), { any: "全部", chosen: chosen.category || "" });
  options(form.elements.department, desk.departments.map((d) => [d.code, d.name]), {
    any: "全部", chosen: chosen.department || "",
  });
  $("department-filter").hidden = desk.user.role === "department"; // its own, always
  options(form.elements.street, desk.settings.streets.map((s) => [s.code, s.name]), { any: "全部", chosen: chosen.street || "" });
  options(form.elements.light, Object.entries(LIGHT), { any: "全部", chosen: chosen.light || "" });
  options(form.elements.source, Object.entries(SOURCE), { any: "全部", chosen: chosen.source || "" });
  for (const name of ["case_no", "since", "until"]) form.elements[name].value = chosen[name] || "";
}

export function showList(view, params) {
  shown = { view, params };
  desk.lastList = location.search;
  $("list-view").hidden = false;
  $("list-title").textContent = view.title;
  $("filter-message").textContent = "";
  fillFilters(view, params);
  $("bulk").hidden = !view.pick;
  $("pick-all").closest("th").hidden = !view.pick;
  $("bulk-message").textContent = "";
  return draw();
}

export function refreshList() {
  if (shown.view) return draw();
}

async function draw() {
  const { view, params } = shown;
  const turn = ++drawing; // a slower answer to an older question is dropped
  let page;
  try {
    page = await api("GET", `/api/v1/cases?${apiQuery(view, params)}`);
  } catch (error) {
    if (turn !== drawing) return;
    if (error.status === 401) return signedOut("登录已过期，请重新登录");
    $("filter-message").textContent = refusal(error, FIELD_NAMES);
    $("cases").tBodies[0].replaceChildren(); // rows of another question would mislead
    $("next-page").hidden = true;
    return;
  }
  if (turn !== drawing) return;
  $("filter-message").textContent = "";
  const body = $("cases").tBodies[0];
  const picked = new Set([...body.querySelectorAll("input[type=checkbox]:checked")].map((box) => box.value));
  body.replaceChildren(...page.cases.map((c) => row(c, view, picked)));
  $("list-empty").hidden = page.cases.length > 0;
  $("next-page").hidden = !page.next;
  $("next-page").dataset.after = page.next || "";
  $("first-page").hidden = !params.get("after");
  $("pick-all").checked = false;
  document.body.dataset.listed = String(Date.now()); // when the rows last changed (for the benches)
}

const FIELD_NAMES = {
  case_no: "案件编号", status: "状态", category: "类别", department: "部门", grid: "街道", light: "灯",
  source: "来源", since: "上报自", until: "上报至",
};

function row(c, view, picked) {
  const link = el("a", { href: `/desk/?case=${c.id}`, text: c.case_no });
  link.addEventListener("click", (event) => {
    event.preventDefault();
    go({ case: c.id });
  });
  const light = c.light ? el("span", { class: `light ${c.light}`, text: LIGHT[c.light] }) : "—";
  const due = c.status === "dispatched" && c.accept_due_at ? `签收 ${when(c.accept_due_at)}` :
    c.deadline_at ? when(c.deadline_at) : c.step_due_at ? `环节 ${when(c.step_due_at)}` : "—";
  const waiting = [];
  if (c.pending_reason) waiting.push(PENDING[c.pending_reason] || c.pending_reason);
  if (["pending_dispatch", "arbitration"].includes(c.status) && c.candidates.length) {
    waiting.push(`可派：${c.candidates.map((d) => d.name).join("、")}`);
  }
  if (c.open_request) waiting.push(REQUEST[c.open_request.kind] || c.open_request.kind);
  if (c.supervision_due_at) waiting.push(`督办回复 ${when(c.supervision_due_at)}`);
  if (c.rework_count) waiting.push(`返工 ${c.rework_count}`);
  const pick = el("td", { class: "pick" });
  if (view.pick) {
    pick.append(el("input", {
      type: "checkbox", value: c.id, "aria-label": `选择 ${c.case_no}`, checked: picked.has(c.id),
      disabled: !mayAct("accept", c.status),
    }));
  } else pick.hidden = true;
  return el(
    "tr",
    { "data-case": c.id },
    pick,
    el("td", {}, link),
    el("td", { text: c.category.name }),
    el("td", { text: STATUS[c.status] || c.status }),
    el("td", {}, light),
    el("td", { text: c.department ? c.department.name : "—" }),
    el("td", { text: c.grid ? c.grid.name : "—" }),
    el("td", { text: SOURCE[c.source] || c.source }),
    el("td", { text: when(c.created_at) }),
    el("td", { text: due }),
    el("td", { text: waiting.join("；") || "—" }),
  );
}

function chosenFilters() {
  const form = $("filters");
  const chosen = { view: shown.view.id };
  for (const name of FILTERS) {
    const value = String(form.elements[name].value || "").trim();
    if (value && !(name === "status" && (!shown.view.statusFilter || value === "open"))) chosen[name] = value;
  }
  return chosen;
}

function check(chosen) {
  if (chosen.case_no && !/^[0-9A-Za-z-]{1,32}$/.test(chosen.case_no)) return "案件编号只含数字、字母和连字符";
  if (chosen.since && chosen.until && chosen.since > chosen.until) return "“上报自”不能晚于“上报至”";
  return "";
}

$("filters").addEventListener("submit", (event) => {
  event.preventDefault();
  const chosen = chosenFilters();
  const problem = check(chosen);
  $("filter-message").textContent = problem;
  if (!problem) go(chosen);
});
$("clear-filters").addEventListener("click", () => go({ view: shown.view.id }));
$("next-page").addEventListener("click", () => go({ ...Object.fromEntries(shown.params), after: $("next-page").dataset.after }));
$("first-page").addEventListener("click", () => {
  const params = Object.fromEntries(shown.params);
  delete params.after;
  go(params);
});
$("pick-all").addEventListener("change", (event) => {
  for (const box of $("cases").tBodies[0].querySelectorAll("input[type=checkbox]:not(:disabled)")) {
    box.checked = event.target.checked;
  }
});
$("accept-selected").addEventListener("click", async () => {
  const ids = [...$("cases").tBodies[0].querySelectorAll("input[type=checkbox]:checked")].map((box) => box.value);
  const message = $("bulk-message");
  if (!ids.length) {
    message.textContent = "请先勾选要签收的案件";
    return;
  }
  $("accept-selected").disabled = true;
  // Each one its own request: one refused (taken back meanwhile) does not stop the others.
  const results = await Promise.allSettled(ids.map((id) => api("POST", `/api/v1/cases/${id}/accept`, {})));
  $("accept-selected").disabled = false;
  const refused = results.filter((r) => r.status === "rejected");
  message.textContent = refused.length
    ? `已签收 ${ids.length - refused.length} 件，${refused.length} 件未能签收：${refusal(refused[0].reason)}`
    : `已签收 ${ids.length} 件`;
  await draw();
});
