// A case's page: its facts, reports and photos, its place on the map with its cell, the routing
// decision, its checks and full history, and the actions the person's role may take from its status
// (desk/settings.json says which). Each action is one request to the API; a refusal is shown in words
// where the person acted, and nothing is changed.
import { api } from "/app/static/api.js";
import { desk, mayAct, signedOut } from "/desk/static/desk.js";
import { baseMap } from "/desk/static/maps.js";
import {
  $, el, options, refusal, when, EVENT, FAULT, LEVEL, LIGHT, OUTCOME, PENDING, REJECT_REASON, REQUEST, SOURCE,
  STATUS, SUSPENSION_REASON, TASK_STATUS, VOID_REASON,
} from "/desk/static/words.js";

let current = null; // the case shown, as last read
let map = null;
let layers = [];
let opened = null; // the action whose form is open

export const currentCase = () => (current ? current.id : null);

export async function showCase(id) {
  $("case-view").hidden = false;
  $("action-message").textContent = "";
  closeForm();
  current = { id };
  $("case-title").textContent = "读取中…";
  return refreshCase();
}

export async function refreshCase() {
  const id = current.id;
  let c;
  try {
    c = await api("GET", `/api/v1/cases/${encodeURIComponent(id)}`);
  } catch (error) {
    if (current.id !== id) return;
    if (error.status === 401) return signedOut("登录已过期，请重新登录");
    if (error.status === 404 && current.case_no) {
      // Shown a moment ago, it has left the person's hands (回退, 改派): what they saw stays, as it
      // was, without the actions they may no longer take.
      $("case-title").textContent = `${current.case_no} · 已移出本部门（回退或改派）`;
      $("actions").replaceChildren(el("span", { class: "empty", text: "此案件已不由本部门办理" }));
      closeForm();
      return;
    }
    $("case-title").textContent = error.status === 404 ? "案件不存在或无权查看" : "读取失败";
    for (const part of ["case-facts", "actions", "case-reports", "case-checks", "case-history", "case-routing"]) {
      $(part).replaceChildren();
    }
    current = { id };
    return;
  }
  if (current.id !== id) return;
  current = c;
  draw(c);
}

function draw(c) {
  $("case-title").textContent = `${c.case_no} · ${c.category.name}`;
  const facts = [
    ["状态", STATUS[c.status] || c.status],
    ["灯", c.light ? LIGHT[c.light] : "—"],
    ["紧急", c.urgent ? "是" : "否"],
    ["来源", SOURCE[c.source] || c.source],
    ["部门", c.department ? c.department.name : "—"],
    ["网格", c.grid ? `${c.grid.name}（${c.grid.code}）` : "—"],
    ["上报时间", when(c.created_at)],
    ["派遣时间", when(c.dispatched_at)],
    ["签收期限", c.status === "dispatched" ? when(c.accept_due_at) : null],
    ["处置期限", c.deadline_at ? when(c.deadline_at) : null],
    ["原定期限", c.original_deadline_at && c.original_deadline_at !== c.deadline_at ? when(c.original_deadline_at) : null],
    ["环节期限", c.step_due_at ? when(c.step_due_at) : null],
    ["挂账至", c.suspended_until ? when(c.suspended_until) : null],
    ["待办申请", c.open_request ? REQUEST[c.open_request.kind] || c.open_request.kind : null],
    ["督办回复期限", c.supervision_due_at ? when(c.supervision_due_at) : null],
    ["立案条件", c.condition],
    ["回退次数", String(c.returns)],
    ["返工次数", String(c.rework_count)],
  ];
  $("case-facts").replaceChildren(
    ...facts.filter(([, v]) => v !== null && v !== undefined).flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: v })]),
  );
  drawActions(c);
  $("case-reports").replaceChildren(...c.reports.map(reportItem));
  $("case-checks").replaceChildren(
    ...(c.checks.length ? c.checks.map((t) => el("li", {
      text: `${t.label}：${TASK_STATUS[t.status] || t.status}${t.outcome ? "（" + (OUTCOME[t.outcome] || t.outcome) + "）" : ""}，` +
        `${t.assigned_to || "受理员队列"}，期限 ${when(t.due_at)}`,
    })) : [el("li", { text: "无" })]),
  );
  $("case-history").replaceChildren(...c.history.map(historyItem));
  const routing = [];
  if (c.pending_reason) routing.push(`待派遣原因：${PENDING[c.pending_reason] || c.pending_reason}`);
  const rule = c.routing_rule;
  if (rule && rule.id !== undefined && rule.id !== null) {
    routing.push(`规则 #${rule.id}：类别 ${rule.category ?? "*"}，区域 ${rule.area || "全区"} → ${departmentName(rule.department)}`);
  } else if (rule) routing.push(`人工派遣 → ${departmentName(rule.department || (c.department && c.department.code))}`);
  if (c.candidates.length) routing.push(`可选部门：${c.candidates.map((d) => d.name).join("、")}`);
  if (c.ruled_department) routing.push(`裁定部门：${departmentName(c.ruled_department)}`);
  $("case-routing").textContent = routing.join("；") || "—";
  drawMap(c);
}

function departmentName(code) {
  const found = desk.departments.find((d) => d.code === code);
  return found ? found.name : code || "—";
}

function photos(ids) {
  return el("ul", { class: "photos" }, ...ids.map((id) => el("li", {}, el("a", { href: `/api/v1/media/${id}`, target: "_blank", rel: "noopener" },
    el("img", { src: `/api/v1/media/${id}`, alt: "照片", loading: "lazy" })))));
}

function reportItem(r) {
  return el(
    "li",
    {},
    el("div", { text: `${when(r.received_at)} · ${SOURCE[r.source] || r.source} · ${r.inspector}${r.duplicate ? " · 重复上报" : ""}` }),
    r.description ? el("p", { class: "description", text: r.description }) : null,
    r.address ? el("p", { text: `地址：${r.address}` }) : null,
    r.media.length ? photos(r.media) : null,
  );
}

function historyItem(e) {
  const data = e.data || {};
  const media = Array.isArray(data.media) ? data.media : [];
  return el(
    "li",
    {},
    el("span", { text: EVENT[e.type] || e.type }),
    el("span", { class: "meta", text: ` ${when(e.at)}${e.actor ? " · " + e.actor : ""}` }),
    e.note ? el("p", { class: "note", text: e.note }) : null,
    media.length ? photos(media) : null,
  );
}

function drawMap(c) {
  if (!map) {
    map = baseMap("case-map");
  }
  for (const layer of layers) layer.remove();
  layers = [];
  if (!c.location) {
    map.setView([0, 0], 1);
    return;
  }
  const [lon, lat] = c.location.coordinates;
  layers.push(L.circleMarker([lat, lon], { radius: 8, color: "#1d4ed8", fillOpacity: 0.8 }).addTo(map));
  map.invalidateSize(); // the page may have been resized while the map was hidden
  const again = map.shownCase === c.id; // a live refresh keeps where the person moved the map to
  map.shownCase = c.id;
  if (!again) map.setView([lat, lon], 16);
  if (!c.grid) return;
  const d = 0.0005;
  api("GET", `/api/v1/grids?bbox=${lon - d},${lat - d},${lon + d},${lat + d}`)
    .then((cells) => {
      const cell = cells.features.find((f) => f.properties.code === c.grid.code);
      if (!cell || current.id !== c.id) return;
      const outline = L.geoJSON(cell, { style: { color: "#0f766e", weight: 2, fillOpacity: 0.08 } }).addTo(map);
      layers.push(outline);
      if (!again) map.fitBounds(outline.getBounds(), { maxZoom: 17 });
    })
    .catch(() => {}); // the cell's outline is a help; the case reads without it
}

// The actions: each with its button's name (the contract's accessible names), who may take it from
// which status (the service's rule), when else it applies, and the fields of its form.
const note = (required = false) => ({ name: "note", label: required ? "说明（必填）" : "说明", type: "textarea", required });
// What else the service checks before it takes a request or a decision, read from the case and its
// history, so that a button is offered only where the service would accept it.
function standing(c) {
  const history = c.history || [];
  const resolved = history.filter((e) => e.type === "case.resolved").pop();
  const suspended = history.some((e) => e.type === "case.suspension_decided" && e.data && e.data.approve);
  return {
    beforeDeadline: !c.deadline_at || new Date(c.deadline_at) > new Date(),
    extensionsLeft: c.extensions < desk.settings.max_extensions,
    suspendedBefore: suspended,
    closedLate: Boolean(resolved && resolved.data && resolved.data.on_time === false),
    appealed: history.some((e) => e.type === "case.appealed"),
  };
}

function mayDecide(c) {
  const open = c.open_request;
  const role = desk.user.role;
  if (role === "admin") return true;
  if (open.kind === "appeal") return (open.stage || "dispatcher") === role; // the dispatcher, then the shift lead
  if (open.kind === "extension" && role === "dispatcher") return c.extensions < 1; // a second: the shift lead's
  return true;
}

function actionsFor(c) {
  const open = c.open_request;
  const now = standing(c);
  const decide = { extension: "extension/decide", suspension: "suspension/decide", appeal: "appeal/review" };
  const list = [
    { action: "accept", label: "签收", direct: true },
    { action: "resolve", label: "办结", fields: [note(), { name: "public_reply", label: "对公众的答复", type: "textarea", max: 500 }, { name: "media", label: "处置后照片", type: "photos" }] },
    { action: "reject", label: "回退", fields: [{ name: "reason", label: "回退原因", type: "select", choices: REJECT_REASON }, note(true), { name: "media", label: "证据照片", type: "photos" }] },
    { action: "extension", label: "申请延期", when: !open && now.beforeDeadline && now.extensionsLeft, fields: [{ name: "reason", label: "延期理由", type: "textarea", required: true }, { name: "hours", label: "延期时长（小时，不填为一个原时限）", type: "number" }] },
    { action: "suspension", label: "申请挂账", when: !open && !now.suspendedBefore, fields: [{ name: "until", label: "挂账至", type: "datetime-local", required: true }, { name: "reason", label: "挂账原因", type: "select", choices: SUSPENSION_REASON }, note(true)] },
    { action: "supervise/reply", label: "回复督办", when: Boolean(c.supervision_due_at), fields: [note(true)] },
    { action: "appeal", label: "超时申诉", when: !open && now.closedLate && !now.appealed, fields: [note(true), { name: "media", label: "证明材料照片", type: "photos" }] },
    { action: "file", label: "立案", fields: [{ name: "category", label: "类别", type: "category" }, { name: "condition", label: "立案条件", type: "condition" }, { name: "urgent", label: "紧急", type: "checkbox" }, note()] },
    { action: "void", label: "作废", fields: [{ name: "reason", label: "作废原因", type: "select", choices: VOID_REASON }, note()] },
    { action: "request-check", label: `发起${desk.settings.labels.check_report}`, fields: [note()] },
    { action: "dispatch", label: "派遣", fields: [{ name: "department", label: "派遣部门", type: "department" }, note()] },
    { action: "rule", label: "裁定", fields: [{ name: "department", label: "裁定部门", type: "department" }, { name: "fault", label: "责任", type: "select", choices: FAULT }, note(true)] },
    { action: "supervise", label: "督办", fields: [{ name: "level", label: "督办级别", type: "select", choices: LEVEL }, { name: "reply_hours", label: "回复时限（工作小时）", type: "number", required: true, value: "4" }, note(true)] },
    { action: "resume", label: "恢复办理", fields: [note()] },
    { action: "cancel", label: "撤销", fields: [note()] },
  ];
  if (open && decide[open.kind] && mayDecide(c)) {
    for (const [approve, label] of [[true, "批准"], [false, "驳回"]]) {
      list.push({ action: decide[open.kind], label, approve, fields: [note()] });
    }
  }
  return list.filter((a) => a.when !== false && mayAct(a.action, c.status));
}

function drawActions(c) {
  const box = $("actions");
  const available = actionsFor(c);
  box.replaceChildren(...available.map((a) => {
    const button = el("button", { type: "button", text: a.label });
    button.addEventListener("click", () => (a.direct ? submit(a, {}) : openForm(a)));
    return button;
  }));
  if (!available.length) box.append(el("span", { class: "empty", text: "当前无可办理的操作" }));
  if (opened && !available.some((a) => a.action === opened.action && a.label === opened.label)) closeForm();
}

function closeForm() {
  opened = null;
  $("action-form").hidden = true;
  $("action-form").replaceChildren();
}

function field(f) {
  const id = `f-${f.name}`;
  let control;
  if (f.type === "textarea") control = el("textarea", { id, name: f.name, rows: "3", maxlength: String(f.max || 2000) });
  else if (f.type === "select") {
    control = el("select", { id, name: f.name });
    options(control, Object.entries(f.choices));
  } else if (f.type === "department") {
    control = el("select", { id, name: f.name });
    const first = current.candidates.map((d) => [d.code, `${d.name}（规则推荐）`]);
    const rest = desk.departments.filter((d) => !current.candidates.some((x) => x.code === d.code)).map((d) => [d.code, d.name]);
    options(control, [...first, ...rest], { any: "请选择" });
  } else if (f.type === "category") {
    control = el("select", { id, name: f.name });
    options(control, desk.categories.map((k) => [k.code, k.name]), { chosen: current.category.code });
  } else if (f.type === "condition") control = el("select", { id, name: f.name });
  else if (f.type === "photos") control = el("input", { id, name: f.name, type: "file", accept: "image/jpeg,image/png,image/webp", multiple: true });
  else if (f.type === "checkbox") {
    control = el("input", { id, name: f.name, type: "checkbox", checked: current.urgent });
    return el("label", { class: "inline", for: id }, control, ` ${f.label}`);
  } else control = el("input", { id, name: f.name, type: f.type, step: f.type === "number" ? "any" : null, value: f.value || null });
  control.setAttribute("aria-label", f.label); // its name is the label's words, not its choices too
  return el("label", { for: id }, f.label, control);
}

function conditionsOf(categoryCode) {
  const category = desk.categories.find((k) => k.code === categoryCode);
  return category ? category.conditions : [];
}

function fillConditions(form) {
  const select = form.elements.condition;
  if (!select) return;
  const code = form.elements.category.value;
  const conditions = conditionsOf(code);
  const category = desk.categories.find((k) => k.code === code);
  options(select, conditions.map((x) => [x.code, x.filing]), { any: conditions.length ? "请选择" : "（此类别无立案条件）" });
  select.value = current.condition || (category && category.default_condition) || "";
  select.closest("label").hidden = !conditions.length;
}

function openForm(a) {
  opened = a;
  const form = $("action-form");
  form.replaceChildren(
    el("h4", { text: a.label }),
    ...a.fields.map(field),
    el("div", { class: "buttons" }, el("button", { type: "submit", text: `确认${a.label}` }), el("button", { type: "button", class: "cancel", text: "取消" })),
  );
  form.setAttribute("aria-label", a.label);
  form.noValidate = true;
  form.hidden = false;
  $("action-message").textContent = "";
  if (form.elements.category && form.elements.condition) {
    fillConditions(form);
    form.elements.category.addEventListener("change", () => fillConditions(form));
  }
  form.querySelector("button.cancel").addEventListener("click", closeForm);
  form.onsubmit = async (event) => {
    event.preventDefault();
    const problem = checkForm(a, form);
    if (problem) {
      $("action-message").textContent = problem;
      return;
    }
    setBusy(true); // one click, one action: photos upload before the action is sent
    const body = await bodyOf(a, form);
    if (body) await submit(a, body);
    else setBusy(false);
  };
  (form.querySelector("select, textarea, input") || form).focus();
}

// The form's own checks, in words, before anything is sent.
function checkForm(a, form) {
  for (const f of a.fields) {
    const control = form.elements[f.name];
    const value = control && control.type !== "file" && control.type !== "checkbox" ? String(control.value).trim() : "";
    if (f.required && !value) return `请填写${f.label.replace("（必填）", "")}`;
    if (f.type === "number" && value && !(Number(value) > 0 && Number(value) <= 8784)) {
      return `${f.label}须为大于 0、不超过 8784 的数字`;
    }
    if (f.type === "textarea" && value.length > (f.max || 2000)) return `${f.label}最多 ${f.max || 2000} 字`;
    if (f.type === "datetime-local" && value && new Date(value) <= new Date()) return `${f.label}须晚于现在`;
    if (f.type === "department" && !value) return `请选择${f.label}`;
    if (f.type === "datetime-local" && value && Number.isNaN(new Date(value).getTime())) return `${f.label}不是有效的时间`;
    if (f.type === "photos" && control.files.length > 20) return "照片最多 20 张";
  }
  if (a.action === "file" && form.elements.condition && conditionsOf(form.elements.category.value).length && !form.elements.condition.value) {
    return "请选择立案条件";
  }
  return "";
}

async function upload(files) {
  const ids = [];
  for (const file of files) {
    const stored = await api("POST", "/api/v1/media", file, { "Content-Type": file.type || "application/octet-stream" });
    ids.push(stored.id);
  }
  return ids;
}

async function bodyOf(a, form) {
  const body = {};
  if (a.approve !== undefined) body.approve = a.approve;
  for (const f of a.fields) {
    const control = form.elements[f.name];
    if (!control) continue;
    if (f.type === "photos") {
      if (!control.files.length) continue;
      try {
        body.media = await upload([...control.files]);
      } catch (error) {
        $("action-message").textContent = `照片上传失败：${refusal(error)}`;
        return null;
      }
      continue;
    }
    if (f.type === "checkbox") {
      body[f.name] = control.checked;
      continue;
    }
    const value = String(control.value).trim();
    if (!value) continue;
    if (f.type === "number") body[f.name] = Number(value);
    else if (f.type === "datetime-local") body[f.name] = new Date(value).toISOString();
    else if (f.type === "category" && value === current.category.code) continue; // no correction
    else body[f.name] = value;
  }
  return body;
}

async function submit(a, body) {
  const message = $("action-message");
  message.classList.remove("done");
  message.textContent = "";
  setBusy(true);
  try {
    const after = await api("POST", `/api/v1/cases/${current.id}/${a.action}`, body);
    closeForm();
    message.classList.add("done");
    message.textContent = `已${a.label}`;
    current = after;
    draw(after);
  } catch (error) {
    if (error.status === 401) return signedOut("登录已过期，请重新登录");
    const names = Object.fromEntries((a.fields || []).map((f) => [f.name, f.label.replace("（必填）", "")]));
    message.textContent = refusal(error, names);
  } finally {
    setBusy(false);
  }
}

function setBusy(busy) {
  for (const button of document.querySelectorAll("#actions button, #action-form button")) button.disabled = busy;
}
