// Address forms: when another country is chosen, the street, postcode, city and region labels follow it
// (the labels come from the server, app/core/addresses.py; the server checks the address again).
(function () {
  document.querySelectorAll(".address-fields[data-address-labels]").forEach(function (box) {
    if (box.dataset.addressReady) return;
    box.dataset.addressReady = "1";
    var labels = JSON.parse(box.dataset.addressLabels);
    var select = box.querySelector("select[name=country]");
    if (!select) return;
    select.addEventListener("change", function () {
      var chosen = labels[select.value] || labels["*"];
      Object.keys(chosen).forEach(function (name) {
        var input = box.querySelector("[data-address-field=" + name + "]");
        var label = input && box.querySelector("label[for='" + input.id + "']");
        if (label && chosen[name]) label.textContent = chosen[name];
      });
      var region = box.querySelector("[data-address-region]");
      if (region) {
        region.hidden = !chosen.state;
        var state = region.querySelector("input");
        if (state) state.required = select.value === "US";
      }
    });
  });
})();
