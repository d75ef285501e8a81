// 电话登记: a receiver registers a report phoned in (12345 热线) or handed down (领导交办). It is a
// report like any other (POST /api/v1/reports), filed by the filing policy of its source. The place is
// picked on the map or typed; the report's id is made once per form, so a double click registers once.
import { api } from "/app/static/api.js";
import { desk, go } from "/desk/static/desk.js";
import { baseMap, showGrid } from "/desk/static/maps.js";
import { $, el, options, refusal } from "/desk/static/words.js";

let map = null;
let marker = null;
let clientId = null;

export function showRegister() {
  $("register-view").hidden = false;
  const form = $("register-form");
  if (!clientId) clientId = crypto.randomUUID();
  if (!form.elements.category.options.length) {
    options(form.elements.category, desk.categories.map((k) => [k.code, k.name]), { any: "请选择" });
  }
  if (!map) {
    map = baseMap("register-map");
    showGrid(map);
    map.on("click", (event) => place(event.latlng.lng, event.latlng.lat));
  } else map.invalidateSize();
}

function place(lon, lat) {
  const form = $("register-form");
  form.elements.lon.value = lon.toFixed(6);
  form.elements.lat.value = lat.toFixed(6);
  if (marker) marker.remove();
  marker = L.circleMarker([lat, lon], { radius: 8, color: "#1d4ed8" }).addTo(map);
}

function problemOf(form) {
  if (!form.elements.category.value) return "请选择类别";
  const lon = Number(form.elements.lon.value);
  const lat = Number(form.elements.lat.value);
  if (form.elements.lon.value.trim() === "" || !(lon >= -180 && lon <= 180)) return "经度须为 -180 到 180 之间的数字";
  if (form.elements.lat.value.trim() === "" || !(lat >= -90 && lat <= 90)) return "纬度须为 -90 到 90 之间的数字";
  return "";
}

$("register-form").noValidate = true;
$("register-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const message = $("register-message");
  message.classList.remove("done");
  message.replaceChildren();
  const problem = problemOf(form);
  if (problem) {
    message.textContent = problem;
    return;
  }
  const body = {
    client_id: clientId,
    category: form.elements.category.value,
    source: form.elements.source.value,
    location: { type: "Point", coordinates: [Number(form.elements.lon.value), Number(form.elements.lat.value)] },
    urgent: form.elements.urgent.checked,
  };
  for (const name of ["description", "address"]) if (form.elements[name].value.trim()) body[name] = form.elements[name].value.trim();
  try {
    const answer = await api("POST", "/api/v1/reports", body);
    clientId = crypto.randomUUID(); // the next report is another
    form.reset();
    if (marker) marker.remove();
    message.classList.add("done");
    const link = el("a", { href: `/desk/?case=${answer.case_id}`, text: answer.case_no });
    link.addEventListener("click", (e) => {
      e.preventDefault();
      go({ case: answer.case_id });
    });
    message.append(`已登记${answer.duplicate ? "（与已有案件合并）" : ""}，案件编号 `, link);
  } catch (error) {
    message.textContent = refusal(error, { category: "类别", location: "位置", description: "描述", address: "地址", source: "来源" });
  }
});
