// 工作台: the shell. It signs the person in, shows the views their role has (and nothing else), keeps
// the view and its filters in the page address, and refreshes what is shown when the live feed says
// a case changed. The lists are lists.js's, the case page case.js's, the statistics stats.js's.
import { api, csrf } from "/app/static/api.js";
import { $, el, refusal, useTimeZone, ROLE } from "/desk/static/words.js";
import { showList, refreshList } from "/desk/static/lists.js";
import { showCase, refreshCase, currentCase } from "/desk/static/case.js";
import { showRegister } from "/desk/static/register.js";
import { showStats } from "/desk/static/stats.js";
import { showDevices } from "/desk/static/devices.js";

const PEOPLE = ["department", "receiver", "dispatcher", "shift_lead", "viewer", "admin"];
// Each view: who sees it, and the cases it lists (the API's filters) or the page it is.
const VIEWS = [
  { id: "inbox", title: "待签收", roles: ["department", "admin"], query: { status: "dispatched" }, pick: true },
  { id: "doing", title: "在办", roles: ["department", "admin"], query: { status: "in_progress" } },
  { id: "closed", title: "已结案", roles: ["department"], query: { status: "closed" } },
  { id: "returned", title: "返工", roles: ["department", "admin"], query: { status: "in_progress", reworked: "true" } },
  { id: "reported", title: "待受理", roles: ["receiver", "shift_lead", "admin"], query: { status: "reported" } },
  { id: "pending", title: "待派遣", roles: ["dispatcher", "shift_lead", "admin"], query: { status: "pending_dispatch" } },
  { id: "requests", title: "申请", roles: ["department", "dispatcher", "shift_lead", "admin"], query: { open_request: "any" } },
  { id: "arbitration", title: "待仲裁", roles: ["shift_lead", "admin"], query: { status: "arbitration" } },
  { id: "supervised", title: "督办", roles: ["department", "dispatcher", "shift_lead", "admin"], query: { supervised: "true" } },
  { id: "all", title: "案件查询", roles: PEOPLE, query: {}, statusFilter: true },
  { id: "register", title: "电话登记", page: "register", only: ["receiver", "shift_lead", "admin"] },
  { id: "stats", title: "统计", page: "stats" },
  { id: "devices", title: "设备码", page: "device_code" },
];
const FIRST = { department: "inbox", receiver: "reported", dispatcher: "pending", shift_lead: "pending" };

export const desk = { user: null, settings: null, categories: [], departments: [], views: [], lastList: "" };

export function mayAct(action, status) {
  const rule = desk.settings.actions[action];
  return Boolean(rule && rule.roles.includes(desk.user.role) && rule.from.includes(status));
}

// Moves to another address of the workbench without a reload; the back button comes back to it.
export function go(params, { replace = false } = {}) {
  const search = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== "" && v != null)).toString();
  const address = `/desk/${search ? "?" + search : ""}`;
  if (replace) history.replaceState(null, "", address);
  else history.pushState(null, "", address);
  route();
}

function viewsOf(role) {
  return VIEWS.filter((view) => {
    if (view.page) {
      const allowed = desk.settings.pages[view.page] || [];
      return allowed.includes(role) && (!view.only || view.only.includes(role));
    }
    return view.roles.includes(role);
  });
}

function route() {
  const params = new URLSearchParams(location.search);
  for (const id of ["list-view", "case-view", "register-view", "stats-view", "devices-view"]) $(id).hidden = true;
  const caseId = params.get("case");
  const wanted = params.get("view");
  const view = desk.views.find((v) => v.id === wanted) || desk.views.find((v) => v.id === FIRST[desk.user.role]) ||
    desk.views[0];
  for (const link of $("views").querySelectorAll("a")) {
    if (!caseId && link.dataset.view === view.id) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  if (caseId) return showCase(caseId);
  if (view.page === "register") return showRegister();
  if (view.page === "stats") return showStats(params);
  if (view.page === "device_code") return showDevices();
  return showList(view, params);
}

function buildNav() {
  const nav = $("views");
  nav.replaceChildren();
  for (const view of desk.views) {
    const link = el("a", { href: `/desk/?view=${view.id}`, "data-view": view.id, text: view.title });
    link.addEventListener("click", (event) => {
      event.preventDefault();
      go({ view: view.id });
    });
    nav.append(link);
  }
  nav.hidden = false;
}

// The live feed: any change to a case the person may see refreshes the list or the case shown. The
// feed scopes itself (a department's clerk hears only of its department's cases).
let feed = null;
let timer = null;
let listDirty = false;
const casesDirty = new Set();
const REFRESH_MS = 150; // events closer together than this are drawn once, never dropped

function refreshSoon() {
  if (timer) return;
  timer = setTimeout(() => {
    timer = null;
    if (!$("case-view").hidden) {
      if (casesDirty.has(currentCase())) refreshCase();
    } else if (!$("list-view").hidden && listDirty) refreshList();
    listDirty = false;
    casesDirty.clear();
  }, REFRESH_MS);
}

function listen() {
  if (feed) feed.close();
  feed = new EventSource("/api/v1/feed");
  const live = $("live");
  feed.onopen = () => {
    live.textContent = "实时";
    live.classList.remove("off");
    // What changed between the page's first read and the feed (re)connecting is read again.
    listDirty = true;
    if (currentCase()) casesDirty.add(currentCase());
    refreshSoon();
  };
  feed.onerror = () => {
    live.textContent = "重新连接…";
    live.classList.add("off");
    sessionHolds();
  };
  const changed = (message) => {
    try {
      casesDirty.add(JSON.parse(message.data).id);
    } catch {
      // a frame that is not a case: the list is read again all the same
    }
    listDirty = true;
    refreshSoon();
  };
  for (const type of desk.settings.event_types) feed.addEventListener(type, changed);
}

// A feed that drops may mean the session ended (signed out elsewhere, expired): say so.
async function sessionHolds() {
  try {
    await api("GET", "/api/v1/session");
  } catch (error) {
    if (error.status === 401) signedOut("登录已过期，请重新登录");
  }
}

export function signedOut(message) {
  if (feed) feed.close();
  feed = null;
  csrf.set(null);
  showSignIn(message);
}

async function enter(user) {
  desk.user = user;
  $("sign-in").hidden = true;
  $("who").textContent = `${user.display_name || user.username}（${ROLE[user.role] || user.role}${user.department ? " · " + user.department : ""}）`;
  $("sign-out").hidden = false;
  const [categories, departments] = await Promise.all([api("GET", "/api/v1/categories"), api("GET", "/api/v1/departments")]);
  desk.categories = categories.categories;
  desk.departments = departments.departments;
  desk.views = viewsOf(user.role);
  buildNav();
  listen();
  route();
}

function showSignIn(message = "") {
  for (const id of ["list-view", "case-view", "register-view", "stats-view", "devices-view"]) $(id).hidden = true;
  $("views").hidden = true;
  $("sign-out").hidden = true;
  $("who").textContent = "";
  $("sign-in").hidden = false;
  $("sign-in-message").textContent = message;
}

function bind() {
  $("sign-in-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    try {
      const session = await api("POST", "/api/v1/session", {
        username: String(form.get("username")).trim(), password: form.get("password"),
      });
      if (!PEOPLE.includes(session.user.role)) {
        await api("DELETE", "/api/v1/session");
        showSignIn("工作台供受理员、派遣员、值班长和部门使用；监督员请用巡查通（/app/）");
        return;
      }
      csrf.set(session.csrf_token);
      event.target.reset();
      await enter(session.user);
    } catch (error) {
      const messages = { 401: "用户名或密码不正确", 429: "失败次数过多，请稍后再试", 422: "请填写用户名和密码" };
      showSignIn(messages[error.status] || refusal(error));
    }
  });
  $("sign-out").addEventListener("click", async () => {
    try {
      await api("DELETE", "/api/v1/session");
    } catch {
      // ended already: signed out here all the same
    }
    signedOut("已退出");
  });
  window.addEventListener("popstate", () => desk.user && route());
  $("back").addEventListener("click", (event) => {
    event.preventDefault(); // back to the list the case was opened from, its filters and page kept
    history.pushState(null, "", `/desk/${desk.lastList || ""}`);
    route();
  });
}

async function start() {
  bind();
  try {
    const answer = await fetch("/desk/settings.json");
    if (!answer.ok) throw new Error(`HTTP ${answer.status}`);
    desk.settings = await answer.json();
  } catch {
    showSignIn("工作台暂时无法打开（服务未响应），请稍后刷新页面");
    return;
  }
  useTimeZone(desk.settings.timezone);
  // Without a CSRF token kept, this browser has not signed in: the sign-in form, without asking.
  if (!csrf.get()) return showSignIn();
  try {
    const session = await api("GET", "/api/v1/session");
    if (!PEOPLE.includes(session.user.role)) return showSignIn();
    csrf.set(session.csrf_token);
    await enter(session.user);
  } catch {
    showSignIn();
  }
}

start();
