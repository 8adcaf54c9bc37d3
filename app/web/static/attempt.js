// The attempt page's script: nothing chosen is lost on a flaky connection.
//
// - Every choice goes into the phone's storage (localStorage, one record per attempt) BEFORE it is
//   sent, and stays there until the server acknowledges it. Opening the attempt again (reload, new
//   tab, browser restart, logging in again after the session expired) restores and sends it.
// - Retries back off exponentially with jitter, and start at once on the browser's `online` event.
// - A second device: a queued choice carries what this phone knew the server had for that question
//   when it was made ("base") and what it has already sent. Before queued choices are sent after a
//   failure, the page reads the server's answers (the page itself does that on a reload): a question
//   whose answer changed to anything else was answered on another device after this phone lost
//   touch, and that newer choice stands; the stale queued one is dropped (and the person told).
// - The deadline is the server's: the countdown runs from the server's remaining time (refreshed by
//   every acknowledgement) and nothing the page sends carries a time. A submit pressed offline is
//   kept and sent when the connection returns; if the attempt was closed by then, the page says what
//   counted (the answers that reached the server in time) and what did not.
// Without JavaScript the form posts as before (app/attempts/pages.py, attempt_form).
(function () {
  "use strict";
  var PREFIX = "ttn.attempt.";
  var SEEN = "ttn.seen.";                   // + attempt id: what this phone last saw of the server
  var PAGE_CACHE = "ttn-attempt-pages-v1";  // the service worker's copies (attempt-sw.js)
  var MAX_DELAY_MS = 30000;
  var REQUEST_TIMEOUT_MS = 20000;

  // --- the per-attempt record in localStorage ---------------------------------------------------
  // { q: {questionId: {o: option token chosen, base: token the server had ("" none), sent: [tokens
  //   sent without an answer seen]}}, pred: prediction not yet saved or null, submit: null or
  //   {auto, prediction, queued}, t: last write (housekeeping only) }
  var storageWorks = (function () {
    try { localStorage.setItem(PREFIX + "probe", "1"); localStorage.removeItem(PREFIX + "probe"); return true; }
    catch (e) { return false; }
  })();
  var memory = {};  // the record when the browser refuses storage (private mode, full)

  function blank() { return { q: {}, pred: null, submit: null, t: 0 }; }

  function load(key) {
    var rec = null;
    try { rec = storageWorks ? JSON.parse(localStorage.getItem(key) || "null") : memory[key] || null; }
    catch (e) { rec = null; }
    if (!rec || typeof rec.q !== "object" || rec.q === null) rec = blank();
    if (rec.pred === undefined) rec.pred = null;
    if (rec.submit === undefined) rec.submit = null;
    return rec;
  }

  function save(key, rec) {
    var empty = !Object.keys(rec.q).length && rec.pred === null && !rec.submit;
    rec.t = Date.now();
    if (!storageWorks) { if (empty) delete memory[key]; else memory[key] = JSON.parse(JSON.stringify(rec)); return; }
    try { if (empty) localStorage.removeItem(key); else localStorage.setItem(key, JSON.stringify(rec)); }
    catch (e) { storageWorks = false; memory[key] = rec; }
  }

  function pruneOld() { // records of attempts long over (their page never ran again)
    if (!storageWorks) return;
    try {
      for (var i = localStorage.length - 1; i >= 0; i--) {
        var key = localStorage.key(i);
        if (!key || (key.indexOf(PREFIX) !== 0 && key.indexOf(SEEN) !== 0)) continue;
        var written = 0;
        try { written = (JSON.parse(localStorage.getItem(key)) || {}).t || 0; } catch (e) { written = 0; }
        if (Date.now() - written > 3 * 86400000) localStorage.removeItem(key);
      }
    } catch (e) { /* housekeeping only */ }
  }

  function csrfToken() { // the cookie, not the page's copy: a login in another tab renews it
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) return decodeURIComponent(match[1]);
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function request(method, url, body) {
    var controller = window.AbortController ? new AbortController() : null;
    var timer = controller && setTimeout(function () { controller.abort(); }, REQUEST_TIMEOUT_MS);
    return fetch(url, {
      method: method, credentials: "same-origin", cache: "no-store", signal: controller && controller.signal,
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrfToken(), "Accept": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (response) { clearTimeout(timer); return response; },
            function (error) { clearTimeout(timer); throw error; });
  }

  function json(response) { return response.json().catch(function () { return {}; }); }

  function errorMessage(body) { return (body && body.error && body.error.message) || ""; }

  function count(n, what) { return n + " " + what; }

  function forgetCopy(attemptId) { // closed: no offline copy of its page, no record of it
    try { localStorage.removeItem(SEEN + attemptId); } catch (e) { /* nothing kept */ }
    if (window.caches) caches.open(PAGE_CACHE).then(function (cache) {
      return cache.delete("/attempts/" + attemptId);
    }).catch(function () { /* nothing kept */ });
  }

  // --- the result page: choices left on this phone when the attempt closed elsewhere ------------
  var localOutcome = document.getElementById("local-outcome");
  if (localOutcome) {
    forgetCopy(localOutcome.dataset.attemptId);
    var resultKey = PREFIX + localOutcome.dataset.attemptId;
    var leftover = load(resultKey);
    var pressed = leftover.submit && !leftover.submit.auto;
    if (Object.keys(leftover.q).length || pressed) {
      request("GET", "/api/v1/attempts/" + localOutcome.dataset.attemptId).then(function (response) {
        if (!response.ok) return;
        return json(response).then(function (data) {
          var answers = data.answers || {};
          var lost = Object.keys(leftover.q).filter(function (qid) { return answers[qid] !== leftover.q[qid].o; });
          var numbers = {};
          (data.questions || []).forEach(function (q) { numbers[q.id] = q.number; });
          save(resultKey, blank());
          var says = [];
          if (pressed && data.result && data.result.auto_submitted) {
            says.push("Yêu cầu nộp bài trên máy này chưa kịp gửi đến máy chủ trước khi hết giờ: bài đã được tự " +
                      "động nộp lúc hết giờ với các câu trả lời đã lưu trên máy chủ.");
          }
          if (lost.length) {
            says.push(count(lost.length, "lựa chọn") + " trên máy này chưa kịp gửi đến máy chủ trước khi bài được " +
                      "chấm nên không được tính (câu " + lost.map(function (q) { return numbers[q]; }).join(", ") +
                      "). Kết quả dưới đây chỉ tính các câu trả lời đã lưu trên máy chủ.");
          }
          if (!says.length) return;
          localOutcome.textContent = says.join(" ");
          localOutcome.hidden = false;
        });
      }).catch(function () { /* shown next time */ });
    } else {
      save(resultKey, blank());
    }
    pruneOld();
  }

  // --- the attempt page ---------------------------------------------------------------------------
  var form = document.getElementById("attempt-form");
  if (!form) return;
  var attemptId = form.dataset.attemptId;
  var KEY = PREFIX + attemptId;
  var API = "/api/v1/attempts/" + attemptId;
  var statusEl = document.getElementById("save-status");
  var countdownEl = document.getElementById("countdown");
  var timerBar = document.getElementById("timer-bar");
  var outcomeEl = document.getElementById("outcome");
  var predictionEl = document.getElementById("prediction");
  var deadline = performance.now() + parseInt(countdownEl.dataset.remainingMs, 10);
  // Served by the service worker from its copy (no network): the rendered answers and remaining
  // time are those of when the copy was made; what the phone saw last is in SEEN.
  var offlineCopy = form.dataset.offlineCopy === "1";
  // The page as the server sent it (before this script checks or marks anything): the offline copy
  // of a first visit, which the service worker did not serve yet, without asking the server again.
  var pristine = offlineCopy ? "" : "<!doctype html>\n" + document.documentElement.outerHTML;

  var fieldsets = {};   // question id -> its fieldset
  var known = {};       // question id -> option token the server has ("" none), as last seen
  Array.prototype.forEach.call(form.querySelectorAll("fieldset[data-question-id]"), function (fs) {
    fieldsets[fs.dataset.questionId] = fs;
    known[fs.dataset.questionId] = fs.dataset.saved || "";
  });

  var inFlight = {};        // question id -> token being sent
  var predictionInFlight = false;
  var busy = false;         // a resync or a submit is on the wire
  var needResync = false;   // something failed: read the server's answers before sending more
  var timer = null, failures = 0;
  var trouble = "";         // "" | "offline" | "server" | "login"
  var ended = false, closed = false, everSaved = false;
  var notes = [];           // question numbers whose queued choice lost to another device's

  function update(fn) { var rec = load(KEY); var out = fn(rec); save(KEY, rec); return out; }

  function numberOf(qid) {
    var el = fieldsets[qid] && fieldsets[qid].querySelector(".qnum");
    return el ? el.textContent.replace(/[^0-9]/g, "") : qid;
  }

  function show(qid, token) { // check the radio of `token` ("" clears the question)
    var fs = fieldsets[qid];
    if (!fs) return;
    Array.prototype.forEach.call(fs.querySelectorAll("input[type=radio]"), function (input) {
      input.checked = input.value === token;
    });
  }

  // The server's answers (page render or a fresh read) against the queue: what is already saved is
  // dropped, what is still ours to send stays, what another device changed since is dropped.
  function reconcile(server) {
    var lostTo = [];
    update(function (rec) {
      Object.keys(rec.q).forEach(function (qid) {
        var entry = rec.q[qid], now = server[qid] || "";
        if (!(qid in fieldsets)) { delete rec.q[qid]; return; }
        if (now === entry.o) delete rec.q[qid];                                       // arrived already
        else if (now === (entry.base || "") || (entry.sent || []).indexOf(now) >= 0) return;  // still ours
        else { delete rec.q[qid]; lostTo.push(numberOf(qid)); }                       // changed elsewhere
      });
    });
    Object.keys(fieldsets).forEach(function (qid) { known[qid] = server[qid] || ""; });
    var rec = load(KEY);
    Object.keys(fieldsets).forEach(function (qid) { show(qid, rec.q[qid] ? rec.q[qid].o : known[qid]); });
    if (lostTo.length) notes = notes.concat(lostTo);
    remember();
    return rec;
  }

  // --- status --------------------------------------------------------------------------------------
  function render() {
    if (closed) return;
    var rec = load(KEY);
    var n = Object.keys(rec.q).length;
    Object.keys(fieldsets).forEach(function (qid) { fieldsets[qid].classList.toggle("unsent", qid in rec.q); });
    var waiting = n ? count(n, "câu trả lời") + " chưa lên máy chủ, đã giữ trên máy này" : "";
    var text, link = null;
    if (trouble === "login") {
      text = "Phiên đăng nhập đã hết hạn. " + (n ? waiting + " và sẽ được gửi sau khi bạn đăng nhập lại. "
                                                : "Các câu đã chọn đều đã được lưu. ");
      link = "Đăng nhập lại";
    } else if (trouble === "offline") {
      text = "Mất kết nối mạng. " + (n ? waiting + " và sẽ tự động gửi khi có mạng." : "Các câu đã chọn đều đã được lưu.");
      if (rec.submit && !rec.submit.auto) text += " Bài sẽ được nộp tự động khi có mạng trở lại (nếu vẫn còn trong giờ làm bài).";
      if (ended && n) text += " Đã hết giờ: máy chủ chỉ nhận các câu đến kịp trong vài giây sau giờ nộp.";
      if (offlineCopy) text += " (Trang đang mở từ bản lưu trên máy.)";
    } else if (trouble === "server") {
      text = "Máy chủ đang bận. " + (n ? waiting + " và sẽ tự động gửi lại." : "Đang thử lại…");
    } else if (rec.submit) {
      text = ended && rec.submit.auto ? "Hết giờ: đang nộp bài…" : "Đang nộp bài…";
    } else if (n) {
      text = "Đang lưu " + count(n, "câu") + "…";
    } else {
      text = everSaved ? "Đã lưu tất cả câu trả lời." : "";
    }
    if (notes.length) {
      text += " Câu " + notes.join(", ") + " đã được trả lời trên thiết bị khác sau đó: giữ lựa chọn mới nhất trên máy chủ.";
    }
    statusEl.textContent = text;
    if (link) {
      var a = document.createElement("a");
      a.href = "/login?next=" + encodeURIComponent(location.pathname);
      a.textContent = link;
      statusEl.appendChild(a);
    }
    statusEl.classList.toggle("pending", !!trouble);
  }

  // --- sending -------------------------------------------------------------------------------------
  function retryLater(minMs) {
    if (timer) return;
    failures += 1;
    var cap = Math.min(MAX_DELAY_MS, 1000 * Math.pow(2, failures - 1));
    var delay = Math.max(cap / 2 + Math.random() * cap / 2, minMs || 0);  // "equal jitter"
    timer = setTimeout(function () { timer = null; drive(); }, delay);
  }

  function succeeded() { trouble = ""; failures = 0; }

  function setRemaining(ms) { // the server's clock: every reply refreshes the countdown
    if (!ended && typeof ms === "number" && ms >= 0) deadline = performance.now() + ms;
    remember();
  }

  function remember() { // for a copy of this page opened offline later (the time is for display only)
    if (!storageWorks) return;
    try {
      localStorage.setItem(SEEN + attemptId, JSON.stringify({
        known: known, t: Date.now(), deadlineAt: Date.now() + Math.max(0, deadline - performance.now()) }));
    } catch (e) { /* the copy then shows what it was rendered with */ }
  }

  function failed(response, body) {
    needResync = true;
    if (response === null) trouble = "offline";
    else if (response.status === 401 || (response.status === 403 && body.error && body.error.code === "csrf_failed")) trouble = "login";
    else trouble = "server";
    var retryAfter = response ? parseInt(response.headers.get("Retry-After") || "0", 10) * 1000 : 0;
    retryLater(retryAfter);
    render();
  }

  function drive() {
    if (closed) return;
    if (needResync) { if (!busy) resync(); return; }
    var rec = load(KEY);
    var ids = Object.keys(rec.q);
    ids.forEach(function (qid) {
      if (!(qid in inFlight) && Object.keys(inFlight).length < 4) send(qid, rec.q[qid].o);
    });
    var idle = !ids.length && !Object.keys(inFlight).length && !busy;
    if (idle && rec.pred !== null && !predictionInFlight && !rec.submit) sendPrediction(rec.pred);
    if (idle && rec.submit && !predictionInFlight) sendSubmit(rec.submit);
    render();
  }

  function send(qid, token) {
    update(function (rec) { // recorded before it leaves: its answer may be lost while it arrives
      var entry = rec.q[qid];
      if (entry && (entry.sent = entry.sent || []).indexOf(token) < 0) entry.sent.push(token);
    });
    inFlight[qid] = token;
    request("PUT", API + "/answers/" + qid, { option_id: token }).then(function (response) {
      return json(response).then(function (body) {
        delete inFlight[qid];
        if (response.ok) {
          succeeded();
          everSaved = true;
          known[qid] = token;
          setRemaining(body.remaining_ms);
          update(function (rec) {
            var entry = rec.q[qid];
            if (!entry) return;
            if (entry.o === token) delete rec.q[qid];
            else { entry.base = token; entry.sent = []; }  // chosen again meanwhile: send that next
          });
          drive();
        } else if (response.status === 409) {
          finish();
        } else if (response.status === 400 || response.status === 404 || response.status === 422) {
          update(function (rec) { delete rec.q[qid]; });   // can never be saved: show what the server has
          show(qid, known[qid]);
          statusEl.textContent = errorMessage(body);
        } else {
          failed(response, body);
        }
      });
    }, function () { delete inFlight[qid]; failed(null); });
  }

  function sendPrediction(value) {
    predictionInFlight = true;
    request("PUT", API + "/prediction", { prediction: value }).then(function (response) {
      return json(response).then(function (body) {
        predictionInFlight = false;
        if (response.ok) {
          succeeded();
          everSaved = true;
          update(function (rec) { if (rec.pred === value) rec.pred = null; });
          drive();
        } else if (response.status === 409) finish();
        else if (response.status === 422) update(function (rec) { rec.pred = null; });
        else failed(response, body);
      });
    }, function () { predictionInFlight = false; failed(null); });
  }

  function resync() {
    busy = true;
    request("GET", API).then(function (response) {
      return json(response).then(function (data) {
        busy = false;
        if (!response.ok) { failed(response, data); return; }
        succeeded();
        needResync = false;
        if (data.status !== "in_progress") { finish(data); return; }
        setRemaining(data.remaining_ms);
        reconcile(data.answers || {});
        drive();
      });
    }, function () { busy = false; failed(null); });
  }

  function sendSubmit(submit) {
    busy = true;
    var prediction = submit.prediction;
    if (prediction === null || prediction === undefined) prediction = readPrediction();
    request("POST", API + "/submit", { prediction: prediction, auto: !!submit.auto }).then(function (response) {
      return json(response).then(function (body) {
        busy = false;
        if (response.ok) {
          succeeded();
          if (submit.queued || (body.auto_submitted && !submit.auto)) finish(null, body, submit);
          else { closed = true; save(KEY, blank()); window.location.href = "/attempts/" + attemptId + "/result"; }
        } else if (response.status === 422 && submit.auto) {
          retryLater(2500);  // the countdown ran out a little before the server's deadline: again soon
        } else if (response.status === 422 || response.status === 404) {
          update(function (rec) { rec.submit = null; });
          render();
          statusEl.textContent = errorMessage(body);
          if (predictionEl && body.error && body.error.code === "prediction_required") predictionEl.focus();
        } else {
          update(function (rec) { if (rec.submit) rec.submit.queued = true; });
          failed(response, body);
        }
      });
    }, function () {
      busy = false;
      update(function (rec) { if (rec.submit) rec.submit.queued = true; });
      failed(null);
    });
  }

  // --- the attempt is closed: say what counted -------------------------------------------------------
  // data: the attempt as the server has it (null: read it here); result: a submit's reply.
  function finish(data, result, submit) {
    if (closed) return;
    closed = true;
    clearTimeout(timer);
    if (!data) { // read what the server graded; failing that, the result page (which reads this
                 // phone's record too) tells
      var toResult = function () { window.location.href = "/attempts/" + attemptId + "/result"; };
      request("GET", API).then(function (response) {
        return response.ok ? json(response) : null;
      }).then(function (fresh) {
        if (!fresh || fresh.status === "in_progress") { toResult(); return; }
        closed = false;
        finish(fresh, result, submit);
      }, toResult);
      return;
    }
    var rec = load(KEY);
    submit = submit || rec.submit;
    result = result || data.result || {};
    var server = data.answers || {};
    var lost = Object.keys(rec.q).filter(function (qid) { return server[qid] !== rec.q[qid].o && qid in fieldsets; });
    save(KEY, blank());
    forgetCopy(attemptId);
    Object.keys(fieldsets).forEach(function (qid) {
      show(qid, server[qid] || "");
      fieldsets[qid].classList.remove("unsent");
      fieldsets[qid].classList.toggle("lost", lost.indexOf(qid) >= 0);
    });
    endOfInput();
    var actions = form.querySelector(".actions");
    if (actions) actions.hidden = true;
    var says = [];
    if (result.auto_submitted) {
      says.push(submit && !submit.auto
        ? "Yêu cầu nộp bài của bạn đến máy chủ khi đã hết giờ làm bài, nên hệ thống đã tự động nộp bài lúc hết giờ với các câu trả lời đã lưu trên máy chủ."
        : "Đã hết giờ làm bài: hệ thống đã tự động nộp bài lúc hết giờ với các câu trả lời đã lưu trên máy chủ.");
    } else if (submit && submit.queued) {
      says.push("Đã nộp bài: yêu cầu nộp bài được giữ trên máy này và đã gửi khi có mạng trở lại, trong giờ làm bài.");
    } else {
      says.push("Bài thi này đã được nộp (từ thiết bị khác hoặc từ một lần bấm Nộp bài trước đó).");
    }
    if (lost.length) {
      says.push(count(lost.length, "lựa chọn") + " trên máy này chưa kịp gửi đến máy chủ trước khi bài được chấm nên không được tính: câu " +
        lost.map(numberOf).join(", ") + " (đánh dấu bên dưới). Các câu hiển thị dưới đây là những câu đã được tính.");
    } else {
      says.push("Mọi câu trả lời bạn đã chọn đều đã được lưu và được tính.");
    }
    outcomeEl.textContent = "";
    var h = document.createElement("h2");
    h.textContent = "Bài thi đã được chấm";
    outcomeEl.appendChild(h);
    says.forEach(function (s) { var p = document.createElement("p"); p.textContent = s; outcomeEl.appendChild(p); });
    if (typeof result.correct === "number") {
      var score = document.createElement("p");
      score.innerHTML = "Kết quả: <strong id=\"outcome-score\"></strong> câu đúng.";
      score.querySelector("strong").textContent = result.correct + "/" + result.total;
      outcomeEl.appendChild(score);
    }
    var link = document.createElement("a");
    link.className = "button primary";
    link.href = "/attempts/" + attemptId + "/result";
    link.textContent = "Xem kết quả";
    outcomeEl.appendChild(link);
    outcomeEl.hidden = false;
    outcomeEl.setAttribute("role", "status");
    statusEl.textContent = "Đã nộp bài.";
    statusEl.classList.remove("pending");
    countdownEl.textContent = "0:00";
    outcomeEl.focus();
    outcomeEl.scrollIntoView({ block: "start" });
  }

  function endOfInput() {
    Array.prototype.forEach.call(form.querySelectorAll("input, button"), function (el) {
      if (el.type !== "hidden") el.disabled = true;
    });
  }

  // --- the person's actions ------------------------------------------------------------------------
  form.addEventListener("change", function (event) {
    var input = event.target;
    if (ended || closed || input.type !== "radio" || input.name.charAt(0) !== "q") return;
    var qid = input.name.slice(1), token = input.value;
    update(function (rec) {
      var entry = rec.q[qid];
      if (!entry) entry = rec.q[qid] = { o: token, base: known[qid], sent: [] };
      entry.o = token;
      // Back to what the server has, with nothing sent since: nothing to send.
      if (token === known[qid] && !(entry.sent || []).length && !(qid in inFlight)) delete rec.q[qid];
    });
    notes = [];
    drive();
  });

  // The message stands next to the field, like the server-rendered one (same id), and is read out.
  function showPredictionError(text) {
    var error = document.getElementById("err-prediction");
    if (!error) {
      error = document.createElement("span");
      error.id = "err-prediction";
      error.className = "field-error";
      error.setAttribute("role", "alert");
      predictionEl.insertAdjacentElement("afterend", error);
    }
    error.textContent = text;
    predictionEl.setAttribute("aria-invalid", "true");
    predictionEl.setAttribute("aria-describedby", "err-prediction");
    statusEl.textContent = text;
    predictionEl.focus();
  }

  function readPrediction() {
    if (!predictionEl) return null;
    var text = predictionEl.value.replace(/[.,\s]/g, "");
    if (!/^[0-9]{1,10}$/.test(text)) return null;
    var value = parseInt(text, 10);
    return value <= 1000000000 ? value : null;
  }

  var predictionTimer = null;
  if (predictionEl) {
    predictionEl.addEventListener("input", function () {
      clearTimeout(predictionTimer);
      predictionTimer = setTimeout(function () {
        var value = readPrediction();
        if (value === null || ended || closed) return;
        update(function (rec) { rec.pred = value; });
        drive();
      }, 600);
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault(); // with JavaScript the queue saves and submits; the form post is the no-JS path
    if (ended || closed) return;
    var submitter = event.submitter;
    if (!submitter || submitter.value !== "submit") { // "Lưu bài": send what is waiting now
      var value = readPrediction();
      if (value !== null) update(function (rec) { rec.pred = value; });
      clearTimeout(timer); timer = null; failures = 0;
      everSaved = true;
      drive();
      return;
    }
    var total = parseInt(form.dataset.total, 10);
    var answered = form.querySelectorAll("input[type=radio]:checked").length;
    var message = answered < total
      ? "Bạn còn " + (total - answered) + " câu chưa trả lời. Bạn chắc chắn muốn nộp bài?"
      : "Bạn chắc chắn muốn nộp bài?";
    if (predictionEl && readPrediction() === null) { // asked now, not after the connection returns
      showPredictionError("Vui lòng trả lời câu hỏi dự đoán (một số nguyên không âm) trước khi nộp bài.");
      return;
    }
    if (!window.confirm(message)) return;
    clearTimeout(predictionTimer);
    update(function (rec) {
      rec.submit = { auto: false, prediction: readPrediction(), queued: !navigator.onLine || !!trouble };
      rec.pred = null;
    });
    clearTimeout(timer); timer = null; failures = 0;
    drive();
  });

  // --- time ----------------------------------------------------------------------------------------
  // A screen reader hears the time at 5 min, 1 min and 30 s (a polite live region), never every
  // second (the countdown itself is role=timer, not live). Thresholds already past when the page
  // opens are not said; one jumped over (a phone that slept) is said once, the latest only.
  var urgentEl = document.getElementById("timer-urgent");
  var announceEl = document.getElementById("timer-announce");
  var WARNINGS = [[300, "Còn 5 phút làm bài."], [60, "Còn 1 phút. Hết giờ, bài được tự động nộp."],
                  [30, "Còn 30 giây. Hết giờ, bài được tự động nộp."]];
  var warned = {};
  (function () {
    var start = Math.ceil((deadline - performance.now()) / 1000);
    WARNINGS.forEach(function (w) { if (start <= w[0]) warned[w[0]] = true; });
  })();
  function announceTime(seconds) {
    var say = null;
    WARNINGS.forEach(function (w) {
      if (seconds <= w[0] && seconds > 0 && !warned[w[0]]) { warned[w[0]] = true; say = w[1]; }
    });
    if (say) announceEl.textContent = say;
  }

  // The sticky timer's height, for the page's scroll padding (app.css): focus never lands under it.
  function stickyHeight() { document.documentElement.style.setProperty("--sticky-h", timerBar.offsetHeight + "px"); }
  stickyHeight();
  if (window.ResizeObserver) new ResizeObserver(stickyHeight).observe(timerBar);

  function endOfTime() {
    if (ended || closed) return;
    ended = true;
    update(function (rec) { if (!rec.submit) rec.submit = { auto: true, prediction: readPrediction(), queued: !!trouble }; });
    endOfInput();
    drive();
  }

  function tick() {
    if (closed) return;
    var left = Math.max(0, deadline - performance.now());
    var seconds = Math.ceil(left / 1000);
    var m = Math.floor(seconds / 60), s = seconds % 60;
    countdownEl.textContent = m + ":" + (s < 10 ? "0" : "") + s;
    timerBar.classList.toggle("urgent", seconds <= 60);
    urgentEl.hidden = seconds > 60;  // said in words, not only by the colour
    announceTime(seconds);
    if (left <= 0) { endOfTime(); return; }
    setTimeout(tick, Math.min(1000, left));
  }

  // --- the network comes back, the page comes back -------------------------------------------------
  function now() { clearTimeout(timer); timer = null; failures = 0; drive(); }
  window.addEventListener("online", now);
  window.addEventListener("offline", function () {
    if (closed) return;
    trouble = trouble || "offline";
    needResync = true;  // when it comes back: read the server's answers and time first
    render();
  });
  var hiddenAt = 0;
  document.addEventListener("visibilitychange", function () {
    if (document.hidden) { hiddenAt = performance.now(); return; }
    // A phone that slept may have lost time (timers paused) or the connection: ask the server.
    if (performance.now() - hiddenAt > 10000) needResync = true;
    if (trouble || needResync) now();
  });
  window.addEventListener("pageshow", function (event) { if (event.persisted) { needResync = true; now(); } });

  // --- the offline copy of this page (attempt-sw.js) ------------------------------------------------
  function keepOfflineCopy() {
    if (offlineCopy || !("serviceWorker" in navigator) || !window.caches) return;
    navigator.serviceWorker.register("/attempt-sw.js", { scope: "/attempts/" }).then(function () {
      return caches.open(PAGE_CACHE);
    }).then(function (cache) {
      return cache.match(location.pathname).then(function (hit) {
        if (hit) return;  // the worker refreshes it on every load it serves
        return cache.put(location.pathname, new Response(pristine, { headers: { "Content-Type": "text/html; charset=utf-8" } }));
      });
    }).catch(function () { /* no copy: the page still works while it stays open */ });
  }

  // --- start: restore what this phone kept, against what the server rendered -----------------------
  pruneOld();
  if (offlineCopy) {
    var seen = null;
    try { seen = JSON.parse(localStorage.getItem(SEEN + attemptId) || "null"); } catch (e) { seen = null; }
    if (seen && seen.known) {
      Object.keys(fieldsets).forEach(function (qid) { if (qid in seen.known) known[qid] = seen.known[qid]; });
      deadline = performance.now() + Math.max(0, seen.deadlineAt - Date.now());
    }
    trouble = "offline";
    needResync = true;
  }
  var restored = reconcile(known);
  if (restored.submit && restored.submit.auto && deadline - performance.now() > 2000) {
    update(function (rec) { rec.submit = null; });  // a stale automatic submit: the server says time is left
  }
  if (predictionEl && restored.pred !== null) predictionEl.value = restored.pred;
  if (!navigator.onLine) trouble = "offline";
  tick();
  drive();
  keepOfflineCopy();
})();
