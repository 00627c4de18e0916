// The free-slot picker: reload it in place when the service, the location or the week changes (without
// JavaScript the "Earlier" / "Later" buttons submit the form, which shows the other week with everything kept).
(function () {
  var start = document.getElementById("slot-picker");
  var form = start && start.closest("form");
  if (!form) { return; }

  function value(name) {
    var field = form.elements[name];
    if (!field) { return ""; }
    if (field.length !== undefined && field.tagName !== "SELECT") {
      var checked = form.querySelector("input[name=" + name + "]:checked");
      return checked ? checked.value : "";
    }
    return field.value || "";
  }

  function reload(week) {
    var picker = document.getElementById("slot-picker");
    var params = new URLSearchParams({
      service_type_id: value("service_type_id"), service_location_id: value("service_location_id"),
      week: week || value("shown_week"), slot: value("slot")
    });
    fetch(picker.dataset.url + "?" + params.toString(), {credentials: "same-origin"})
      .then(function (response) { return response.ok ? response.text() : Promise.reject(response.status); })
      .then(function (html) { picker.outerHTML = html; })
      .catch(function () { /* the buttons still work without it */ });
  }

  form.addEventListener("change", function (event) {
    if (event.target.name === "service_type_id" || event.target.name === "service_location_id") { reload(); }
  });
  form.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("#slot-picker button[name=week]");
    if (!button) { return; }
    event.preventDefault();
    reload(button.value);
  });
})();
