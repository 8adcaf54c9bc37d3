// Live dashboard: re-fetches the server-rendered figures and charts every few seconds.
// No library, no inline script (the CSP forbids it); without JavaScript a <noscript> refresh does it.
(function () {
  var box = document.getElementById("live");
  if (!box || !window.fetch) return;
  var every = (parseInt(box.getAttribute("data-every"), 10) || 5) * 1000;
  function refresh() {
    if (document.hidden) return setTimeout(refresh, every);
    fetch(box.getAttribute("data-src"), {credentials: "same-origin", headers: {"Accept": "text/html"}})
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
      .then(function (html) { box.innerHTML = html; box.removeAttribute("data-stale"); })
      .catch(function () { box.setAttribute("data-stale", "1"); })
      .then(function () { setTimeout(refresh, every); });
  }
  setTimeout(refresh, every);
})();
