// The leaderboard page's script: every few seconds, fetch the board (and the visitor's own
// standing) from the JSON API and redraw the table in place. Rows are built with textContent,
// never innerHTML: names and units are typed by participants. Without JavaScript the page
// still shows the board as rendered by the server.
(function () {
  "use strict";
  var table = document.getElementById("lb-table");
  if (!table || !window.fetch) return;
  var data = table.dataset;
  var base = "/api/v1/rounds/" + data.roundId + "/leaderboard";
  var refreshMs = Math.max(2, parseInt(data.refreshSeconds, 10) || 5) * 1000;
  var phase = document.getElementById("lb-phase").dataset.phase;
  var rowsEl = document.getElementById("lb-rows");
  var countEl = document.getElementById("lb-count");
  var updatedEl = document.getElementById("lb-updated");
  var standingEl = document.getElementById("my-standing");
  var query = "?limit=" + encodeURIComponent(data.limit || "50");
  if (data.unit) query += "&unit=" + encodeURIComponent(data.unit);
  if (data.province) query += "&province=" + encodeURIComponent(data.province);

  // Same text as the server's `duration` filter: "3 phút 12,5 giây".
  function duration(ms) {
    var minutes = Math.floor(ms / 60000);
    var seconds = ((ms % 60000) / 1000).toFixed(1).replace(".", ",") + " giây";
    return minutes ? minutes + " phút " + seconds : seconds;
  }

  // Vietnamese thousands: "1.234.567", as the server's `num` filter.
  function num(n) {
    return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ".");
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function scopeLabel(kind, name) {
    if (kind === "unit") return "Đơn vị " + name;
    if (kind === "province") return name;
    return "Toàn đợt thi";
  }

  function rowOf(row, isFinal) {
    var tr = el("tr", row.is_me ? "lb-me" : "");
    tr.appendChild(el("td", "lb-rank", row.rank));
    var who = el("td");
    var name = el("span", "lb-name", row.name);
    if (row.is_me) { name.appendChild(document.createTextNode(" ")); name.appendChild(el("span", "lb-you", "(bạn)")); }
    who.appendChild(name);
    who.appendChild(el("span", "lb-where", [row.unit, row.province].filter(Boolean).join(" · ")));
    tr.appendChild(who);
    tr.appendChild(el("td", "lb-num", row.correct + "/" + row.total));
    tr.appendChild(el("td", "lb-num", duration(row.time_ms)));
    if (isFinal) {
      var prediction = el("td", "lb-num", row.prediction === null ? "—" : num(row.prediction));
      if (row.distance !== null) prediction.appendChild(el("span", "lb-where", "lệch " + num(row.distance)));
      tr.appendChild(prediction);
    }
    return tr;
  }

  function drawBoard(board) {
    if (board.phase !== phase) { // the final ranking was just published: its columns differ
      window.location.reload();
      return;
    }
    var isFinal = board.phase === "final";
    var fragment = document.createDocumentFragment();
    board.rows.forEach(function (row) { fragment.appendChild(rowOf(row, isFinal)); });
    if (!board.rows.length) {
      var empty = el("tr", "lb-empty");
      var cell = el("td", "", "Chưa có kết quả nào.");
      cell.colSpan = isFinal ? 5 : 4;
      empty.appendChild(cell);
      fragment.appendChild(empty);
    }
    rowsEl.replaceChildren(fragment);
    countEl.textContent = num(board.participants);
  }

  function drawStanding(me) {
    standingEl.replaceChildren();
    if (!me.on_board) {
      standingEl.appendChild(el("p", "", "Bạn chưa có kết quả trong đợt thi này."));
      return;
    }
    standingEl.appendChild(el("h2", "lb-h2", "Thứ hạng của bạn"));
    var list = el("ul", "lb-standings");
    me.standings.forEach(function (s) {
      var item = el("li", "", scopeLabel(s.scope, s.scope_name) + ": hạng ");
      item.appendChild(el("strong", "", num(s.rank)));
      item.appendChild(document.createTextNode("/" + num(s.participants)));
      list.appendChild(item);
    });
    standingEl.appendChild(list);
    if (!me.standings.length) return;
    // Neighbours in the whole round: a few above and below the visitor.
    var wrap = el("div", "lb-wrap");
    var table = el("table", "lb-table lb-around");
    table.id = "lb-around";
    table.setAttribute("aria-label", "Những người xếp hạng gần bạn");
    var body = el("tbody");
    me.standings[0].rows.forEach(function (row) { body.appendChild(rowOf(row, me.phase === "final")); });
    table.appendChild(body);
    wrap.appendChild(table);
    standingEl.appendChild(wrap);
  }

  function getJson(url) {
    return fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      });
  }

  function refresh() {
    if (document.visibilityState === "hidden") { schedule(); return; } // no polling from background tabs
    var requests = [getJson(base + query).then(drawBoard)];
    if (data.loggedIn === "1") requests.push(getJson(base + "/me?around=" + (data.around || "2")).then(drawStanding));
    Promise.all(requests).then(function () {
      updatedEl.textContent = "Cập nhật lúc " + new Date().toLocaleTimeString("vi-VN");
    }).catch(function () {
      updatedEl.textContent = "Chưa cập nhật được, đang thử lại…";
    }).then(schedule);
  }

  function schedule() { setTimeout(refresh, refreshMs); }

  schedule();
})();
