// The attempt page's small script: a countdown driven by the server's remaining time (not the
// phone's clock), autosave of each answer as it is chosen with retries on a flaky connection,
// and auto-submit at the deadline. Without it the page still works through the form buttons.
(function () {
  "use strict";
  var form = document.getElementById("attempt-form");
  if (!form) return;
  var attemptId = form.dataset.attemptId;
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var statusEl = document.getElementById("save-status");
  var countdownEl = document.getElementById("countdown");
  var timerBar = document.getElementById("timer-bar");
  var deadline = performance.now() + parseInt(countdownEl.dataset.remainingMs, 10);
  var pending = {};      // question id -> option id not yet acknowledged by the server
  var inFlight = false;
  var submitting = false;

  function setStatus(text, isError) {
    statusEl.textContent = text;
    statusEl.classList.toggle("error", !!isError);
  }

  function api(method, path, body) {
    return fetch("/api/v1/attempts/" + attemptId + path, {
      method: method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, "Accept": "application/json" },
      body: JSON.stringify(body)
    });
  }

  function handleFailure(response) {
    if (response.status === 409) { // closed: deadline passed or submitted elsewhere
      submitting = true;
      window.location.href = "/attempts/" + attemptId + "/result";
      return true;
    }
    if (response.status === 401) {
      setStatus("Phiên đăng nhập đã hết hạn. Hãy đăng nhập lại; các câu đã lưu không bị mất.", true);
      return true;
    }
    return false;
  }

  function flush() {
    if (inFlight || submitting) return;
    var ids = Object.keys(pending);
    if (!ids.length) return;
    var questionId = ids[0];
    var optionId = pending[questionId];
    inFlight = true;
    setStatus("Đang lưu…");
    api("PUT", "/answers/" + questionId, { option_id: optionId }).then(function (response) {
      inFlight = false;
      if (response.ok) {
        if (pending[questionId] === optionId) delete pending[questionId];
        setStatus(Object.keys(pending).length ? "Đang lưu…" : "Đã lưu");
        flush();
      } else if (!handleFailure(response)) {
        setStatus("Chưa lưu được, đang thử lại…", true);
        setTimeout(flush, 3000);
      }
    }).catch(function () {
      inFlight = false;
      setStatus("Mất kết nối, đang thử lại…", true);
      setTimeout(flush, 3000);
    });
  }

  form.addEventListener("change", function (event) {
    var input = event.target;
    if (input.type === "radio" && input.name.charAt(0) === "q") {
      pending[input.name.slice(1)] = input.value;
      flush();
    }
  });

  var prediction = document.getElementById("prediction");
  var predictionTimer = null;
  if (prediction) {
    prediction.addEventListener("input", function () {
      clearTimeout(predictionTimer);
      predictionTimer = setTimeout(function () {
        var value = parseInt(prediction.value, 10);
        if (isNaN(value) || value < 0) return;
        api("PUT", "/prediction", { prediction: value }).then(function (response) {
          if (response.ok) setStatus("Đã lưu");
          else handleFailure(response);
        }).catch(function () { /* the form submit carries it anyway */ });
      }, 600);
    });
  }

  form.addEventListener("submit", function (event) {
    var submitter = event.submitter;
    if (submitter && submitter.value === "submit" && !submitting) {
      var total = parseInt(form.dataset.total, 10);
      var answered = form.querySelectorAll("input[type=radio]:checked").length;
      var message = answered < total
        ? "Bạn còn " + (total - answered) + " câu chưa trả lời. Bạn chắc chắn muốn nộp bài?"
        : "Bạn chắc chắn muốn nộp bài?";
      if (!window.confirm(message)) { event.preventDefault(); return; }
    }
    submitting = true;
  });

  function autoSubmit() {
    if (submitting) return;
    submitting = true;
    setStatus("Hết giờ: đang nộp bài…");
    var action = document.createElement("input");
    action.type = "hidden"; action.name = "action"; action.value = "timeout";
    form.appendChild(action);
    form.submit();
  }

  function tick() {
    var left = Math.max(0, deadline - performance.now());
    var seconds = Math.ceil(left / 1000);
    var m = Math.floor(seconds / 60), s = seconds % 60;
    countdownEl.textContent = m + ":" + (s < 10 ? "0" : "") + s;
    timerBar.classList.toggle("urgent", seconds <= 60);
    if (left <= 0) { autoSubmit(); return; }
    setTimeout(tick, Math.min(1000, left));
  }
  tick();
})();
