// pvectl dashboard: live updates. One EventSource on /events receives the snapshot version of
// every target; when a target this page shows changes, the page's live part is fetched again
// from its data-src (a fragment built from the same snapshot) and swapped in. No inline script
// (the CSP forbids it); the fetched HTML is the server's own escaped markup.
"use strict";
(function () {
  var live = document.getElementById("live");
  var conn = document.getElementById("conn");
  var seen = null;
  var busy = false;
  var again = false;

  function relevant(changed) {
    if (!live) return false;
    var targets = (live.dataset.targets || "").split(",").filter(function (t) { return t.length > 0; });
    if (targets.length === 0) return changed.length > 0;
    return changed.some(function (t) { return targets.indexOf(t) >= 0; });
  }

  function reload() {
    if (busy) { again = true; return; }
    busy = true;
    fetch(live.dataset.src, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.text(); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        live.replaceChildren.apply(live, Array.prototype.slice.call(doc.body.childNodes).map(function (n) {
          return document.importNode(n, true);
        }));
        live.dataset.version = String(Date.now());
      })
      .catch(function (e) { if (conn) conn.textContent = "update failed: " + e.message; })
      .finally(function () { busy = false; if (again) { again = false; reload(); } });
  }

  if (!window.EventSource) return;
  var es = new EventSource("/events");
  es.addEventListener("open", function () { if (conn) conn.textContent = "live"; });
  es.addEventListener("error", function () { if (conn) conn.textContent = "reconnecting"; });
  es.addEventListener("versions", function (ev) {
    var versions = JSON.parse(ev.data);
    var changed = [];
    Object.keys(versions).forEach(function (t) {
      if (seen !== null && seen[t] !== versions[t]) changed.push(t);
    });
    // The first event may already be newer than the page (a refresh between render and connect).
    if (seen === null) changed = Object.keys(versions);
    seen = versions;
    if (relevant(changed)) reload();
  });
})();
