/* The unread badge on the staff navbar's Notifications entry (issue 15, item 6).
 *
 * The count comes from the page (portico/baselayout.html: one indexed count of the user's unread staff
 * notifications); this script only puts it beside the menu entry, with its words for screen readers. No
 * badge when nothing is unread. */
(function () {
  "use strict";
  var source = document.getElementById("portico-unread");
  if (!source) { return; }
  var count = parseInt(source.getAttribute("data-count"), 10);
  if (!(count > 0)) { return; }
  var links = document.querySelectorAll(".navbar a[href*='/notificationview/list']");
  for (var i = 0; i < links.length; i += 1) {
    var badge = document.createElement("span");
    badge.className = "badge portico-unread";
    badge.textContent = count > 99 ? "99+" : String(count);
    badge.setAttribute("aria-hidden", "true");
    var words = document.createElement("span");
    words.className = "sr-only";
    words.textContent = " (" + source.getAttribute("data-label") + ")";
    links[i].appendChild(badge);
    links[i].appendChild(words);
  }
}());
