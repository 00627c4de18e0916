// Public request form: refuse too large or too many files before they are sent (the server checks again).
(function () {
  var form = document.getElementById("request-form");
  var input = document.getElementById("files");
  var out = document.getElementById("files-error");
  if (!form || !input || !out) { return; }
  var maxBytes = parseInt(form.dataset.maxBytes, 10) || 0;
  var maxTotal = parseInt(form.dataset.maxTotal, 10) || 0;
  var limit = parseInt(form.dataset.limit, 10) || 0;
  var already = form.querySelectorAll("input[name=remove_file]").length;

  function check() {
    var messages = [];
    var total = 0;
    var removing = form.querySelectorAll("input[name=remove_file]:checked").length;
    Array.prototype.forEach.call(input.files, function (file) {
      total += file.size;
      if (maxBytes && file.size > maxBytes) { messages.push(form.dataset.msgTooLarge.replace("{name}", file.name)); }
    });
    if (limit && input.files.length + already - removing > limit) { messages.push(form.dataset.msgTooMany); }
    if (maxTotal && total > maxTotal - 100000) { messages.push(form.dataset.msgTotal); }
    input.setCustomValidity(messages.join(" "));
    out.textContent = messages.join(" ");
    out.hidden = messages.length === 0;
    input.setAttribute("aria-invalid", messages.length ? "true" : "false");
  }
  input.addEventListener("change", check);
  form.addEventListener("change", function (event) { if (event.target.name === "remove_file") { check(); } });
})();
