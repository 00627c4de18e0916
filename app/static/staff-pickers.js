/* Dependent pickers on the staff add forms (issue 15, item 4): choosing the customer narrows the unit,
 * address, request and work order pickers to that customer's rows.
 *
 * The options come from /pickers/<screen>/<field>?customer_id=N: the rows the server offers for that
 * form and customer (the server refuses another customer's row when the form is saved, whatever the
 * browser sent). A choice that still fits is kept; one that does not is cleared. Select2 4 redraws on
 * "change". Without script the pickers list every customer's rows and the server still checks. */
(function () {
  "use strict";
  var customer = document.getElementById("customer");
  if (!customer || !customer.form || !/\/add\/?$/.test(window.location.pathname)) { return; }
  var screen = window.location.pathname.split("/")[1];
  var FIELDS = ["unit", "address", "service_request", "work_order", "work_orders"];
  var $ = window.jQuery;

  function redraw(select) {
    if ($) { $(select).trigger("change"); } else { select.dispatchEvent(new Event("change")); }
  }

  function fill(select, rows) {
    var kept = {};
    Array.prototype.forEach.call(select.options, function (option) {
      if (option.selected) { kept[option.value] = true; }
    });
    Array.prototype.slice.call(select.options).forEach(function (option) {
      if (option.value && option.value !== "__None") { select.removeChild(option); }
    });
    rows.forEach(function (row) {
      var value = String(row.id);
      select.appendChild(new Option(row.text, value, false, Boolean(kept[value])));
    });
    redraw(select);
  }

  function narrow() {
    var id = customer.value;
    if (!id || id === "__None") { return; }
    FIELDS.forEach(function (field) {
      var select = customer.form.querySelector("select[name='" + field + "']");
      if (!select) { return; }
      var url = "/pickers/" + encodeURIComponent(screen) + "/" + field + "?customer_id=" + encodeURIComponent(id);
      window.fetch(url, {credentials: "same-origin", headers: {Accept: "application/json"}})
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (rows) { if (rows && customer.value === id) { fill(select, rows); } })
        .catch(function () { /* the server checks on save */ });
    });
  }

  if ($) { $(customer).on("change", narrow); } else { customer.addEventListener("change", narrow); }
  narrow();
}());
