// Telling a member about unread messages while WhiteBalloon sits in a background tab:
// the count in the tab title, and (only when they switch it on) desktop notices.
// Loaded as a file (our CSP allows no inline script).
(function () {
  "use strict";

  // --- the tab title: "(3) Messages · WhiteBalloon", from the nav badge the poll already refreshes

  var COUNT_PREFIX = /^\(\d+\) /;

  function unreadTotal() {
    // A badge hidden with messaging switched off (live.js) counts nothing: the title kept "(1)" for a
    // message that couldn't be opened (a street's tester).
    var badge = document.querySelector("#inbox-badge .badge");
    if (badge && badge.closest("[hidden]")) badge = null;
    var count = badge ? parseInt(badge.textContent, 10) : 0;
    return isNaN(count) ? 0 : count;
  }

  function showCountInTitle(count) {
    var bare = document.title.replace(COUNT_PREFIX, "");
    document.title = count > 0 ? "(" + count + ") " + bare : bare;
  }

  // --- desktop notices: opt-in per browser and member, remembered in localStorage

  // A member's own choices, under their id (body's data-member): kept for the whole browser, they
  // showed the next member signed in on a shared computer another's message previews (a therapy
  // practice's tester). What the browser itself allows or can do stays the browser's.
  var SETTING = "wb.desktop-notices:";   // + member: "on" or absent
  var PREVIEW = "wb.desktop-previews:";  // + member: "on" or absent
  var REFUSED = "wb.desktop-refused";   // the browser said no; we explain instead of asking again

  function ofMember(key) {
    if (key.charAt(key.length - 1) !== ":") return key;
    var member = document.body && document.body.getAttribute("data-member");
    return member ? key + member : null;  // signed out: no member's choices apply
  }
  function stored(key) {
    key = ofMember(key);
    if (key === null) return null;
    try { return window.localStorage.getItem(key); } catch (error) { return null; }
  }
  function store(key, value) {
    key = ofMember(key);
    if (key === null) return;
    try {
      if (value === null) window.localStorage.removeItem(key); else window.localStorage.setItem(key, value);
    } catch (error) { /* private mode: the choice lasts for this page only */ }
  }
  // The choices this browser kept for whoever was signed in, before they were each member's: nobody's now.
  function forgetUnownedChoices() {
    try {
      window.localStorage.removeItem("wb.desktop-notices");
      window.localStorage.removeItem("wb.desktop-previews");
    } catch (error) { /* nothing kept */ }
  }

  var UNABLE = "wb.desktop-unable";   // the browser has the API but can't show a page's notices

  // Chrome on Android, for one, offers the permission and then throws at every notice (a page's
  // notices need an installed app there): the first notice, shown when they are turned on, tells.
  function supported() { return "Notification" in window && stored(UNABLE) !== "yes"; }
  function show(title, options) {
    try {
      return new Notification(title, options);
    } catch (error) {
      store(UNABLE, "yes");
      store(SETTING, null);
      return null;
    }
  }
  function noticesOn() { return supported() && stored(SETTING) === "on" && Notification.permission === "granted"; }

  // The unread count of each conversation the member already knows about (shown or told).
  var known = null;

  function unreadRows(html) {
    var rows = {};
    var doc = new DOMParser().parseFromString(html, "text/html");
    // A muted conversation keeps its count in the list but is never announced.
    doc.querySelectorAll("li.conversation.unread:not([data-muted])").forEach(function (row, order) {
      var badge = row.querySelector(".badge");
      var name = row.querySelector(".conversation-name bdi") || row.querySelector(".conversation-name");  // not its "Admin" tag
      var link = row.querySelector("a[href]");
      var preview = row.querySelector(".conversation-preview");
      rows[row.getAttribute("data-conversation-id")] = {
        count: badge ? parseInt(badge.textContent, 10) || 0 : 0,
        name: name ? name.textContent.trim() : "a member",
        href: link ? link.getAttribute("href") : "/messages",
        preview: preview ? preview.textContent.trim() : "",
        order: order
      };
    });
    return rows;
  }

  function fetchUnread(then, failed) {
    fetch("/messages/list?filter=unread", { credentials: "same-origin", headers: { "HX-Request": "true" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) { if (html !== null) then(unreadRows(html)); else if (failed) failed(); })
      .catch(function () { if (failed) failed(); /* offline: the next poll tries again */ });
  }

  function tell(id, row) {
    var options = { tag: "wb-conversation-" + id };
    if (stored(PREVIEW) === "on" && row.preview) options.body = row.preview;
    var notice = show("New message from " + row.name, options);
    if (!notice) return;
    notice.onclick = function () {
      window.focus();
      window.location.href = row.href;
      notice.close();
    };
  }

  // One notice per conversation that has more unread messages than the member knew of.
  function announceNewMessages() {
    var before = known;
    fetchUnread(function (rows) {
      Object.keys(rows).forEach(function (id) {
        if (rows[id].count > (before[id] ? before[id].count : 0)) tell(id, rows[id]);
      });
      known = rows;
    });
  }

  // What is unread now, learnt without telling (on load, and after changes the member saw).
  function learnUnread(total) {
    if (total === 0) known = {};
    else fetchUnread(function (rows) { known = rows; });
  }

  // --- a screen reader hears of a new message that isn't in the open thread (the badge and the
  // title aren't read out: on another page, or with another conversation open, nothing was said;
  // a residents' building's tester). Said a moment later, and only if the count still stands
  // above what it was: a message in the open thread is read at once, and the thread says it.

  // On the page from its load: a region added at the moment it speaks may go unheard (a re-check tester).
  var announcer = null, announceTimer = null;
  function placeAnnouncer() {
    if (announcer || !document.querySelector("#inbox-badge")) return;
    announcer = document.createElement("div");
    announcer.className = "visually-hidden";
    announcer.setAttribute("role", "status");
    document.body.appendChild(announcer);
  }
  function announce(baseline) {
    announceTimer = setTimeout(function () {
      announceTimer = null;
      var total = unreadTotal(), from = namesWords(risenFrom);
      risenFrom = [];
      if (total <= baseline) return;
      function say(from) {
        placeAnnouncer();
        announcer.textContent = "";
        requestAnimationFrame(function () {
          announcer.textContent = (total - baseline === 1 ? "New message" : (total - baseline) + " new messages") +
            (from ? " from " + from : "") + ". " + total + " unread.";
        });
      }
      if (from || total - baseline !== 1 || document.querySelector("#conversation-list")) { say(from); return; }
      // Elsewhere one new message is named after the newest unread conversation (the list's first
      // row): "New message. 1 unread." on the requests page said nothing of who (a screen-reader newcomer).
      fetchUnread(function (rows) {
        var first = Object.keys(rows).map(function (id) { return rows[id]; })
          .sort(function (a, b) { return a.order - b.order; })[0];
        say(first ? first.name : "");
      }, function () { say(""); });
    }, 1500);
  }
  // On the inbox its list says whose count rose, so the status says who wrote ("New message. 1
  // unread." said nothing of who: a residents' building's tester); elsewhere one message's writer
  // is asked of the unread list.
  var rowCounts = null, risenFrom = [];
  function listRise() {
    var rows = document.querySelectorAll("#conversation-list li.conversation:not([data-muted])");
    if (!rows.length) return [];
    var now = {}, rose = [];
    rows.forEach(function (row) {
      var id = row.getAttribute("data-conversation-id"), badge = row.querySelector(".badge");
      var name = row.querySelector(".conversation-name bdi"), count = badge ? parseInt(badge.textContent, 10) || 0 : 0;
      now[id] = count;
      if (rowCounts !== null && count > (rowCounts[id] || 0) && name) rose.push(name.textContent.trim());
    });
    rowCounts = now;
    return rose;
  }
  function namesWords(names) {
    if (!names.length || names.length > 3) return "";
    return names.length === 1 ? names[0] : names.slice(0, -1).join(", ") + " and " + names[names.length - 1];
  }

  var lastTotal = null;

  function unreadChanged() {
    var total = unreadTotal(), rose = listRise();
    showCountInTitle(total);
    if (lastTotal !== null && total > lastTotal && !document.hidden && !announceTimer) { risenFrom = []; announce(lastTotal); }
    if (announceTimer) rose.forEach(function (name) { if (risenFrom.indexOf(name) < 0) risenFrom.push(name); });
    if (!noticesOn()) {
      known = null;
    } else if (known === null) {
      learnUnread(total);
    } else if (total > lastTotal && document.hidden) {
      announceNewMessages();
    } else if (total !== lastTotal) {
      learnUnread(total);
    }
    lastTotal = total;
  }

  // --- the switch (on /settings and in the inbox): nothing is asked before the member presses it

  function explain(panel, text) {
    var status = panel.querySelector("[data-desktop-status]");
    if (status) status.textContent = text;
  }

  function drawSwitch(panel) {
    var button = panel.querySelector("[data-desktop-toggle]");
    var preview = panel.querySelector("[data-desktop-preview]");
    panel.hidden = false;
    if (!supported()) {
      button.hidden = true;
      if (preview) preview.closest("label").hidden = true;  // nothing to preview (it stayed: an outside tester)
      explain(panel, "This browser can't show desktop notifications" +
        ("Notification" in window ? " from a web page (on a phone, only installed apps can)." : ".") +
        // On Settings they are the section above (it said "in Settings" there too: an outside tester).
        (document.getElementById("email") ? " Email notifications, above, can tell you instead."
                                          : " Email notifications (in Settings) can tell you instead."));
      return;
    }
    if (preview) preview.checked = stored(PREVIEW) === "on";
    if (Notification.permission === "denied" || stored(REFUSED) === "yes" && Notification.permission !== "granted") {
      button.textContent = "Turn on desktop notifications";
      explain(panel, "Your browser is set to block notifications from this site. To get them, allow " +
        "notifications for this site in the browser's site settings, then press the button again.");
      return;
    }
    var on = noticesOn();
    button.textContent = on ? "Turn off desktop notifications" : "Turn on desktop notifications";
    button.setAttribute("aria-pressed", on ? "true" : "false");
    explain(panel, on ? "On for you in this browser: a notice when a message arrives while WhiteBalloon is in the background."
                      : "Off for you in this browser.");
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-desktop-toggle]");
    if (!button || !supported()) return;
    var panel = button.closest("[data-desktop-notices]");
    if (noticesOn()) {
      store(SETTING, null);
      drawSwitch(panel);
      return;
    }
    Notification.requestPermission().then(function (answer) {
      store(SETTING, answer === "granted" ? "on" : null);
      store(REFUSED, answer === "denied" ? "yes" : null);
      if (answer === "granted") {  // what a notice will look like, and whether this browser can show one
        show("Desktop notifications are on", {
          tag: "wb-notices-on", body: "A notice like this one comes when a message arrives while WhiteBalloon is in the background." });
      }
      known = null;
      drawSwitch(panel);
      // The browser's question closed without an answer: "Off for you in this browser." alone said nothing
      // of what happened (a marketplace tester).
      if (answer === "default") {
        explain(panel, "Off for you in this browser: its question was closed without an answer. Press the button again " +
          "and choose Allow to turn them on.");
      }
      unreadChanged();
    });
  });

  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("[data-desktop-preview]")) {
      store(PREVIEW, event.target.checked ? "on" : null);
    }
  });

  function setUp() {
    forgetUnownedChoices();
    placeAnnouncer();
    document.querySelectorAll("[data-desktop-notices]").forEach(drawSwitch);
    // Settings' "On this page" link to the panel, hidden with it without JavaScript.
    document.querySelectorAll("[data-desktop-notices-link]").forEach(function (item) { item.hidden = false; });
    unreadChanged();
  }

  document.addEventListener("DOMContentLoaded", setUp);
  // A list drawn again (Back to the inbox, its ← link) brings the switch hidden, as the server
  // draws it: shown again here (it was gone until a reload: an outside tester).
  document.addEventListener("htmx:load", function (event) {
    var elt = event.detail.elt;
    if (!elt || !elt.querySelectorAll) return;
    if (elt.matches("[data-desktop-notices]")) drawSwitch(elt);
    elt.querySelectorAll("[data-desktop-notices]").forEach(drawSwitch);
  });
  document.addEventListener("htmx:historyRestore", function () {
    document.querySelectorAll("[data-desktop-notices]").forEach(drawSwitch);
  });
  // The badge poll swaps #inbox-badge; a read swaps it too (wb:unread-changed). After the swap
  // for the badge; after settling too, as htmx sets a swapped page's own title in between.
  document.addEventListener("htmx:afterSwap", function () { unreadChanged(); });
  document.addEventListener("wb:messaging-off", function () { unreadChanged(); });
  document.addEventListener("htmx:afterSettle", function () { unreadChanged(); });
})();
