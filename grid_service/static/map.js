// The command-center wall screen: grid cells, every open case coloured by its light, live from the feed.
// Every string that came from a user is put into the page as text (textContent), never as HTML.
"use strict";

(() => {
  // The event types, the running and finished statuses, the city's time zone and the grid's extent
  // come from the service (/map/settings.json), so the page copies none of them by hand.
  let EVENT_TYPES = [];
  let RUNNING = new Set();
  let FINISHED = new Set();
  const GONE_AFTER_MS = 10000; // a case that closes stays on the map, grey, this long, then leaves it
  const COLOURS = {
    green: "#22c55e", yellow: "#facc15", red: "#ef4444", blue: "#38bdf8", grey: "#64748b", suspended: "#a78bfa",
  };
  const STATUS_NAMES = {
    reported: "待受理 awaiting a receiver", voided: "已作废 voided",
    pending_dispatch: "待派遣 pending dispatch", dispatched: "已派遣 dispatched", in_progress: "处置中 in progress",
    resolved: "待核查 awaiting check", closed: "已结案 closed", cancelled: "已撤销 cancelled",
    arbitration: "待仲裁 in arbitration", suspended: "挂账 suspended",
  };
  // What waits for the shift lead, as the list names it.
  const REQUESTS = { extension: "延期申请 extension", suspension: "挂账申请 suspension", appeal: "超时申诉 appeal" };
  let TIME = null;
  let CLOCK = null;

  function useTimeZone(timeZone) {
    TIME = new Intl.DateTimeFormat("zh-CN", {
      timeZone, month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false,
    });
    CLOCK = new Intl.DateTimeFormat("zh-CN", {
      timeZone, year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
    });
  }
  useTimeZone(Intl.DateTimeFormat().resolvedOptions().timeZone); // until the service says the city's
  const RECONNECT_MS = 3000;

  const token = takeToken();
  const cases = new Map(); // case id -> GeoJSON Feature, as last read
  const markers = new Map(); // case id -> Leaflet circle marker
  const cells = new Map(); // cell code -> Leaflet layer
  const cellNames = new Map(); // cell code -> name
  const categoryNames = new Map(); // category code -> name
  const closedHere = new Set(); // cases seen closing since the page opened
  let feed = null;
  let renderQueued = false;

  const REASONS = {
    outside_grid: "网格外 outside grid", no_rule: "无派遣规则 no rule", rejected: "被退回 rejected",
    no_location: "无坐标 address only",
  };
  const SOURCES = {
    inspector: "监督员上报 inspector", public: "公众举报 public", hotline: "12345 热线 hotline",
    leader: "领导交办 leader", sensor: "视频/物联网 sensor",
  };
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

  async function api(path) {
    const response = await fetch(path, { headers: { Authorization: `Bearer ${token}` } });
    if (response.status === 401 || response.status === 403) throw new TokenRefused(response.status);
    if (!response.ok) throw new Error(`${path} answered ${response.status}`);
    return response.json();
  }

  // The service answered, and refused the token: retrying will not help, a new token will.
  class TokenRefused extends Error {
    constructor(status) {
      super(status === 401 ? "令牌无效或已撤销 the token is unknown or revoked" : "此令牌无权查看 this token may not read the map");
      this.name = "TokenRefused";
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

  function upsert(feature) {
    const p = feature.properties;
    const previous = cases.get(feature.id);
    cases.set(feature.id, feature);
    if (p.status === "closed" && previous && previous.properties.status !== "closed") closedHere.add(feature.id);
    if (FINISHED.has(p.status)) setTimeout(() => forget(feature.id), GONE_AFTER_MS);
    scheduleRecolour(nextChange(p, Date.now()));
    if (!feature.geometry) {  // placed by address alone: listed, not drawn
      queueRender();
      return;
    }
    const [lon, lat] = feature.geometry.coordinates;
    let marker = markers.get(feature.id);
    if (!marker) {
      marker = L.circleMarker([lat, lon], styleOf(p, Date.now())).addTo(map);
      marker.on("click", () => openCase(feature.id));
      markers.set(feature.id, marker);
    } else {
      marker.setLatLng([lat, lon]);
      marker.setStyle(styleOf(p, Date.now()));
    }
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
    let soonest = now + 30000;
    for (const [id, feature] of cases) {
      markers.get(id)?.setStyle(styleOf(feature.properties, now));
      soonest = Math.min(soonest, nextChange(feature.properties, now));
    }
    queueRender();
    recolourAt = Infinity;
    scheduleRecolour(soonest);
  }

  function forget(id) {
    // A finished case leaves the map of open cases (unless it was reopened meanwhile).
    const feature = cases.get(id);
    if (!feature || !FINISHED.has(feature.properties.status)) return;
    markers.get(id)?.remove();
    markers.delete(id);
    cases.delete(id);
    queueRender();
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
      reported: 0, pending_dispatch: 0, dispatched: 0, in_progress: 0, resolved: 0, overdue: 0,
      check_report: 0, check_result: 0, arbitration: 0, suspended: 0, supervised: 0,
    };
    const forLead = [];
    const supervised = [];
    const reported = [];
    const checksBy = new Map();
    const perCell = new Map();
    const overdue = [];
    const pending = [];
    for (const feature of cases.values()) {
      const p = feature.properties;
      if (p.status in counts) counts[p.status] += 1;
      if (!FINISHED.has(p.status) && p.grid) perCell.set(p.grid, (perCell.get(p.grid) || 0) + 1);
      if (isOverdue(p, now)) {
        counts.overdue += 1;
        overdue.push(feature);
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
    counts.closed = closedHere.size;
    for (const item of document.querySelectorAll("#counters li[data-status]")) {
      item.querySelector("b").textContent = counts[item.dataset.status] ?? 0;
    }
    overdue.sort((a, b) => Date.parse(a.properties.deadline_at) - Date.parse(b.properties.deadline_at));
    pending.sort((a, b) => Date.parse(a.properties.created_at) - Date.parse(b.properties.created_at));
    fillList("overdue-list", "overdue-count", overdue, (p) => `超期 since ${formatTime(p.deadline_at)}`);
    fillList("pending-list", "pending-count", pending, (p) => `${REASONS[p.pending_reason] || ""} · ${formatTime(p.created_at)}`);
    reported.sort((a, b) => Date.parse(a.properties.created_at) - Date.parse(b.properties.created_at));
    fillList("reported-list", "reported-count", reported, (p) => `${SOURCES[p.source] || p.source} · ${p.check ? `${p.check.label}中 · ` : ""}${formatTime(p.created_at)}`);
    forLead.sort((a, b) => Date.parse(a.properties.created_at) - Date.parse(b.properties.created_at));
    fillList("lead-list", "lead-count", forLead, (p) => (p.status === "arbitration" ? "待仲裁 arbitration" : REQUESTS[p.open_request] || p.open_request));
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
      item.append(element("span", "no", p.case_no), " ", element("span", "", categoryNames.get(p.category) || p.category));
      const where = p.grid ? `${cellNames.get(p.grid) || p.grid} · ` : "";
      item.append(element("span", "meta", `${where}${describe(p)}`));
      item.addEventListener("click", () => openCase(feature.id));
      return item;
    });
    list.replaceChildren(...items);
  }

  function isOverdueClass(p) {
    // A list item takes its case's light when it is a warning: past (or near) a deadline or a step limit.
    const colour = colourOf(p, Date.now());
    return colour === "red" || colour === "yellow" ? colour : "";
  }

  async function openCase(id) {
    const marker = markers.get(id);
    const content = element("div", "case-popup");
    let popup;
    if (marker) {
      map.panTo(marker.getLatLng());
      popup = marker.bindPopup(content, { maxWidth: 360 }).openPopup().getPopup();
    } else {  // placed by address alone: the popup opens where the map is looking
      popup = L.popup({ maxWidth: 360 }).setLatLng(map.getCenter()).setContent(content).openOn(map);
    }
    try {
      const c = await api(`/api/v1/cases/${encodeURIComponent(id)}`);
      content.append(element("h3", "", `${c.case_no} · ${c.category.name}`));
      const facts = element("dl");
      const rows = [
        ["状态 status", STATUS_NAMES[c.status] || c.status],
        ["来源 source", SOURCES[c.source] || c.source],
        ["部门 department", c.department ? c.department.name : "—"],
        ["网格 cell", c.grid ? `${c.grid.name} (${c.grid.code})` : REASONS[c.location ? "outside_grid" : "no_location"]],
        ["时限 deadline", formatTime(c.deadline_at)],
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
      const reports = element("ul", "reports");
      for (const r of c.reports) {
        const where = r.address ? ` · ${r.address}` : "";
        reports.append(element("li", "", `${formatTime(r.received_at)} ${r.description || "(无描述 no description)"}${where}`));
      }
      content.append(reports);
    } catch (error) {
      content.append(element("p", "", `无法读取 could not read the case: ${error.message}`));
    }
    popup.update();
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
    const collection = await api("/api/v1/map/cases?status=open");
    for (const marker of markers.values()) marker.remove();
    markers.clear();
    cases.clear();
    for (const feature of collection.features) upsert(feature);
    return collection.seq;
  }

  function setLive(on, text) {
    const live = document.getElementById("live");
    live.className = on ? "live on" : "live off";
    live.textContent = text;
  }

  function follow(after) {
    const url = `/api/v1/feed?after=${after}&access_token=${encodeURIComponent(token)}`;
    feed = new EventSource(url);
    const onEvent = (message) => upsert(JSON.parse(message.data));
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

  async function start() {
    try {
      if (feed) feed.close();
      follow(await loadCases());
    } catch (error) {
      if (error instanceof TokenRefused) {
        setLive(false, "令牌被拒 token refused");
        showProblem(`${error.message}：请用有效的令牌重新打开 /map?access_token=… (open the page again with a valid token)`);
        return;
      }
      setLive(false, "离线 offline");
      showProblem(`无法连接 cannot reach the service: ${error.message}`);
      setTimeout(start, RECONNECT_MS);
    }
  }

  async function loadSettings() {
    // Without them the page would listen for no event and colour nothing: retry until they come.
    for (;;) {
      try {
        const response = await fetch("/map/settings.json");
        if (response.ok) return await response.json();
        showProblem(`无法读取页面设置 cannot read the page settings: ${response.status}`);
      } catch (error) {
        showProblem(`无法连接 cannot reach the service: ${error.message}`);
      }
      await new Promise((resolve) => setTimeout(resolve, RECONNECT_MS));
    }
  }

  function tick() {
    document.getElementById("clock").textContent = CLOCK.format(new Date());
  }

  // The day's 结案率 and 按期结案率, as the statistics give them: today's cohort (filed since midnight
  // in the city) as of now, summed over its groups (each case is in one).
  let DAY = null;
  const RATE_EVERY_MS = 60000;

  async function dayRates() {
    try {
      const today = DAY.format(new Date());
      const answer = await api(`/api/v1/stats?group_by=source&from=${today}`);
      const sum = (field) => answer.groups.reduce((total, g) => total + g[field], 0);
      const due = sum("due");
      const shown = (part) => (due ? `${((100 * part) / due).toFixed(1)}%` : "—");
      document.getElementById("day-closure-rate").textContent = shown(sum("closed"));
      document.getElementById("day-on-time-rate").textContent = shown(sum("closed_on_time"));
    } catch (error) {
      // the rates wait for the next minute; the map itself goes on
    }
  }

  async function main() {
    tick();
    setInterval(tick, 1000);
    recolour();
    if (!token) {
      showProblem("打开 /map?access_token=<token> (a viewer token)");
      return;
    }
    try {
      const settings = await loadSettings();
      EVENT_TYPES = settings.event_types;
      RUNNING = new Set(settings.running);
      FINISHED = new Set(settings.finished);
      for (const label of document.querySelectorAll(".check-label")) {  // the city's words for its checks
        label.textContent = (settings.labels || {})[label.dataset.kind] || label.textContent;
      }
      if ((settings.labels || {}).check_result) STATUS_NAMES.resolved = `待${settings.labels.check_result} awaiting check`;
      useTimeZone(settings.timezone);
      DAY = new Intl.DateTimeFormat("en-CA", { timeZone: settings.timezone, year: "numeric", month: "2-digit", day: "2-digit" });
      tick();
      dayRates();
      setInterval(dayRates, RATE_EVERY_MS);
      if (settings.bounds) {
        const [minLon, minLat, maxLon, maxLat] = settings.bounds;
        map.fitBounds([[minLat, minLon], [maxLat, maxLon]]);
      }
      if (settings.tile_url) L.tileLayer(settings.tile_url, { maxZoom: 19 }).addTo(map);
      for (const c of (await api("/api/v1/categories")).categories) categoryNames.set(c.code, c.name);
      await loadCells();
    } catch (error) {
      showProblem(
        error instanceof TokenRefused ? error.message : `无法读取网格 cannot read the grid: ${error.message}`,
      );
    }
    await start();
  }

  window.commandCenter = { cases, markers, openCase, ready: main() };
})();
