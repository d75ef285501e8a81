// The app's service worker (scope /app/): it keeps the shell, so that the app opens with no network
// after the first visit. The API is never cached: the outbox (IndexedDB) holds what waits to be sent.
const SHELL = "xunchatong-shell-v1";
const FILES = [
  "/app/",
  "/app/static/app.css",
  "/app/static/app.js",
  "/app/static/api.js",
  "/app/static/outbox.js",
  "/app/static/icon-192.png",
  "/app/manifest.webmanifest",
  "/static/leaflet/leaflet.js",
  "/static/leaflet/leaflet.css",
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(SHELL).then((cache) => cache.addAll(FILES)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((name) => name !== SHELL).map((name) => caches.delete(name))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin || url.pathname.startsWith("/api/")) {
    return; // the network's, as it is
  }
  const key = event.request.mode === "navigate" ? "/app/" : url.pathname;
  if (!FILES.includes(key)) return;
  // The shell as kept, at once (a phone on one bar of signal opens the app without waiting), and
  // refreshed from the network behind it: a new version shows on the next opening.
  event.respondWith(
    caches.open(SHELL).then(async (cache) => {
      const kept = await cache.match(key);
      const fresh = fetch(event.request)
        .then((response) => {
          if (response.ok) cache.put(key, response.clone());
          return response;
        })
        .catch(() => kept);
      if (kept) {
        event.waitUntil(fresh);
        return kept;
      }
      return fresh;
    }),
  );
});
