// The attempt page's service worker (scope /attempts/, served as /attempt-sw.js): keeps a copy of
// each attempt page this phone opened, and of the page's CSS and script, so that a reload or a
// browser reopened WITHOUT signal still shows the questions and the choices kept on the phone
// (attempt.js then sends them when the connection returns). Network first: a copy is only used
// when the network fails (or is silent for 10 s). The copy is marked (data-offline-copy="1") so
// the page knows its rendered answers and remaining time are old; it uses what the phone saw last.
// Nothing else is touched: API calls and other pages go straight to the network.
"use strict";
var CACHE = "ttn-attempt-pages-v1";
var ASSETS = ["/static/app.css", "/static/attempt.js", "/static/favicon.svg"];
var ATTEMPT_PAGE = /^\/attempts\/\d+$/;
var SLOW_MS = 10000;

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) { return cache.addAll(ASSETS); })
    .then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) { return n.indexOf("ttn-attempt-pages-") === 0 && n !== CACHE; })
      .map(function (n) { return caches.delete(n); }));
  }).then(function () { return self.clients.claim(); }));
});

function markedCopy(hit) {
  return hit.text().then(function (html) {
    return new Response(html.replace('data-offline-copy="0"', 'data-offline-copy="1"'),
                        { status: 200, headers: hit.headers });
  });
}

function networkFirst(request, key, isPage) {
  var network = fetch(request).then(function (response) {
    if (response.ok && response.type === "basic" && !response.redirected) {
      var copy = response.clone();
      caches.open(CACHE).then(function (cache) { return cache.put(key, copy); });
    } else if (isPage && response.status === 404) {
      caches.open(CACHE).then(function (cache) { return cache.delete(key); });  // not this person's
    }  // a redirect (closed: to the result page, which drops the copy; or to the login) keeps it
    return response;
  });
  var copy = function () {
    return caches.open(CACHE).then(function (cache) { return cache.match(key); }).then(function (hit) {
      return hit ? (isPage ? markedCopy(hit) : hit) : null;
    });
  };
  return new Promise(function (resolve, reject) {
    var settled = false;
    var slow = setTimeout(function () {
      copy().then(function (hit) { if (hit && !settled) { settled = true; resolve(hit); } });
    }, SLOW_MS);
    network.then(function (response) {
      clearTimeout(slow);
      if (!settled) { settled = true; resolve(response); }
    }, function (error) {
      clearTimeout(slow);
      copy().then(function (hit) {
        if (settled) return;
        settled = true;
        if (hit) resolve(hit); else reject(error);
      }, function () { if (!settled) { settled = true; reject(error); } });
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  var isPage = request.mode === "navigate" && ATTEMPT_PAGE.test(url.pathname) && !url.search;
  if (!isPage && ASSETS.indexOf(url.pathname) < 0) return;
  event.respondWith(networkFirst(request, url.pathname, isPage));
});
