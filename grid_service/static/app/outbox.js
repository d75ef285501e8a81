// The outbox (待上传): every report and its photos are written to IndexedDB before anything is sent,
// then sent: the photos first (each remembered once stored), then the report through the batch
// endpoint under its client_id, so that a resend after any failure is answered with the same case
// and never makes a second one. Network errors and 5xx are retried with backoff; a refusal (4xx)
// is kept with the server's message for the inspector to fix or discard.
import { api, ApiError, Offline } from "./api.js";

const DB_NAME = "xunchatong";
const STORE = "outbox";
const MAX_BACKOFF_MS = 60_000;

let dbPromise = null;

function db() {
  if (!dbPromise) {
    dbPromise = new Promise((resolve, reject) => {
      const open = indexedDB.open(DB_NAME, 1);
      open.onupgradeneeded = () => open.result.createObjectStore(STORE, { keyPath: "client_id" });
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => reject(open.error);
    });
  }
  return dbPromise;
}

async function tx(mode, work) {
  const store = (await db()).transaction(STORE, mode).objectStore(STORE);
  return new Promise((resolve, reject) => {
    const request = work(store);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

export const put = (item) => tx("readwrite", (s) => s.put(item));
export const remove = (clientId) => tx("readwrite", (s) => s.delete(clientId));
export const all = async () => (await tx("readonly", (s) => s.getAll())).sort((a, b) => a.created_at - b.created_at);

export function newItem(report, photos, username) {
  return {
    client_id: crypto.randomUUID(),
    username, // whose it is: sent only while they are signed in here
    created_at: Date.now(),
    state: "waiting", // waiting | sending | sent | refused
    attempts: 0,
    next_at: 0,
    message: null,
    case_id: null,
    case_no: null,
    report,
    photos, // [{role: "before" | "after", blob, lon, lat, accuracy_m, taken_at, media_id}]
  };
}

// One sync at a time in this browser (all its tabs): two would only send the same items twice,
// which the server answers alike, but it wastes a weak connection.
export async function syncOnce(onChange, username) {
  const run = () => drain(onChange, username);
  if (!navigator.locks) return run();
  // Another sync (of this tab or another) holds it: try again in a moment rather than wait or forget.
  return navigator.locks.request("outbox-sync", { ifAvailable: true }, (lock) => (lock ? run() : Date.now() + 1000));
}

// Back online: whatever waits is tried now, whatever its backoff said.
export async function wake() {
  for (const item of await all()) {
    if (item.state === "waiting" && item.next_at) {
      item.next_at = 0;
      await put(item);
    }
  }
}

async function drain(onChange, username) {
  let next = null;
  for (const item of await all()) {
    if (item.username && item.username !== username) continue; // another person's: kept for them
    if (item.state === "sending") item.state = "waiting"; // a sync cut off (tab closed, phone restarted)
    if (item.state !== "waiting") continue;
    if (item.next_at > Date.now()) {
      next = Math.min(next ?? Infinity, item.next_at);
      continue;
    }
    const outcome = await send(item, onChange);
    if (outcome === "stop") return null; // signed out: nothing more can be sent
    if (outcome === "later") next = Math.min(next ?? Infinity, item.next_at);
  }
  return next; // when the earliest waiting item may be tried again (null: none waits)
}

async function send(item, onChange) {
  item.state = "sending";
  await put(item);
  onChange();
  try {
    for (const photo of item.photos) {
      if (photo.media_id) continue;
      const query = new URLSearchParams();
      if (photo.lon != null) {
        query.set("lon", String(photo.lon));
        query.set("lat", String(photo.lat));
        query.set("accuracy_m", String(photo.accuracy_m));
      }
      if (photo.taken_at) query.set("taken_at", photo.taken_at);
      const stored = await api("POST", `/api/v1/media?${query}`, photo.blob, { "Content-Type": "image/jpeg" });
      photo.media_id = stored.id;
      await put(item); // a photo once stored is never sent again
    }
    const body = {
      ...item.report,
      client_id: item.client_id,
      media: item.photos.filter((p) => p.role === "before").map((p) => p.media_id),
      after_media: item.photos.filter((p) => p.role === "after").map((p) => p.media_id),
    };
    const answer = await api("POST", "/api/v1/reports/batch", { reports: [body] });
    const [result] = answer.results;
    if (result.status_code === 200 || result.status_code === 201) {
      Object.assign(item, { state: "sent", case_id: result.report.case_id, case_no: result.report.case_no });
      item.status = result.report.status;
      item.message = null;
      for (const photo of item.photos) photo.blob = null; // sent: the phone keeps no copy of the photos
    } else if (result.status_code >= 500) {
      later(item, result.error ? result.error.message : "服务器暂时不可用");
    } else {
      Object.assign(item, { state: "refused", message: refusal(result.error) });
    }
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      item.state = "waiting";
      await put(item);
      onChange();
      return "stop";
    }
    if (error instanceof ApiError && error.status < 500 && error.status !== 429) {
      Object.assign(item, { state: "refused", message: refusal(error.body && error.body.error) });
    } else {
      later(item, error instanceof Offline ? "无网络，稍后自动重试" : "服务器暂时不可用，稍后自动重试");
    }
  }
  await put(item);
  onChange();
  return item.state === "waiting" ? "later" : "done";
}

function later(item, message) {
  item.attempts += 1;
  const backoff = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.min(item.attempts - 1, 6));
  item.next_at = Date.now() + backoff * (0.75 + Math.random() / 2);
  item.state = "waiting";
  item.message = message;
}

// The server's words, in Chinese where we know the code.
const REASONS = {
  unknown_category: "类别已停用或不存在，请重新选择类别",
  validation_failed: "内容不符合要求",
  payload_too_large: "照片过大",
  unsupported_media_type: "不是可识别的照片",
  conflict: "同一编号的上报内容不同",
  outside_grid: "位置不在网格内",
  too_far: "距离案件位置太远",
};

function refusal(error) {
  if (!error) return "服务器拒绝了这条上报";
  const detail = (error.details || []).map((d) => d && d.type).find((type) => REASONS[type]);
  const reason = REASONS[detail] || REASONS[error.code] || "服务器拒绝了这条上报";
  return `${reason}（${error.message}）`;
}
