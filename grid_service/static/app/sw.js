// The app's service worker (scope /app/): it keeps the shell, so that the app opens with no network
// after the first visit. The API is never cached: the outbox (IndexedDB) holds what waits to be sent.
// The service writes the shell's version (a hash of its files) in here: a new release is a new
// worker, which keeps the whole new shell under its own name before it takes over.
const SHELL = "xunchatong-shell-__SHELL_VERSION__";
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
  // The shell as kept, at once (a phone on one bar of signal opens the app without waiting); a new
  // release comes whole, as a new worker, never a file at a time.
  event.respondWith(caches.match(key, { cacheName: SHELL }).then((kept) => kept || fetch(event.request)));
});
