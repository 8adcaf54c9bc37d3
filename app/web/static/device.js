// The browser's random id for the jury's suspicious-accounts report: kept in localStorage and
// sent with the registration and login forms (hidden field "device_id"). No personal data.
(function () {
  "use strict";
  var KEY = "ttn-device";
  function fresh() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    var s = "";
    for (var i = 0; i < bytes.length; i++) { s += ("0" + bytes[i].toString(16)).slice(-2); }
    return s;
  }
  var id = null;
  try {
    id = window.localStorage.getItem(KEY);
    if (!id || !/^[A-Za-z0-9_-]{16,64}$/.test(id)) { id = fresh(); window.localStorage.setItem(KEY, id); }
  } catch (e) { return; } // storage disabled: the server's cookie still carries an id
  var fields = document.querySelectorAll("input[name=device_id]");
  for (var j = 0; j < fields.length; j++) { fields[j].value = id; }
})();
