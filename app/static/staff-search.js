/* The staff navbar's search box (issue 15): results grouped by kind as you type, ARIA combobox pattern.
 *
 * The form (staff/search_box.html) is moved into FAB's navbar. Typing asks /search/?q=… for JSON after
 * 200 ms of quiet; the answer fills the listbox. Arrow keys move through the options, Enter opens the
 * chosen one (or, with none chosen, submits the form: the full results page), Escape closes the list and a
 * second Escape clears the box. No framework, no library. */
(function () {
  "use strict";
  var form = document.getElementById("portico-search");
  if (!form) { return; }
  var input = document.getElementById("portico-search-q");
  var list = document.getElementById("portico-search-list");
  var status = document.getElementById("portico-search-status");
  var DELAY = 200;
  var timer = null;
  var asked = "";
  var pending = null;
  var options = [];
  var active = -1;

  var navbar = document.querySelector(".navbar .navbar-collapse");
  if (navbar) {
    navbar.insertBefore(form, navbar.querySelector(".navbar-right"));
  }

  function text(tag, className, value) {
    var element = document.createElement(tag);
    if (className) { element.className = className; }
    element.textContent = value;
    return element;
  }

  function close() {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  }

  function open() {
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
  }

  function choose(index) {
    if (active >= 0 && options[active]) { options[active].setAttribute("aria-selected", "false"); }
    active = index;
    if (index < 0 || !options[index]) {
      input.removeAttribute("aria-activedescendant");
      return;
    }
    options[index].setAttribute("aria-selected", "true");
    input.setAttribute("aria-activedescendant", options[index].id);
    options[index].scrollIntoView({block: "nearest"});
  }

  function option(id, label, detail, url) {
    var element = text("div", "", label);
    element.id = id;
    element.setAttribute("role", "option");
    element.setAttribute("aria-selected", "false");
    element.dataset.url = url;
    if (detail) { element.appendChild(text("span", "portico-search-detail", detail)); }
    element.addEventListener("mousedown", function (event) { event.preventDefault(); });
    element.addEventListener("click", function () { window.location.href = url; });
    return element;
  }

  function show(answer) {
    list.textContent = "";
    options = [];
    active = -1;
    var count = 0;
    answer.groups.forEach(function (group) {
      var box = document.createElement("div");
      var heading = text("div", "portico-search-heading", group.label);
      heading.id = "portico-search-group-" + group.kind;
      heading.setAttribute("role", "presentation");
      box.setAttribute("role", "group");
      box.setAttribute("aria-labelledby", heading.id);
      box.appendChild(heading);
      group.results.forEach(function (hit) {
        var detail = [hit.detail, hit.status].filter(Boolean).join(" · ");
        var element = option("portico-search-option-" + options.length, hit.title, detail, hit.url);
        options.push(element);
        box.appendChild(element);
        count += 1;
      });
      list.appendChild(box);
    });
    if (count) {
      var all = option("portico-search-option-" + options.length,
                       form.dataset.all.replace("{term}", answer.q), "", answer.all);
      options.push(all);
      list.appendChild(all);
    } else {
      list.appendChild(text("div", "portico-search-note", form.dataset.none));
    }
    status.textContent = count ? String(count) : form.dataset.none;
    open();
  }

  function ask() {
    var term = input.value.trim();
    if (!term) { asked = ""; close(); return; }
    if (term === asked) { open(); return; }  // its answer is (or will be) in the list: keep the choice made
    asked = term;
    if (pending) { pending.abort(); }
    pending = new AbortController();
    var url = form.action + "?q=" + encodeURIComponent(term);
    fetch(url, {headers: {"Accept": "application/json"}, credentials: "same-origin", signal: pending.signal})
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.json();
      })
      .then(function (answer) { if (input.value.trim() === term) { show(answer); } })
      .catch(function (error) {
        if (error.name === "AbortError") { return; }
        asked = "";
        list.textContent = "";
        options = [];
        list.appendChild(text("div", "portico-search-note", form.dataset.failed));
        open();
      });
  }

  input.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(ask, DELAY);
  });

  input.addEventListener("keydown", function (event) {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (list.hidden) { ask(); return; }
      if (!options.length) { return; }
      var step = event.key === "ArrowDown" ? 1 : -1;
      var next = active + step;
      if (next >= options.length) { next = 0; }
      if (next < 0) { next = options.length - 1; }
      choose(next);
    } else if (event.key === "Enter") {
      if (!list.hidden && active >= 0 && options[active]) {
        event.preventDefault();
        window.location.href = options[active].dataset.url;
      }
      // otherwise the form submits: the full results page
    } else if (event.key === "Escape") {
      if (!list.hidden) {
        event.preventDefault();
        close();
      } else if (input.value) {
        event.preventDefault();
        input.value = "";
        asked = "";
      }
    } else if (event.key === "Home" || event.key === "End") {
      if (!list.hidden && options.length && active >= 0) {
        event.preventDefault();
        choose(event.key === "Home" ? 0 : options.length - 1);
      }
    }
  });

  input.addEventListener("blur", function () { window.setTimeout(close, 150); });
  input.addEventListener("focus", function () { if (input.value.trim() && options.length) { open(); } });
}());
