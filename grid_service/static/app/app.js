// 巡查通, the inspector's app: report (category, photos, a location fix good enough), the outbox
// that never loses or doubles a report, my tasks (核实, 核查) and the map around me.
// Every string that came from a person or the server is put into the page as text, never as HTML.
import { api, ApiError, csrf, Offline } from "./api.js";
import * as outbox from "./outbox.js";

const MAX_PHOTOS = 5;
const MAX_SIDE = 1600; // px: a photo is scaled down to this before it is stored and sent
const CACHE = { settings: "xunchatong.settings", categories: "xunchatong.categories", user: "xunchatong.user" };
const STATES = { waiting: "等待上传", sending: "正在上传", sent: "已上传", refused: "被退回" };
const STATUS_NAMES = {
  reported: "待受理", pending_dispatch: "待派遣", dispatched: "已派遣", in_progress: "处置中",
  resolved: "待核查", closed: "已结案", cancelled: "已撤销", voided: "已作废", arbitration: "待仲裁",
  suspended: "挂账",
};
const OUTCOMES = {
  check_report: [["confirmed", "属实"], ["not_found", "不属实（现场未发现）"]],
  check_result: [["passed", "已处置，通过"], ["failed", "未处置到位，返工"]],
};

const $ = (id) => document.getElementById(id);
const state = {
  settings: readCache(CACHE.settings) || { accuracy_m: 20, fix_timeout_s: 20, tile_url: null, timezone: "Asia/Shanghai" },
  fix: null, // the latest position: {lon, lat, accuracy_m, at}
  accepted: null, // a fix worse than the threshold, accepted by the inspector
  photos: { before: [], after: [] }, // [{blob, url, lon, lat, accuracy_m, taken_at}]
  syncTimer: null,
  tasks: new Map(),
  taskCursor: "",
  taskLoop: false,
  openTask: null,
};

function currentUser() {
  const user = readCache(CACHE.user);
  return user ? user.username : null;
}

function readCache(key) {
  try {
    return JSON.parse(localStorage.getItem(key) || "null");
  } catch {
    return null;
  }
}

function text(element, value) {
  element.textContent = value == null ? "" : String(value);
  return element;
}

function make(tag, className, value) {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (value !== undefined) text(element, value);
  return element;
}

// --- start -------------------------------------------------------------------------------------

async function start() {
  // Ask the browser to keep the outbox's storage under pressure (it may refuse; nothing else changes).
  if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(() => {});
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/app/sw.js", { scope: "/app/" }).catch(() => {});
  }
  showNetwork();
  window.addEventListener("online", async () => {
    showNetwork();
    await outbox.wake();
    scheduleSync(0);
  });
  window.addEventListener("offline", showNetwork);
  bindForms();
  // A phone that scanned the workbench's QR code opens here with its one-time code: sign in with it
  // (a new sign-in, whoever was kept), and take the code out of the address bar and the history.
  const carried = new URLSearchParams(location.search).get("device_code");
  if (carried) {
    history.replaceState(null, "", location.pathname);
    await signIn({ device_code: carried });
    refreshSettings();
    return;
  }
  // Offline first: a phone that was signed in opens at once on what it kept (the form, the outbox),
  // and learns from the network behind it whether the session still holds.
  const kept = readCache(CACHE.user);
  if (kept) enter(kept);
  else showSignIn();
  refreshSettings();
  if (!kept) return;
  try {
    const session = await api("GET", "/api/v1/session");
    csrf.set(session.csrf_token);
    localStorage.setItem(CACHE.user, JSON.stringify(session.user));
    text($("who"), session.user.display_name || session.user.username);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      localStorage.removeItem(CACHE.user);
      showSignIn("登录已过期，请重新登录");
    }
  }
}

async function refreshSettings() {
  try {
    state.settings = await api("GET", "/app/settings.json");
    localStorage.setItem(CACHE.settings, JSON.stringify(state.settings));
  } catch {
    // offline: the settings of the last visit
  }
}

function showNetwork() {
  text($("network"), navigator.onLine ? "在线" : "离线").classList.toggle("off", !navigator.onLine);
}

function showSignIn(message) {
  $("tabs").hidden = true;
  $("sign-out").hidden = true;
  for (const screen of document.querySelectorAll(".screen")) screen.hidden = screen.id !== "sign-in";
  text($("sign-in-message"), message || "");
  text($("who"), "");
}

function enter(user) {
  text($("who"), user.display_name || user.username);
  $("sign-out").hidden = false;
  $("sign-in").hidden = true;
  $("tabs").hidden = false;
  showTab("report");
  performance.mark("usable"); // the form answers input from here (bench/inspector_app.py reads it)
  loadCategories();
  watchLocation();
  renderOutbox();
  scheduleSync(0);
  if (!state.taskLoop) followTasks();
  if (!state.statusTimer) {
    refreshStatuses();
    state.statusTimer = setInterval(() => navigator.onLine && refreshStatuses(), 60_000);
  }
}

function showTab(name) {
  const screens = { report: "report", outbox: "outbox", tasks: "tasks", map: "map-screen" };
  for (const [tab, id] of Object.entries(screens)) $(id).hidden = tab !== name;
  for (const button of document.querySelectorAll("#tabs button")) {
    if (button.dataset.tab === name) button.setAttribute("aria-current", "page");
    else button.removeAttribute("aria-current");
  }
  if (name === "map") showMap();
}

async function signIn(body) {
  try {
    const session = await api("POST", "/api/v1/session", body);
    csrf.set(session.csrf_token);
    localStorage.setItem(CACHE.user, JSON.stringify(session.user));
    enter(session.user);
  } catch (error) {
    const messages = {
      401: "用户名、密码或设备码不正确",
      429: "失败次数过多，请稍后再试",
      422: body.device_code ? "设备码格式不正确（如 K7Q2-9XMD）" : "请填写完整",
    };
    showSignIn(error instanceof Offline ? "无网络，无法登录" : messages[error.status] || "登录失败");
  }
}

function bindForms() {
  $("password-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    signIn({ username: form.get("username"), password: form.get("password") });
  });
  $("sign-out").addEventListener("click", async () => {
    try {
      await api("DELETE", "/api/v1/session");
    } catch {
      // offline or ended already: forgotten here all the same
    }
    localStorage.removeItem(CACHE.user);
    csrf.set(null);
    state.taskLoop = false;
    state.tasks.clear();
    showSignIn("已退出。未上传的上报保留在本机，本人再次登录后继续上传。");
  });
  $("device-form").addEventListener("submit", (event) => {
    event.preventDefault();
    signIn({ device_code: new FormData(event.target).get("device_code").trim() });
  });
  for (const button of document.querySelectorAll("#tabs button")) {
    button.addEventListener("click", () => showTab(button.dataset.tab));
  }
  $("category").addEventListener("change", showConditions);
  $("photo").addEventListener("change", (event) => addPhotos(event.target, "before"));
  $("after-photo").addEventListener("change", (event) => addPhotos(event.target, "after"));
  $("self-handled").addEventListener("change", (event) => ($("after-block").hidden = !event.target.checked));
  $("accept-fix").addEventListener("click", () => {
    state.accepted = state.fix;
    showFix();
  });
  $("pick-on-map").addEventListener("click", () => {
    state.picking = true;
    showTab("map");
  });
  $("report-form").addEventListener("submit", (event) => {
    event.preventDefault();
    submitReport();
  });
  $("task-back").addEventListener("click", () => closeTask());
  $("task-form").addEventListener("submit", (event) => {
    event.preventDefault();
    completeTask();
  });
}

// --- categories --------------------------------------------------------------------------------

async function loadCategories() {
  showCategories(readCache(CACHE.categories) || []); // the list of the last visit, at once
  try {
    const categories = (await api("GET", "/api/v1/categories")).categories;
    localStorage.setItem(CACHE.categories, JSON.stringify(categories));
    showCategories(categories);
  } catch {
    // offline: the kept list stays
  }
}

function showCategories(categories) {
  const select = $("category");
  const chosen = select.value;
  select.replaceChildren(make("option", null, "请选择类别"));
  select.firstChild.value = "";
  for (const category of categories) {
    const option = make("option", null, category.name);
    option.value = category.code;
    select.append(option);
  }
  select.value = chosen;
  showConditions();
}

// The filing standard's conditions (立案条件) of the chosen category, its default first chosen.
function showConditions() {
  const category = (readCache(CACHE.categories) || []).find((c) => c.code === $("category").value);
  const conditions = category ? category.conditions : [];
  $("condition-block").hidden = conditions.length === 0;
  $("condition").replaceChildren(
    ...conditions.map((condition) => {
      const option = make("option", null, condition.filing);
      option.value = condition.code;
      option.selected = condition.code === category.default_condition;
      return option;
    }),
  );
}

// --- location ----------------------------------------------------------------------------------

function watchLocation() {
  if (!navigator.geolocation || state.watching) return;
  state.watching = true;
  const started = Date.now();
  navigator.geolocation.watchPosition(
    (position) => {
      const { longitude, latitude, accuracy } = position.coords;
      state.fix = { lon: longitude, lat: latitude, accuracy_m: Math.round(accuracy * 10) / 10, at: Date.now() };
      showFix();
    },
    () => text($("fix"), "无法定位：请允许定位权限"),
    { enableHighAccuracy: true, maximumAge: 5000 },
  );
  setTimeout(showFix, (state.settings.fix_timeout_s || 20) * 1000 + 50);
  state.fixStarted = started;
}

function goodEnough(fix) {
  return fix && fix.accuracy_m <= state.settings.accuracy_m;
}

const FIX_MAX_AGE_MS = 2 * 60_000; // a fix older than this is where the phone was, not where it is

function usableFix() {
  if (state.accepted && state.accepted.accuracy_m == null) return state.accepted; // placed by hand: it stands
  const fresh = state.fix && Date.now() - state.fix.at <= FIX_MAX_AGE_MS ? state.fix : null;
  if (goodEnough(fresh)) return fresh;
  return state.accepted;
}

function showFix() {
  const fix = state.fix;
  const threshold = state.settings.accuracy_m;
  const accept = $("accept-fix");
  if (!fix || (state.accepted && state.accepted.accuracy_m == null)) {
    if (state.accepted) text($("fix"), "定位 已在地图上选点");
    else text($("fix"), "定位中…");
    accept.hidden = true;
    const waited = Date.now() - (state.fixStarted || 0) >= (state.settings.fix_timeout_s || 20) * 1000;
    $("pick-on-map").hidden = Boolean(state.accepted) || !waited;
    return;
  }
  if (goodEnough(fix)) {
    text($("fix"), `定位 ±${fix.accuracy_m} 米`);
    accept.hidden = true;
  } else if (state.accepted) {
    const picked = state.accepted.accuracy_m == null;
    text($("fix"), picked ? "定位 已在地图上选点" : `定位 ±${state.accepted.accuracy_m} 米（已接受较差的精度）`);
    accept.hidden = true;
  } else {
    text($("fix"), `定位精度不足：±${fix.accuracy_m} 米（要求 ±${threshold} 米以内）`);
    const waited = Date.now() - (state.fixStarted || 0) >= (state.settings.fix_timeout_s || 20) * 1000;
    accept.hidden = !waited;
    text(accept, `使用此定位（±${fix.accuracy_m} 米）`);
  }
  $("pick-on-map").hidden = accept.hidden;
}

// --- photos ------------------------------------------------------------------------------------

async function scaled(file) {
  const bitmap = await createImageBitmap(file);
  const ratio = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
  const canvas = document.createElement("canvas");
  canvas.width = Math.max(1, Math.round(bitmap.width * ratio));
  canvas.height = Math.max(1, Math.round(bitmap.height * ratio));
  canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  bitmap.close();
  return new Promise((resolve, reject) =>
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("encode"))), "image/jpeg", 0.85),
  );
}

async function addPhotos(input, role) {
  const list = state.photos[role];
  const taken = new Date().toISOString();
  // Where the phone is as the photo is taken: a fix of the last two minutes, else none claimed.
  const fix = state.fix && Date.now() - state.fix.at <= FIX_MAX_AGE_MS ? state.fix : null;
  for (const file of input.files) {
    if (list.length >= MAX_PHOTOS) {
      text($("report-message"), `最多 ${MAX_PHOTOS} 张照片`);
      break;
    }
    try {
      const blob = await scaled(file);
      list.push({ role, blob, url: URL.createObjectURL(blob), taken_at: taken, ...(fix ? place(fix) : {}) });
    } catch {
      text($("report-message"), "这不是可识别的照片");
    }
  }
  input.value = "";
  renderPhotos(role);
}

function place(fix) {
  return { lon: fix.lon, lat: fix.lat, accuracy_m: fix.accuracy_m };
}

function renderPhotos(role) {
  const list = state.photos[role];
  const shown = $(role === "before" ? "photos" : "after-photos");
  shown.replaceChildren(
    ...list.map((photo, index) => {
      const item = make("li");
      const image = make("img");
      image.src = photo.url;
      image.alt = `照片 ${index + 1}`;
      const drop = make("button", "small", "删除");
      drop.type = "button";
      drop.addEventListener("click", () => {
        URL.revokeObjectURL(photo.url);
        list.splice(index, 1);
        renderPhotos(role);
      });
      item.append(image, drop);
      return item;
    }),
  );
}

// --- reporting ---------------------------------------------------------------------------------

async function submitReport() {
  const message = $("report-message");
  const category = $("category").value;
  const selfHandled = $("self-handled").checked;
  const fix = usableFix();
  if (!category) return text(message, "请选择类别");
  if (!fix) return text(message, state.fix ? "定位精度不足：请等待或接受当前定位" : "尚未定位");
  if (selfHandled && (!state.photos.before.length || !state.photos.after.length)) {
    return text(message, "自处置需要处置前和处置后的照片");
  }
  const report = {
    category,
    urgent: $("urgent").checked,
    description: $("description").value.trim() || null,
    location: { type: "Point", coordinates: [fix.lon, fix.lat] },
    accuracy_m: fix.accuracy_m,
    observed_at: new Date().toISOString(),
    self_handled: selfHandled,
  };
  if (!$("condition-block").hidden && $("condition").value) report.condition = $("condition").value;
  const photos = [...state.photos.before, ...state.photos.after].map(({ url, ...photo }) => {
    URL.revokeObjectURL(url);
    return { ...photo, media_id: null };
  });
  await outbox.put(outbox.newItem(report, photos, currentUser()));
  state.photos = { before: [], after: [] };
  state.accepted = null;
  state.fixStarted = Date.now(); // the next report waits for its own good fix before offering a worse one
  setTimeout(showFix, (state.settings.fix_timeout_s || 20) * 1000 + 50);
  $("report-form").reset();
  $("after-block").hidden = true;
  showConditions();
  renderPhotos("before");
  renderPhotos("after");
  showFix();
  text(message, "已保存到待上传");
  await renderOutbox();
  scheduleSync(0);
}

// --- the outbox --------------------------------------------------------------------------------

function scheduleSync(delay) {
  clearTimeout(state.syncTimer);
  state.syncTimer = setTimeout(async () => {
    let next = null;
    try {
      next = await outbox.syncOnce(renderOutbox, currentUser());
    } finally {
      const waitFor = next == null ? 30_000 : Math.max(500, next - Date.now());
      state.syncTimer = setTimeout(() => scheduleSync(0), waitFor);
    }
    if (next === null && !(await outbox.all()).some((i) => i.state === "waiting")) return;
  }, delay);
}

async function renderOutbox() {
  const me = currentUser();
  const items = (await outbox.all()).filter((i) => !i.username || i.username === me);
  const pending = items.filter((i) => i.state !== "sent");
  const waiting = items.filter((i) => i.state === "waiting" || i.state === "sending").length;
  text($("outbox-count"), waiting);
  text($("outbox-waiting"), waiting);
  $("outbox-list").replaceChildren(...pending.map(outboxEntry));
  $("sent-list").replaceChildren(...items.filter((i) => i.state === "sent").reverse().map(sentEntry));
}

function outboxEntry(item) {
  const entry = make("li", `item ${item.state}`);
  entry.dataset.clientId = item.client_id;
  entry.append(
    make("span", "state", STATES[item.state]),
    make("span", "what", `${categoryName(item.report.category)} · ${item.photos.length} 张照片`),
    make("span", "description", item.report.description || ""),
  );
  if (item.message) entry.append(make("span", "reason", item.message));
  if (item.state === "refused") {
    const fix = make("select");
    fix.setAttribute("aria-label", "重新选择类别");
    for (const option of $("category").options) fix.append(option.cloneNode(true));
    const again = make("button", "small", "重新上传");
    again.type = "button";
    again.addEventListener("click", async () => {
      if (fix.value) item.report.category = fix.value;
      Object.assign(item, { state: "waiting", message: null, attempts: 0, next_at: 0 });
      await outbox.put(item);
      await renderOutbox();
      scheduleSync(0);
    });
    const here = make("button", "small", "改用当前定位");
    here.type = "button";
    here.addEventListener("click", async () => {
      const fix = usableFix();
      if (!fix) return text(entry.querySelector(".reason"), "尚无可用的定位");
      item.report.location = { type: "Point", coordinates: [fix.lon, fix.lat] };
      item.report.accuracy_m = fix.accuracy_m;
      await outbox.put(item);
      text(here, "已改用当前定位"); // the entry stays as it is: a category being chosen is kept
    });
    entry.append(here);
    item.photos.forEach((photo, index) => {
      const drop = make("button", "small", `去掉照片 ${index + 1}`);
      drop.type = "button";
      drop.addEventListener("click", async () => {
        item.photos.splice(index, 1);
        await outbox.put(item);
        await renderOutbox();
      });
      entry.append(drop);
    });
    const discard = make("button", "small", "放弃");
    discard.type = "button";
    discard.addEventListener("click", async () => {
      await outbox.remove(item.client_id);
      await renderOutbox();
    });
    entry.append(fix, again, discard);
  }
  return entry;
}

// My reports' statuses, as the service has them now (not the ones already finished).
async function refreshStatuses() {
  const finished = new Set(["closed", "cancelled", "voided"]);
  for (const item of await outbox.all()) {
    if (item.state !== "sent" || finished.has(item.status)) continue;
    try {
      const found = await api("GET", `/api/v1/cases/${item.case_id}`);
      if (found.status !== item.status) {
        item.status = found.status;
        await outbox.put(item);
      }
    } catch {
      return; // offline, or signed out: another time
    }
  }
  await renderOutbox();
}

function sentEntry(item) {
  const entry = make("li", "item sent");
  entry.dataset.clientId = item.client_id;
  entry.append(
    make("span", "case-no", item.case_no),
    make("span", "what", categoryName(item.report.category)),
    make("span", "status", STATUS_NAMES[item.status] || item.status || ""),
    make("span", "description", item.report.description || ""),
  );
  return entry;
}

function categoryName(code) {
  const found = (readCache(CACHE.categories) || []).find((c) => c.code === code);
  return found ? found.name : code;
}

// --- my tasks ----------------------------------------------------------------------------------

async function followTasks() {
  state.taskLoop = true;
  while (state.taskLoop) {
    try {
      const page = await api("GET", `/api/v1/tasks?status=open&wait=20&after=${encodeURIComponent(state.taskCursor)}`);
      state.taskCursor = page.cursor;
      for (const task of page.tasks) {
        if (task.status === "open") state.tasks.set(task.id, task);
        else state.tasks.delete(task.id);
      }
      renderTasks();
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) {
        state.taskLoop = false;
        return showSignIn("登录已过期，请重新登录");
      }
      await new Promise((resolve) => setTimeout(resolve, 3000));
    }
  }
}

function renderTasks() {
  const tasks = [...state.tasks.values()];
  text($("task-count"), tasks.length);
  $("task-list").replaceChildren(
    ...tasks.map((task) => {
      const entry = make("li", "item task");
      const open = make("button", "task-open", `${task.label} · ${task.case_no}`);
      open.type = "button";
      open.addEventListener("click", () => openTask(task));
      entry.append(open, make("span", "due", `期限 ${formatTime(task.due_at)}`));
      return entry;
    }),
  );
}

async function openTask(task) {
  state.openTask = task;
  $("task-list").hidden = true;
  $("task-detail").hidden = false;
  text($("task-title"), `${task.label} · ${task.case_no}`);
  text($("task-message"), "");
  text($("task-submit"), `提交${task.label}结果`);
  const outcome = $("task-outcome");
  outcome.replaceChildren(
    ...(OUTCOMES[task.kind] || []).map(([value, name]) => {
      const option = make("option", null, name);
      option.value = value;
      return option;
    }),
  );
  try {
    const found = await api("GET", `/api/v1/cases/${task.case_id}`);
    const report = found.reports[0] || {};
    text($("task-description"), `${categoryName(found.category.code)}：${report.description || ""}`);
    $("task-photos").replaceChildren(
      ...(report.media || []).map((id) => {
        const image = make("img");
        image.src = `/api/v1/media/${id}`;
        image.alt = "上报照片";
        return image;
      }),
    );
    showTaskMap(found.location);
  } catch {
    text($("task-description"), "无网络：案件详情稍后显示");
  }
}

// Where the case is, and where the phone is: the check is made on the spot.
async function showTaskMap(location) {
  const L = await leaflet();
  if (!L || !location) return;
  if (!state.taskMap) {
    state.taskMap = L.map("task-map", { zoomControl: false });
    if (state.settings.tile_url) L.tileLayer(state.settings.tile_url, { maxZoom: 19 }).addTo(state.taskMap);
    state.taskLayer = L.layerGroup().addTo(state.taskMap);
  }
  state.taskLayer.clearLayers();
  const [lon, lat] = location.coordinates;
  L.circleMarker([lat, lon], { radius: 8, color: "#b45309" }).addTo(state.taskLayer).bindTooltip(make("span", null, "案件位置"));
  const fix = state.fix;
  if (fix) L.circleMarker([fix.lat, fix.lon], { radius: 6, color: "#0f766e" }).addTo(state.taskLayer).bindTooltip(make("span", null, "我的位置"));
  state.taskMap.setView([lat, lon], 17);
  state.taskMap.invalidateSize();
}

function closeTask() {
  state.openTask = null;
  $("task-detail").hidden = true;
  $("task-list").hidden = false;
}

async function completeTask() {
  const task = state.openTask;
  const message = $("task-message");
  const file = $("task-photo").files[0];
  const fix = usableFix();
  if (!file) return text(message, "请拍照");
  if (!fix) return text(message, state.fix ? "定位精度不足：请在上报页接受当前定位后再提交" : "尚未定位");
  try {
    const blob = await scaled(file);
    const query = new URLSearchParams({ lon: fix.lon, lat: fix.lat, accuracy_m: fix.accuracy_m, taken_at: new Date().toISOString() });
    const stored = await api("POST", `/api/v1/media?${query}`, blob, { "Content-Type": "image/jpeg" });
    await api("POST", `/api/v1/tasks/${task.id}/complete`, {
      outcome: $("task-outcome").value,
      media: [stored.id],
      location: { type: "Point", coordinates: [fix.lon, fix.lat] },
    });
    state.tasks.delete(task.id);
    renderTasks();
    closeTask();
    $("task-form").reset();
  } catch (error) {
    const reasons = {
      too_far: "距离案件位置太远，请到现场后再提交",
      conflict: "该任务已完成",
      invalid_transition: "案件状态已变化",
    };
    const code = error.body && error.body.error && error.body.error.code;
    text(message, error instanceof Offline ? "无网络，请稍后再提交" : reasons[code] || `提交失败（${error.message}）`);
  }
}

// --- the map around me -------------------------------------------------------------------------

// Leaflet, loaded the first time a map is shown (the report form never waits for it).
async function leaflet() {
  if (!window.L) {
    await new Promise((resolve, reject) => {
      const style = document.createElement("link");
      style.rel = "stylesheet";
      style.href = "/static/leaflet/leaflet.css";
      document.head.append(style);
      const script = document.createElement("script");
      script.src = "/static/leaflet/leaflet.js";
      script.onload = resolve;
      script.onerror = reject;
      document.head.append(script);
    }).catch(() => null);
  }
  return window.L || null;
}

async function showMap() {
  const fix = state.fix;
  if (!(await leaflet())) return text($("map-message"), "地图暂不可用");
  if (!state.map) {
    state.map = window.L.map("map", { zoomControl: true });
    if (state.settings.tile_url) window.L.tileLayer(state.settings.tile_url, { maxZoom: 19 }).addTo(state.map);
    state.layer = window.L.layerGroup().addTo(state.map);
    state.map.on("click", (event) => {
      if (!state.picking) return;
      // A point placed by hand: no accuracy to claim for it.
      state.accepted = { lon: event.latlng.lng, lat: event.latlng.lat, accuracy_m: null, at: Date.now() };
      state.picking = false;
      showFix();
      showTab("report");
    });
  }
  $("pick-hint").hidden = !state.picking;
  const bounds = state.settings.bounds; // the grid's extent, until the phone knows where it is
  const center = fix ? [fix.lat, fix.lon] : bounds ? [(bounds[1] + bounds[3]) / 2, (bounds[0] + bounds[2]) / 2] : [0, 0];
  state.map.setView(center, 16);
  state.layer.clearLayers(); // drawn afresh each time the map is shown
  if (fix) window.L.circleMarker(center, { radius: 6, color: "#0f766e" }).addTo(state.layer).bindTooltip(make("span", null, "我的位置"));
  const d = 0.01;
  const bbox = fix ? `${fix.lon - d},${fix.lat - d},${fix.lon + d},${fix.lat + d}` : null;
  // My cells (the grid prefixes I answer for), outlined, with how many cases are open in each.
  const mine = (readCache(CACHE.user) || {}).grids || [];
  try {
    const grid = await api("GET", `/api/v1/grids${bbox ? `?bbox=${bbox}` : ""}`);
    for (const cell of grid.features) {
      if (!mine.some((prefix) => cell.properties.code.startsWith(prefix))) continue;
      const outline = window.L.geoJSON(cell, { style: { color: "#0f766e", weight: 2, fillOpacity: 0.05 } });
      outline.bindTooltip(make("span", null, `${cell.properties.name || cell.properties.code}：未结案件 ${cell.properties.open_cases ?? ""}`));
      outline.addTo(state.layer);
    }
  } catch {
    // the cells are drawn another time
  }
  try {
    const answer = await api("GET", `/api/v1/map/cases${bbox ? `?bbox=${bbox}` : ""}`);
    for (const feature of answer.features) {
      const [lon, lat] = feature.geometry.coordinates;
      const p = feature.properties;
      const marker = window.L.circleMarker([lat, lon], { radius: 7, color: "#b45309" });
      // An element, not a string: Leaflet puts a string in as HTML.
      marker.bindTooltip(make("span", null, `${p.case_no} ${categoryName(p.category)} ${STATUS_NAMES[p.status] || p.status}`));
      marker.addTo(state.layer);
    }
    text($("map-message"), `附近未结案件 ${answer.features.length} 件`);
  } catch {
    text($("map-message"), "无网络：附近案件稍后显示");
  }
}

function formatTime(value) {
  if (!value) return "";
  return new Intl.DateTimeFormat("zh-CN", {
    timeZone: state.settings.timezone, month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false,
  }).format(new Date(value));
}

start();
