// The service's API as the app calls it: the session cookie goes by itself; every write carries the
// session's CSRF token. A network failure is Offline; an answer that is not 2xx is ApiError.
const CSRF_KEY = "xunchatong.csrf";

export class Offline extends Error {}

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error && body.error.message) || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

export const csrf = {
  get: () => localStorage.getItem(CSRF_KEY),
  set: (token) => (token ? localStorage.setItem(CSRF_KEY, token) : localStorage.removeItem(CSRF_KEY)),
};

export async function api(method, path, body, headers = {}, retried = false) {
  const init = { method, credentials: "same-origin", headers: { ...headers } };
  if (method !== "GET") init.headers["X-CSRF-Token"] = csrf.get() || "";
  if (body instanceof Blob) init.body = body;
  else if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    throw new Offline(String(error));
  }
  const text = await response.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  if (response.status === 403 && parsed && parsed.error && parsed.error.code === "csrf_failed" && !retried) {
    // The session's token changed (signed in again in another tab): read it, and try once more.
    const session = await api("GET", "/api/v1/session");
    csrf.set(session.csrf_token);
    return api(method, path, body, headers, true);
  }
  if (!response.ok) throw new ApiError(response.status, parsed);
  return parsed;
}
