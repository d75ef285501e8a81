// The command-center wall screen: grid cells, every open case coloured by its light, live from the feed,
// the day's figures, and one case at a time opened with its photos and history.
// Every string that came from a user is put into the page as text (textContent), never as HTML.
"use strict";

(() => {
  // The event types, the running and finished statuses, the city's time zone, the grid's extent and
  // who may read the figures come from the service (/map/settings.json), so the page copies none of
  // them by hand.
  let EVENT_TYPES = [];
  let RUNNING = new Set();
  let FINISHED = new Set();
  let STATS_ROLES = new Set();
  let LABELS = {};
  const COLOURS = {
    green: "#22c55e", yellow: "#facc15", red: "#ef4444", blue: "#38bdf8", grey: "#64748b", suspended: "#a78bfa",
  };
  const STATUS_NAMES = {
    reported: "待受理 awaiting a receiver", voided: "已作废 voided",
    pending_dispatch: "待派遣 pending dispatch", dispatched: "已派遣 dispatched", in_progress: "处置中 in progress",
    resolved: "待核查 awaiting check", closed: "已结案 closed", cancelled: "已撤销 cancelled",
    arbitration: "待仲裁 in arbitration", suspended: "挂账 suspended",
  };
  const EVENT_NAMES = {
    "case.created": "上报 reported", "case.reported_again": "再次上报 reported again",
    "case.filed": "立案 filed", "case.voided": "作废 voided", "case.dispatched": "派遣 dispatched",
    "case.accepted": "签收 accepted", "case.resolved": "办结 resolved", "case.closed": "结案 closed",
    "case.reopened": "重新办理 reopened", "case.rejected": "回退 returned", "case.cancelled": "撤销 cancelled",
    "case.warning": "预警 warning", "case.overdue": "超期 overdue", "case.escalated": "升级 escalated",
    "case.check_requested": "派出任务 check sent", "case.check_completed": "任务完成 check done",
    "case.check_reassigned": "任务改派 check reassigned", "case.step_overdue": "环节超时 step overdue",
    "case.acceptance_overdue": "签收超时 not signed for", "case.ruled": "裁定 ruled",
    "case.extension_requested": "申请延期 extension asked", "case.extension_decided": "延期审批 extension decided",
    "case.suspension_requested": "申请挂账 suspension asked", "case.suspension_decided": "挂账审批 suspension decided",
    "case.resumed": "恢复办理 resumed", "case.supervised": "督办 supervised",
    "case.supervision_replied": "督办答复 replied", "case.supervision_overdue": "督办超时 reply overdue",
    "case.appealed": "超时申诉 appealed", "case.appeal_reviewed": "申诉审核 appeal reviewed",
  };
  // What waits for the shift lead, as the list names it.
  const REQUESTS = { extension: "延期申请 extension", suspension: "挂账申请 suspension", appeal: "超时申诉 appeal" };
  const REASONS = {
    outside_grid: "网格外 outside grid", no_rule: "无派遣规则 no rule", rejected: "被退回 rejected",
    no_location: "无坐标 address only",
  };
  const SOURCES = {
    inspector: "监督员上报 inspector", public: "公众举报 public", hotline: "12345 热线 hotline",
    leader: "领导交办 leader", sensor: "视频/物联网 sensor",
  };
  // A finished case comes onto the map only with the event that finished it (or that created it
  // finished: a problem fixed on the spot): a later event of a case finished on another day, an
  // appeal say, does not bring it back.
  const FINISHING_EVENTS = new Set(["case.closed", "case.cancelled", "case.voided", "case.created"]);
  const RECONNECT_MS = 3000;
  const FIGURES_GAP_MS = 5000; // the day's figures are read at most this often (a heavy read for the service)
  const FIGURES_SETTLE_MS = 300; // a burst of events is read once
  const FIGURES_EVERY_MS = 60000; // and with no events, as deadlines pass and cases fall due
  const PHOTOS_SHOWN = 12;

  let TIME_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone; // until the service says the city's
  let TIME = null;
  let CLOCK = null;
  let DAY = null;

  function useTimeZone(timeZone) {
    TIME_ZONE = timeZone;
    TIME = new Intl.DateTimeFormat("zh-CN", {
      timeZone, month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false,
    });
    CLOCK = new Intl.DateTimeFormat("zh-CN", {
      timeZone, year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
    });
    DAY = new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" });
  }
  useTimeZone(TIME_ZONE);

  // The instant (ms since the epoch) at which the day containing `now` ends in `timeZone`: its next
  // midnight there. Read from the zone's own clock, so its offset (and a change of summer time during
  // the day) is the zone's; where a zone skips midnight itself, the day ends at its first instant.
  function dayEndsAt(now, timeZone) {
    const wall = wallClock(timeZone);
    const offsetAt = (t) => {
      const p = wall(t);
      return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - Math.floor(t / 1000) * 1000;
    };
    const today = wall(now);
    const midnight = Date.UTC(today.year, today.month - 1, today.day + 1); // as if the zone were UTC
    const first = midnight - offsetAt(now);
    const second = midnight - offsetAt(first); // with the offset in force at midnight itself
    const sameDay = (a, b) => a.year === b.year && a.month === b.month && a.day === b.day;
    return sameDay(wall(second), today) ? first : second;
  }

  // The instant at which the day containing `now` began in `timeZone`: its midnight there, which is
  // the end of the day before (found from two days back, however long the days between).
  function dayStartsAt(now, timeZone) {
    let start = dayEndsAt(now - 2 * 86400000, timeZone);
    for (let next = dayEndsAt(start, timeZone); next <= now; next = dayEndsAt(start, timeZone)) start = next;
    return start;
  }

  const wallClocks = new Map();

  function wallClock(timeZone) {
    if (!wallClocks.has(timeZone)) {
      const format = new Intl.DateTimeFormat("en-US", {
        timeZone, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric",
        hour: "numeric", minute: "numeric", second: "numeric",
      });
      wallClocks.set(timeZone, (t) => {
        const parts = {};
        for (const { type, value } of format.formatToParts(new Date(t))) parts[type] = Number(value);
        return parts;
      });
    }
    return wallClocks.get(timeZone);
  }

  const token = takeToken();
  let signedIn = null; // the account, when the page reads with the browser's session instead of a token
  const cases = new Map(); // case id -> GeoJSON Feature, as last read
  const markers = new Map(); // case id -> Leaflet circle marker
  const cells = new Map(); // cell code -> Leaflet layer
  const cellNames = new Map(); // cell code -> name
  const categoryNames = new Map(); // category code -> name
  const departmentNames = new Map(); // department code -> name
  const closedToday = new Set(); // cases closed today: in the snapshot, or seen closing since
  const filter = { category: "", department: "" };
  let feed = null;
  let renderQueued = false;

  const map = L.map("map", { preferCanvas: true, zoomSnap: 0.25, attributionControl: false });
  map.setView([0, 0], 2); // until the grid's extent is known

  function takeToken() {
    // The token arrives once in the address (?access_token=) and is kept for this tab only, out of the URL.
    const url = new URL(window.location.href);
    const given = url.searchParams.get("access_token");
    if (given) {
      sessionStorage.setItem("grid-service-token", given);
      url.searchParams.delete("access_token");
      history.replaceState(null, "", url.pathname + url.search + url.hash);
    }
    return given || sessionStorage.getItem("grid-service-token");
  }

  // With a token, every read carries it; without one, the browser's session cookie goes by itself
  // (same origin), and a read needs no CSRF token.
  function read(path) {
    return fetch(path, { headers: token ? { Authorization: `Bearer ${token}` } : {}, credentials: "same-origin" });
  }

  async function api(path) {
    const response = await read(path);
    if (response.status === 401 || response.status === 403) throw new Refused(response.status);
    if (!response.ok) throw new Error(`${path} answered ${response.status}`);
    return response.json();
  }

  // The service answered, and refused who is asking: retrying will not help, a new token or signing in will.
  class Refused extends Error {
    constructor(status) {
      let message;
      if (token) {
        message = status === 401 ? "令牌无效或已撤销 the token is unknown or revoked" : "此令牌无权查看 this token may not read the map";
      } else {
        message = status === 401 ? "登录已失效 the session has ended" : "此账号无权查看 this account may not read the map";
      }
      super(message);
      this.name = "Refused";
    }
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function showProblem(message) {
    const box = document.getElementById("problem");
    box.textContent = message;
    box.hidden = !message;
  }

  function formatTime(iso) {
    return iso ? TIME.format(new Date(iso)) : "—";
  }

  function isOverdue(p, now) {
    return RUNNING.has(p.status) && p.deadline_at !== null && Date.parse(p.deadline_at) <= now;
  }

  function isWarning(p, now) {
    // 80 % of its limit used and not yet overdue: the yellow list
    return RUNNING.has(p.status) && p.warn_at !== null && Date.parse(p.warn_at) <= now && !isOverdue(p, now);
  }

  function colourOf(p, now) {
    if (FINISHED.has(p.status)) return "grey";
    if (p.status === "suspended") return "suspended"; // its clock stands still: its own colour
    if (isOverdue(p, now)) return "red";
    // Yellow from the instant the service computed with the deadline: the page turns a case yellow
    // by itself as time passes, without waiting for an event.
    if (RUNNING.has(p.status)) return p.warn_at !== null && Date.parse(p.warn_at) <= now ? "yellow" : "green";
    // Waiting for a receiver or a dispatcher: blue while within its step's limit, then yellow, red.
    if (p.step_due_at) {
      if (Date.parse(p.step_due_at) <= now) return "red";
      if (Date.parse(p.step_warn_at) <= now) return "yellow";
    }
    return "blue";
  }

  function styleOf(p, now) {
    const colour = COLOURS[colourOf(p, now)];
    const finished = FINISHED.has(p.status);
    return {
      radius: p.urgent ? 7 : 5, color: "#0b1220", weight: 1, fillColor: colour,
      fillOpacity: finished ? 0.45 : 0.95,
    };
  }

  function passes(p) {
    return (!filter.category || p.category === filter.category) && (!filter.department || p.department === filter.department);
  }

  function place(id) {
    // A marker is on the map while its case passes the filters.
    const marker = markers.get(id);
    const feature = cases.get(id);
    if (!marker || !feature) return;
    const shown = passes(feature.properties);
    if (shown && !map.hasLayer(marker)) marker.addTo(map);
    if (!shown && map.hasLayer(marker)) marker.remove();
  }

  function finishedBeforeToday(feature, now) {
    // When it finished: its event's instant from the feed, the snapshot's finished_at, else just now.
    const p = feature.properties;
    const event = p.event;
    const at = event && event.at ? Date.parse(event.at) : p.finished_at ? Date.parse(p.finished_at) : now;
    return dayEndsAt(at, TIME_ZONE) <= now;
  }

  function upsert(feature) {
    const p = feature.properties;
    const previous = cases.get(feature.id);
    const now = Date.now();
    if (FINISHED.has(p.status)) {
      // A case finished today stays, grey, until the city's midnight (endOfDay takes it away then).
      const event = p.event ? p.event.type : null;
      if (!previous && event !== null && !FINISHING_EVENTS.has(event)) return;
      if (finishedBeforeToday(feature, now)) {
        drop(feature.id);
        return;
      }
    }
    cases.set(feature.id, feature);
    if (p.status === "closed" && (!previous || previous.properties.status !== "closed")) closedToday.add(feature.id);
    if (p.status !== "closed") closedToday.delete(feature.id); // reopened
    scheduleRecolour(nextChange(p, now));
    if (openId === feature.id) refreshPanelSoon();
    if (!feature.geometry) {  // placed by address alone: listed, not drawn
      queueRender();
      return;
    }
    const [lon, lat] = feature.geometry.coordinates;
    let marker = markers.get(feature.id);
    if (!marker) {
      marker = L.circleMarker([lat, lon], styleOf(p, now));
      marker.on("click", () => openCase(feature.id));
      markers.set(feature.id, marker);
    } else {
      marker.setLatLng([lat, lon]);
      marker.setStyle(styleOf(p, now));
    }
    place(feature.id);
    queueRender();
  }

  function drop(id) {
    markers.get(id)?.remove();
    markers.delete(id);
    cases.delete(id);
    closedToday.delete(id);
    queueRender();
  }

  // Lights change without events (a case turns yellow, then red, as time passes): recolour at the
  // next such instant of any case on the map, and at least every 30 s.
  let recolourTimer = null;
  let recolourAt = Infinity;

  function scheduleRecolour(at) {
    if (at >= recolourAt) return;
    recolourAt = at;
    clearTimeout(recolourTimer);
    recolourTimer = setTimeout(recolour, Math.max(0, at - Date.now()) + 50);
  }

  function nextChange(p, now) {
    const moments = RUNNING.has(p.status) ? [p.warn_at, p.deadline_at] : [p.step_warn_at, p.step_due_at];
    let soonest = Infinity;
    for (const iso of moments) {
      const at = iso ? Date.parse(iso) : NaN;
      if (at > now && at < soonest) soonest = at;
    }
    return soonest;
  }

  function recolour() {
    const now = Date.now();
    if (now >= dayEnd) endOfDay(); // the clock was set forward past midnight, or the timer slept
    let soonest = now + 30000;
    for (const [id, feature] of cases) {
      markers.get(id)?.setStyle(styleOf(feature.properties, now));
      soonest = Math.min(soonest, nextChange(feature.properties, now));
    }
    queueRender();
    recolourAt = Infinity;
    scheduleRecolour(soonest);
  }

  // The end of the city's day: the cases finished during it leave the map, and the figures start afresh.
  let dayEnd = Infinity;
  let dayTimer = null;

  function scheduleDayEnd() {
    dayEnd = dayEndsAt(Date.now(), TIME_ZONE);
    clearTimeout(dayTimer);
    dayTimer = setTimeout(endOfDay, dayEnd - Date.now());
  }

  function endOfDay() {
    if (Date.now() < dayEnd) {  // woken early (the clock was set back): wait for the real midnight
      clearTimeout(dayTimer);
      dayTimer = setTimeout(endOfDay, dayEnd - Date.now());
      return;
    }
    for (const [id, feature] of [...cases]) {
      if (FINISHED.has(feature.properties.status)) drop(id);
    }
    closedToday.clear();
    showFigures(null);
    // Read a moment after midnight, so that a service whose clock is a little behind is in the new day too.
    figuresSoon(FIGURES_GAP_MS);
    scheduleDayEnd();
  }

  function queueRender() {
    if (renderQueued) return;
    renderQueued = true;
    requestAnimationFrame(() => {
      renderQueued = false;
      render();
    });
  }

  function render() {
    const now = Date.now();
    const counts = {
      reported: 0, pending_dispatch: 0, dispatched: 0, in_progress: 0, resolved: 0, overdue: 0, warning: 0,
      check_report: 0, check_result: 0, arbitration: 0, suspended: 0, supervised: 0, closed: 0,
    };
    const forLead = [];
    const supervised = [];
    const reported = [];
    const checksBy = new Map();
    const perCell = new Map();
    const overdue = [];
    const warning = [];
    const pending = [];
    for (const feature of cases.values()) {
      const p = feature.properties;
      if (!passes(p)) continue;
      if (p.status in counts && p.status !== "closed") counts[p.status] += 1;
      if (closedToday.has(feature.id)) counts.closed += 1;
      if (!FINISHED.has(p.status) && p.grid) perCell.set(p.grid, (perCell.get(p.grid) || 0) + 1);
      if (isOverdue(p, now)) {
        counts.overdue += 1;
        overdue.push(feature);
      }
      if (isWarning(p, now)) {
        counts.warning += 1;
        warning.push(feature);
      }
      if (p.status === "pending_dispatch") pending.push(feature);
      if (p.status === "reported") reported.push(feature);
      if (p.status === "arbitration" || p.open_request) forLead.push(feature);
      if (p.supervision_due_at && !FINISHED.has(p.status)) {
        counts.supervised += 1;
        supervised.push(feature);
      }
      if (p.check && !FINISHED.has(p.status)) {
        counts[p.check.kind] += 1;
        const who = p.check.assigned_to || "受理员待派 receivers' queue";
        const [open, late] = checksBy.get(who) || [0, 0];
        const overdueCheck = p.check.due_at !== null && Date.parse(p.check.due_at) <= now;
        checksBy.set(who, [open + 1, late + (overdueCheck ? 1 : 0)]);
      }
    }
    for (const item of document.querySelectorAll("#counters li[data-status]")) {
      item.querySelector("b").textContent = counts[item.dataset.status] ?? 0;
    }
    const byDeadline = (a, b) => Date.parse(a.properties.deadline_at) - Date.parse(b.properties.deadline_at);
    const byCreation = (a, b) => Date.parse(a.properties.created_at) - Date.parse(b.properties.created_at);
    fillList("overdue-list", "overdue-count", overdue.sort(byDeadline), (p) => `超期 since ${formatTime(p.deadline_at)}`);
    fillList("warning-list", "warning-count", warning.sort(byDeadline), (p) => `时限 due ${formatTime(p.deadline_at)}`);
    fillList("pending-list", "pending-count", pending.sort(byCreation), (p) => `${REASONS[p.pending_reason] || ""} · ${formatTime(p.created_at)}`);
    fillList("reported-list", "reported-count", reported.sort(byCreation), (p) => `${SOURCES[p.source] || p.source} · ${p.check ? `${p.check.label}中 · ` : ""}${formatTime(p.created_at)}`);
    fillList("lead-list", "lead-count", forLead.sort(byCreation), (p) => (p.status === "arbitration" ? "待仲裁 arbitration" : REQUESTS[p.open_request] || p.open_request));
    supervised.sort((a, b) => Date.parse(a.properties.supervision_due_at) - Date.parse(b.properties.supervision_due_at));
    fillList("supervised-list", "supervised-count", supervised, (p) => `答复期限 reply by ${formatTime(p.supervision_due_at)}`);
    const people = [...checksBy].sort((a, b) => b[1][0] - a[1][0]);
    document.getElementById("checks-count").textContent = people.reduce((sum, [, [n]]) => sum + n, 0);
    document.getElementById("checks-list").replaceChildren(
      // an inspector with a check past its limit is marked, with how many
      ...people.map(([who, [n, late]]) => element("li", late ? "red" : "", late ? `${who} · ${n} · 超时 ${late}` : `${who} · ${n}`)),
    );
    for (const [code, layer] of cells) {
      const open = perCell.get(code) || 0;
      layer.setStyle({ fillOpacity: Math.min(0.08 + open * 0.12, 0.6), fillColor: open ? "#f97316" : "#1e3a5f" });
    }
  }

  function fillList(listId, countId, features, describe) {
    const list = document.getElementById(listId);
    document.getElementById(countId).textContent = features.length;
    const items = features.slice(0, 200).map((feature) => {
      const p = feature.properties;
      const item = element("li", isOverdueClass(p));
      item.dataset.caseId = feature.id;
      item.tabIndex = 0;
      item.append(element("span", "no", p.case_no), " ", element("span", "", categoryNames.get(p.category) || p.category));
      const where = p.grid ? `${cellNames.get(p.grid) || p.grid} · ` : "";
      item.append(element("span", "meta", `${where}${describe(p)}`));
      item.addEventListener("click", () => openCase(feature.id));
      item.addEventListener("keydown", (event) => {
        if (event.key === "Enter") openCase(feature.id);
      });
      return item;
    });
    list.replaceChildren(...items);
  }

  function isOverdueClass(p) {
    // A list item takes its case's light when it is a warning: past (or near) a deadline or a step limit.
    const colour = colourOf(p, Date.now());
    return colour === "red" || colour === "yellow" ? colour : "";
  }

  // The case panel: one case with its facts, photos and history, read afresh when it is opened and
  // when an event of it arrives while it is open.
  let openId = null;
  let opening = 0; // which opening the panel shows: an older read that answers late is dropped
  let photoUrls = []; // the blob: URLs of the shown photos, let go when the panel shows another case
  let panelTimer = null;

  function closePanel() {
    openId = null;
    opening += 1;
    document.getElementById("case-panel").hidden = true;
    document.getElementById("case-body").replaceChildren();
    releasePhotos();
  }

  function releasePhotos() {
    for (const url of photoUrls) URL.revokeObjectURL(url);
    photoUrls = [];
  }

  function refreshPanelSoon() {
    clearTimeout(panelTimer);
    panelTimer = setTimeout(() => {
      if (openId !== null) openCase(openId, { keepView: true });
    }, 1000);
  }

  async function openCase(id, { keepView = false } = {}) {
    const marker = markers.get(id);
    if (marker && !keepView) map.panInside(marker.getLatLng(), { padding: [40, 40] }); // the map moves only to show it
    openId = id;
    const mine = ++opening;
    const panel = document.getElementById("case-panel");
    const body = document.getElementById("case-body");
    const content = element("div");
    panel.hidden = false;
    let c;
    try {
      c = await api(`/api/v1/cases/${encodeURIComponent(id)}`);
    } catch (error) {
      if (mine !== opening) return;
      content.append(element("p", "", `无法读取 could not read the case: ${error.message}`));
      body.replaceChildren(content);
      return;
    }
    if (mine !== opening) return;
    const title = element("h3", "", `${c.case_no} · ${c.category.name}`);
    title.id = "case-title";
    content.append(title);
    const facts = element("dl");
    const rows = [
      ["状态 status", STATUS_NAMES[c.status] || c.status],
      ["类别 category", c.category.name],
      ["部门 department", c.department ? c.department.name : "—"],
      ["时限 deadline", formatTime(c.deadline_at)],
      ["来源 source", SOURCES[c.source] || c.source],
      ["网格 cell", c.grid ? `${c.grid.name} (${c.grid.code})` : REASONS[c.location ? "outside_grid" : "no_location"]],
      ["上报 reports", c.report_count],
    ];
    for (const [label, value] of rows) facts.append(element("dt", "", label), element("dd", "", value));
    content.append(facts);
    const open = (c.checks || []).filter((t) => t.status === "open");
    if (open.length) {
      const checks = element("ul", "checks");
      for (const t of open) {
        checks.append(element("li", "", `${t.label}中 · ${t.assigned_to || "受理员待派 receivers' queue"} · 时限 ${formatTime(t.due_at)}`));
      }
      content.append(checks);
    }
    const photos = photosOf(c);
    const strip = element("div", "photos");
    if (photos.length) content.append(element("h4", "", `照片 photos (${photos.length})`), strip);
    content.append(element("h4", "", "上报 reports"));
    const reports = element("ul", "reports");
    for (const r of c.reports) {
      const where = r.address ? ` · ${r.address}` : "";
      reports.append(element("li", "", `${formatTime(r.received_at)} ${r.description || "(无描述 no description)"}${where}`));
    }
    content.append(reports, element("h4", "", "经过 history"));
    const events = element("ol", "history");
    for (const e of c.history) {
      const item = element("li");
      item.append(element("span", "when", formatTime(e.at)), element("span", "what", eventName(e)));
      if (e.actor) item.append(element("span", "who", e.actor));
      if (e.note) item.append(element("span", "note", e.note));
      events.append(item);
    }
    content.append(events);
    releasePhotos();
    body.replaceChildren(content);
    for (const [n, photo] of photos.slice(0, PHOTOS_SHOWN).entries()) strip.append(thumbnail(photo, n + 1, mine));
  }

  function eventName(e) {
    if (e.type === "case.check_requested" && e.data && LABELS[e.data.kind]) return `派出${LABELS[e.data.kind]} check sent`;
    return EVENT_NAMES[e.type] || e.type;
  }

  function photosOf(c) {
    // The reports' photos, then those the case's handling added (after-photos, a check's evidence), each once.
    const seen = new Set();
    const photos = [];
    const add = (id, caption) => {
      if (typeof id !== "string" || seen.has(id)) return;
      seen.add(id);
      photos.push({ id, caption });
    };
    for (const r of c.reports) for (const id of r.media || []) add(id, "上报 reported");
    for (const e of c.history) {
      const media = e.data && Array.isArray(e.data.media) ? e.data.media : [];
      for (const id of media) add(id, EVENT_NAMES[e.type] || e.type);
    }
    return photos;
  }

  function thumbnail(photo, n, mine) {
    // <img> cannot send the bearer token: the page reads the photo itself and shows it from a blob: URL.
    const figure = element("figure");
    const image = element("img");
    image.alt = `照片 ${n} photo`;
    figure.append(image, element("figcaption", "", photo.caption));
    read(`/api/v1/media/${encodeURIComponent(photo.id)}`)
      .then((response) => (response.ok ? response.blob() : Promise.reject(new Error(String(response.status)))))
      .then((blob) => {
        if (mine !== opening) return; // the panel shows another case by now
        const url = URL.createObjectURL(blob);
        photoUrls.push(url);
        image.src = url;
      })
      .catch((error) => {
        figure.querySelector("figcaption").textContent = `无法读取 photo unavailable (${error.message})`;
      });
    return figure;
  }

  async function loadCells() {
    const collection = await api("/api/v1/grids");
    const layer = L.geoJSON(collection, {
      style: { color: "#3b5b8c", weight: 0.6, fillColor: "#1e3a5f", fillOpacity: 0.08 },
      onEachFeature: (feature, cellLayer) => {
        cells.set(feature.properties.code, cellLayer);
        cellNames.set(feature.properties.code, feature.properties.name);
        cellLayer.bindTooltip(() => element("span", "cell-label", `${feature.properties.name} ${feature.properties.code}`));
      },
    }).addTo(map);
    if (collection.features.length) map.fitBounds(layer.getBounds(), { padding: [10, 10] });
  }

  async function loadCases() {
    // The open cases and those finished since the city's midnight: a wall opened (or reloaded) in the
    // afternoon shows the morning's finished cases too, grey until the day ends.
    const since = new Date(dayStartsAt(Date.now(), TIME_ZONE)).toISOString();
    const collection = await api(`/api/v1/map/cases?status=open&finished_since=${encodeURIComponent(since)}`);
    for (const marker of markers.values()) marker.remove();
    markers.clear();
    cases.clear();
    closedToday.clear();
    for (const feature of collection.features) upsert(feature);
    return collection.seq;
  }

  function setLive(on, text) {
    const live = document.getElementById("live");
    live.className = on ? "live on" : "live off";
    live.textContent = text;
  }

  function follow(after) {
    // EventSource cannot set a header: a token goes in the address, a session's cookie by itself.
    const url = `/api/v1/feed?after=${after}${token ? `&access_token=${encodeURIComponent(token)}` : ""}`;
    feed = new EventSource(url);
    const onEvent = (message) => {
      upsert(JSON.parse(message.data));
      figuresSoon();
    };
    for (const type of EVENT_TYPES) feed.addEventListener(type, onEvent);
    feed.onopen = () => {
      setLive(true, "实时 live");
      showProblem("");
    };
    feed.onerror = () => {
      if (feed.readyState === EventSource.CLOSED) {
        // The server refused to resume (or is gone for good): start again from a fresh snapshot.
        setLive(false, "重新加载 reloading");
        feed.close();
        setTimeout(start, RECONNECT_MS);
      } else {
        setLive(false, "重连中 reconnecting"); // the browser resumes with Last-Event-ID by itself
      }
    };
  }

  function refusedHint() {
    return token
      ? "请用有效的令牌重新打开 /map?access_token=… (open the page again with a valid token)"
      : "请在 /desk/ 或 /app/ 登录后刷新 (sign in, then reload)";
  }

  async function start() {
    try {
      if (feed) feed.close();
      follow(await loadCases());
      // After the snapshot, not beside it: a token has only so many heavy reads in flight (429 beyond).
      figuresSoon(0);
    } catch (error) {
      if (error instanceof Refused) {
        setLive(false, token ? "令牌被拒 token refused" : "未登录 signed out");
        showProblem(`${error.message}：${refusedHint()}`);
        return;
      }
      setLive(false, "离线 offline");
      showProblem(`无法连接 cannot reach the service: ${error.message}`);
      setTimeout(start, RECONNECT_MS);
    }
  }

  async function untilAnswered(what, ask) {
    // Retried until the service answers: without it the page could show nothing.
    for (;;) {
      try {
        const response = await ask();
        if (response.ok || response.status === 401) return response;
        showProblem(`无法读取${what}: ${response.status}`);
      } catch (error) {
        showProblem(`无法连接 cannot reach the service: ${error.message}`);
      }
      await new Promise((resolve) => setTimeout(resolve, RECONNECT_MS));
    }
  }

  function tick() {
    document.getElementById("clock").textContent = CLOCK.format(new Date());
  }

  // The day's figures: today's cohort (filed since midnight in the city) as of now, and today's
  // reports, summed over the departments' groups (each case counts in one of them, or in the group
  // of no department); the rates from the sums.
  const figures = { hidden: false, timer: null, last: -Infinity };

  function figuresSoon(wait = FIGURES_SETTLE_MS) {
    if (figures.hidden || figures.timer !== null) return;
    const delay = Math.max(wait, figures.last + FIGURES_GAP_MS - Date.now());
    figures.timer = setTimeout(readFigures, delay);
  }

  async function readFigures() {
    figures.timer = null;
    figures.last = Date.now();
    const today = DAY.format(new Date());
    let response;
    try {
      response = await read(`/api/v1/stats?from=${today}&group_by=department`);
    } catch (error) {
      figuresSoon(FIGURES_GAP_MS); // offline: the feed says so; the figures are asked for again
      return;
    }
    if (response.status === 403) {
      hideFigures(); // a role the figures are not for: the rest of the wall goes on
      return;
    }
    if (!response.ok) {
      // Busy (429: this screen's map read holds its token's heavy reads) or down (503): asked again
      // after the gap (or the service's Retry-After, at most the minute), not only at the next
      // minute. Any other refusal waits for the next event or minute.
      if (response.status === 429 || response.status === 503) {
        const after = 1000 * Number(response.headers.get("Retry-After") || 0);
        figuresSoon(Math.min(FIGURES_EVERY_MS, Math.max(FIGURES_GAP_MS, Number.isFinite(after) ? after : 0)));
      }
      return;
    }
    const answer = await response.json();
    if (today !== DAY.format(new Date())) return; // midnight passed meanwhile: these are yesterday's
    const sum = (field) => answer.groups.reduce((total, g) => total + (g[field] || 0), 0);
    showFigures({
      reported: sum("reported"), filed: sum("filed"), closed: sum("closed"),
      due: sum("due"), closedOnTime: sum("closed_on_time"),
    });
  }

  function rate(part, whole) {
    return whole ? `${((100 * part) / whole).toFixed(1)}%` : "—";
  }

  function showFigures(day) {
    const shown = {
      "day-reported": day ? day.reported : "—",
      "day-filed": day ? day.filed : "—",
      "day-closed": day ? day.closed : "—",
      "day-closure-rate": day ? rate(day.closed, day.due) : "—",
      "day-on-time-rate": day ? rate(day.closedOnTime, day.due) : "—",
    };
    for (const [id, text] of Object.entries(shown)) document.getElementById(id).textContent = text;
  }

  function hideFigures() {
    figures.hidden = true;
    clearTimeout(figures.timer);
    figures.timer = null;
    document.getElementById("figures").hidden = true;
  }

  // The filters: one category and one department, kept in the address so a wall opens with them.
  function readFilters() {
    const url = new URL(window.location.href);
    filter.category = url.searchParams.get("category") || "";
    filter.department = url.searchParams.get("department") || "";
  }

  function fillFilter(id, names, chosen) {
    const select = document.getElementById(id);
    const options = [...names].sort((a, b) => a[1].localeCompare(b[1], "zh-CN")).map(([code, name]) => {
      const option = element("option", "", name);
      option.value = code;
      return option;
    });
    select.append(...options);
    select.value = chosen;
    return select.value; // "" when the address named one the catalogue does not have
  }

  function applyFilters() {
    const url = new URL(window.location.href);
    for (const [name, value] of Object.entries(filter)) {
      if (value) url.searchParams.set(name, value);
      else url.searchParams.delete(name);
    }
    history.replaceState(null, "", url.pathname + url.search + url.hash);
    for (const id of markers.keys()) place(id);
    queueRender();
  }

  function listenToFilters() {
    for (const [name, id] of [["category", "filter-category"], ["department", "filter-department"]]) {
      document.getElementById(id).addEventListener("change", (event) => {
        filter[name] = event.target.value;
        applyFilters();
      });
    }
  }

  async function whoIsSignedIn() {
    // No token: the browser may be signed in (at /desk/ or /app/), and the session cookie then reads.
    const response = await untilAnswered("登录状态 the session", () => fetch("/api/v1/session", { credentials: "same-origin" }));
    return response.ok ? (await response.json()).user : null;
  }

  async function main() {
    tick();
    setInterval(tick, 1000);
    readFilters();
    listenToFilters();
    document.getElementById("case-close").addEventListener("click", closePanel);
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape") closePanel();
    });
    if (!token) {
      signedIn = await whoIsSignedIn();
      if (!signedIn) {
        setLive(false, "未登录 signed out");
        hideFigures();
        showProblem("请先在 /desk/ 或 /app/ 登录，或打开 /map?access_token=<token> (sign in, or open with a viewer token)");
        return;
      }
      document.getElementById("who").textContent = signedIn.display_name || signedIn.username;
    }
    try {
      const settings = await (await untilAnswered("页面设置 the page settings", () => fetch("/map/settings.json"))).json();
      EVENT_TYPES = settings.event_types;
      RUNNING = new Set(settings.running);
      FINISHED = new Set(settings.finished);
      STATS_ROLES = new Set(settings.stats_roles || []);
      LABELS = settings.labels || {};
      for (const label of document.querySelectorAll(".check-label")) {  // the city's words for its checks
        label.textContent = LABELS[label.dataset.kind] || label.textContent;
      }
      if (LABELS.check_result) STATUS_NAMES.resolved = `待${LABELS.check_result} awaiting check`;
      useTimeZone(settings.timezone);
      tick();
      scheduleDayEnd();
      recolour();
      // A signed-in account's role says whether it may read the figures; a token's is learnt by asking.
      if (signedIn && !STATS_ROLES.has(signedIn.role)) hideFigures();
      setInterval(() => figuresSoon(), FIGURES_EVERY_MS);
      if (settings.bounds) {
        const [minLon, minLat, maxLon, maxLat] = settings.bounds;
        map.fitBounds([[minLat, minLon], [maxLat, maxLon]]);
      }
      if (settings.tile_url) L.tileLayer(settings.tile_url, { maxZoom: 19 }).addTo(map);
      const [categories, departments] = await Promise.all([api("/api/v1/categories"), api("/api/v1/departments")]);
      for (const c of categories.categories) categoryNames.set(c.code, c.name);
      for (const d of departments.departments) departmentNames.set(d.code, d.name);
      filter.category = fillFilter("filter-category", categoryNames, filter.category);
      filter.department = fillFilter("filter-department", departmentNames, filter.department);
      applyFilters();
      await loadCells();
    } catch (error) {
      showProblem(error instanceof Refused ? `${error.message}：${refusedHint()}` : `无法读取网格 cannot read the grid: ${error.message}`);
    }
    await start();
  }

  window.commandCenter = { cases, markers, map, openCase, dayEndsAt, dayStartsAt, ready: main() };
})();
