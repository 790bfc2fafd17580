// The tab's live channel: one request the server holds until something changes for this member
// (or 25-30 s), then asked again at once. Its answer says what changed; the page fetches
// exactly those parts, through the same htmx partials it was drawn with: the open thread's
// poller (new messages, "Seen", messages deleted or removed), the inbox list (or the dashboard's
// latest conversations), the nav badge and the dashboard line (whose swap notify.js turns into
// the tab title and desktop notices).
// A server that can't hold requests answers at once and says when to ask again (retry).
// Loaded as a file (our CSP allows no inline script). Without JavaScript, pages are as drawn.
(function () {
  "use strict";

  var MAX_BACKOFF_SECONDS = 30;
  var url = null, cursor = null, failures = 0, switchedOff = false, drawnOff = false, switchedOffRetry = 10;
  // One held ask per browser, not one per tab: a browser keeps six connections to a site, and six
  // tabs each holding one left none for a send, which waited until a hold ended, or failed (a
  // marketplace's tester). The tab that leads (the one the member looked at last: Web Locks) holds
  // the ask; the others ask at once, unheld (?wait=0), when it tells them of news (BroadcastChannel).
  // Where a browser has neither, every tab leads, as before.
  var leading = true, channel = null, queued = false, pinged = false;
  var changedMessages = [];  // shown messages to draw again with the next thread poll
  // This tab's id, sent with its requests (X-WB-Tab): the live events its own requests made come
  // back marked with it, and it skips them, since those requests' answers (HX-Trigger) refreshed
  // what they changed here. The member's other tabs still get them.
  var TAB = randomTabId();

  function randomTabId() {
    var bytes = new Uint8Array(8);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function openThreadId() {
    var thread = document.getElementById("thread");
    return thread ? thread.getAttribute("data-conversation-id") : null;
  }

  function fire(name) { document.body.dispatchEvent(new CustomEvent(name)); }

  // The whole thread pane again: a block or the rules may change its compose box, and a tab
  // that was away longer than the server keeps changes can't know what changed in it.
  function redrawThread(id) {
    if (!document.getElementById("thread-pane")) return;
    // X-WB-Redraw: not picked by the member, so the focus stays where they left it (app.js)
    htmx.ajax("GET", "/messages/" + id, { target: "#thread-pane", swap: "innerHTML", headers: { "X-WB-Redraw": "live" } });
  }

  // The inbox's note that says whom the member may start with at all (the rules, who is in which
  // circle), taken from the inbox drawn now: "Ask an admin to add you to a circle" stayed after the
  // admin had (a residents' building's tester). ignoreTitle: the tab keeps its own title (and unread count).
  function redrawStartingNote() {
    if (!document.getElementById("starting-note")) return;
    htmx.ajax("GET", "/messages", { target: "#starting-note", select: "#starting-note", swap: "outerHTML ignoreTitle:true" });
  }

  // The Message buttons and the notes saying why not (_macros.html message_button: one element each,
  // data-message-for) follow the rules too: drawn again in place from the page as it is now (a profile
  // said "isn't in any of your circles" after the admin let everyone reach everyone: a street's tester).
  // Only where the page now draws the same members in the same order; else they wait for a reload.
  // Every open page hears a change of the rules at once: each asks within a couple of seconds, at random,
  // not all in the same moment.
  var SPREAD_MS = 2000;
  function redrawMessageButtons() {
    if (!document.querySelector("[data-message-for]")) return;
    window.setTimeout(fetchMessageButtons, Math.random() * SPREAD_MS);
  }
  function fetchMessageButtons() {
    fetch(window.location.href, { credentials: "same-origin", headers: { "X-WB-Tab": TAB } })
      .then(function (response) { return response.ok && !response.redirected ? response.text() : null; })
      .then(function (html) {
        if (html === null) return;
        var now = document.querySelectorAll("[data-message-for]");  // as the page is when the answer is in
        var drawn = new DOMParser().parseFromString(html, "text/html").querySelectorAll("[data-message-for]");
        if (!now.length || now.length !== drawn.length) return;
        for (var i = 0; i < now.length; i++) {
          if (now[i].getAttribute("data-message-for") !== drawn[i].getAttribute("data-message-for")) return;
        }
        now.forEach(function (element, i) {
          if (element.outerHTML === drawn[i].outerHTML) return;
          var fresh = document.importNode(drawn[i], true);
          element.replaceWith(fresh);
          htmx.process(fresh);
        });
      })
      .catch(function () { /* offline: the next change of the rules, or a reload, draws them */ });
  }

  function apply(answer, active) {
    // Messaging was switched off, and on again before this tab heard of it (its ask was answered
    // while it was on): the page is drawn again as it is now. What was typed or refused meanwhile
    // comes back into its box (app.js keeps drafts as a page leaves).
    // So is a page open while the messaging database was restored from a backup ("restored"): it
    // may show messages the restore took away.
    // ... and a page drawn while the member waited for approval, now they are approved: said once drawn
    // (sayApproved), and what they were typing (their bio) kept (app.js, wb:redrawing), as a
    // re-check tester lost it.
    // So is every page when help requests are switched on or off ("features").
    if (events(answer, "messaging") || events(answer, "restored") || events(answer, "approved") || events(answer, "features")) {
      if (events(answer, "approved")) {
        try { window.sessionStorage.setItem(APPROVED, "yes"); } catch (error) { /* storage off: not said */ }
      }
      fire("wb:redrawing");
      window.location.reload();
      return;
    }
    var open = openThreadId(), poll = false, list = answer.refresh, redraw = answer.refresh, unread = answer.refresh;
    answer.events.forEach(function (change) {
      if (change.tab === TAB) return;
      var here = open !== null && String(change.conversation) === open;
      if (change.list) {  // the change moves the inbox list (the server says)
        list = true;
        if (change.unread) unread = true;  // not for my own message (the server says)
      }
      if (!here) return;
      if (change.kind === "message" || change.kind === "seen") poll = true;
      if (change.kind === "deleted" || change.kind === "removed") {
        if (changedMessages.indexOf(change.message) < 0) changedMessages.push(change.message);
        poll = true;
      }
      // the compose box may close or open: a block, the other member's pause (alike), their leaving
      if (change.kind === "blocked" || change.kind === "compose" || change.kind === "left") redraw = true;
    });
    if (events(answer, "rules") && open !== null) redraw = true;
    if (events(answer, "rules") || answer.refresh) { redrawStartingNote(); redrawMessageButtons(); }
    if (redraw && open !== null) redrawThread(open);
    else if (poll) fire("wb:poll-now");
    // On the inbox the answer brings the list drawn now (X-WB-List): the rows that changed, which
    // app.js merges into the list, or has the list ask for itself when the one on screen is newer.
    if (list && typeof answer.list === "string") {
      document.body.dispatchEvent(new CustomEvent("wb:list-came", { bubbles: true, detail: { html: answer.list, cursor: Number(answer.cursor), active: active } }));
    } else if (list) {
      fire("wb:list-stale");
    }
    if (unread) fire("wb:unread-changed");
    if (events(answer, "admin") || answer.refresh) fire("wb:admin-changed");  // the count beside Admin (admin/_waiting.html)
  }

  var APPROVED = "wb-approved";
  function sayApproved() {
    var main = document.getElementById("main");
    try {
      if (window.sessionStorage.getItem(APPROVED) === null) return;
      window.sessionStorage.removeItem(APPROVED);
    } catch (error) { return; }
    if (!main || document.querySelector(".tag-pending")) return;
    var note = document.createElement("div");
    note.className = "flashes";
    note.setAttribute("role", "status");
    note.tabIndex = -1;
    var words = document.createElement("p");
    words.className = "flash flash-success";
    words.textContent = "An admin approved your account: you can now post, comment and send messages.";
    note.appendChild(words);
    main.insertBefore(note, main.firstChild);
    note.focus();
  }

  function events(answer, kind) {
    return answer.events.some(function (change) { return change.kind === kind; });
  }

  // A wake that comes while the part it concerns is still fetching would be lost: htmx drops a
  // request triggered on a busy element (the badge, the list), and one it queues on the thread's
  // poller goes with the element the poll's answer replaces (outerHTML). A send's answer replaces
  // the poller too (out of band), and a poll answered meanwhile lands on the poller it replaced,
  // so its read and cursors would go. So the page remembers such a wake and fires it again once
  // that part is in.
  var PARTS = {
    "wb:poll-now": ["poller", "compose"],
    "wb:list-stale": ["conversation-list", "dashboard-conversations"],
    "wb:list-changed": ["conversation-list"],
    "wb:unread-changed": ["inbox-badge", "dashboard-unread"]
  };
  var wokenWhileBusy = {};
  function busy(name) {
    return PARTS[name].some(function (id) {
      var part = document.getElementById(id);
      return !!part && part.classList.contains("htmx-request");
    });
  }
  Object.keys(PARTS).forEach(function (name) {
    document.addEventListener(name, function () { if (busy(name)) wokenWhileBusy[name] = true; }, true);
  });
  function fireWhatCameWhileBusy() {
    Object.keys(wokenWhileBusy).forEach(function (name) {
      if (busy(name)) return;
      delete wokenWhileBusy[name];
      fire(name);
    });
  }
  document.addEventListener("htmx:afterSettle", fireWhatCameWhileBusy);
  document.addEventListener("htmx:afterRequest", function () { window.setTimeout(fireWhatCameWhileBusy, 0); });

  // A part's fetch that failed (no connection, or the server's error), or a read, would lose the news the
  // live channel brought for it, since the channel's cursor has moved past it: a phone's thread poll
  // failed in a dropout, and the message never came while the title counted it (a newcomer's
  // tester). So its wake is owed, and fired again once the page is back online, is looked at again,
  // or after a while (2, 4 ... 30 s while it keeps failing); the messages it was to draw again go
  // back to be asked for too.
  var FETCHED_BY = {
    "poller": "wb:poll-now", "conversation-list": "wb:list-stale", "dashboard-conversations": "wb:list-stale",
    "inbox-badge": "wb:unread-changed", "dashboard-unread": "wb:unread-changed"
  };
  // A read (its own element, or the thread asking it: app.js) is owed as wb:read-again.
  var READ_PATH = /^\/messages\/\d+\/read$/;
  function owedName(detail) {
    var path = detail.pathInfo && detail.pathInfo.requestPath;
    return FETCHED_BY[detail.elt && detail.elt.id] || (path && READ_PATH.test(path.split("?")[0]) ? "wb:read-again" : null);
  }
  var owed = {}, owedTimer = null, owedFailures = 0, changedOnTheirWay = [];
  function partFailed(event) {
    var id = event.detail.elt && event.detail.elt.id, name = owedName(event.detail), xhr = event.detail.xhr;
    if (!name || (event.type === "htmx:responseError" && xhr && xhr.status > 0 && xhr.status < 500)) return;
    if (id === "poller") {
      changedOnTheirWay.forEach(function (m) { if (changedMessages.indexOf(m) < 0) changedMessages.push(m); });
      changedOnTheirWay = [];
    }
    owed[name] = true;
    owedFailures += 1;
    if (owedTimer === null) owedTimer = window.setTimeout(payOwed, Math.min(MAX_BACKOFF_SECONDS, Math.pow(2, owedFailures)) * 1000);
  }
  document.addEventListener("htmx:sendError", partFailed);
  document.addEventListener("htmx:responseError", partFailed);
  document.addEventListener("htmx:afterRequest", function (event) {
    if (event.detail.successful && owedName(event.detail)) owedFailures = 0;
  });
  function payOwed() {
    if (owedTimer !== null) window.clearTimeout(owedTimer);
    owedTimer = null;
    Object.keys(owed).forEach(function (name) { delete owed[name]; fire(name); });
  }

  // Every htmx request says which tab it comes from, and on the inbox what its list shows (the
  // list's own query: page and filter), so that the answer to an action that changes the list
  // (a send, a read, a delete) brings the list along instead of making it ask; the thread's poll
  // carries the messages to draw again (see _poll.html); a send carries the poller's cursors, and
  // its answer brings what the poll would (the new message among it) with a new poller.
  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-WB-Tab"] = TAB;
    var id = event.detail.elt.id, poller = document.getElementById("poller");
    var shown = listShown();
    if (shown !== null && id !== "conversation-list") event.detail.headers["X-WB-List"] = shown;
    if (id === "poller") {
      if (changedMessages.length) setQuery(event, { changed: changedMessages.join(",") });
      changedOnTheirWay = changedMessages;
      changedMessages = [];
    } else if (id === "compose" && poller) {
      setQuery(event, { after: poller.getAttribute("data-after-id"), seen: poller.getAttribute("data-seen-id") });
    }
  });

  // The inbox list's own query (page and filter), or null on a page without one.
  function listShown() {
    var list = document.getElementById("conversation-list"), query = list && list.getAttribute("hx-get");
    return query ? new URL(query, window.location.href).search.slice(1) : null;
  }

  function setQuery(event, values) {
    var path = new URL(event.detail.path, window.location.href);
    Object.keys(values).forEach(function (name) { path.searchParams.set(name, values[name]); });
    event.detail.path = path.pathname + path.search;
  }

  // The next ask's timer, and the ask on its way ({started, controller, dropped}).
  var retryTimer = null, inflight = null, offlineSince = null;

  function askAgain(seconds) {
    retryTimer = window.setTimeout(function () { retryTimer = null; ask(); }, seconds * 1000);
  }

  // The ask a timer waits for, now; false when none waits (an ask is on its way, or none is due).
  function askNowInsteadOfLater() {
    if (retryTimer === null) return false;
    window.clearTimeout(retryTimer);
    retryTimer = null;
    ask();
    return true;
  }

  // Back online, the page asks at once: after a dropout its asks had failed and the next waited up
  // to MAX_BACKOFF_SECONDS (a phone that lost signal got news 12-30 s late: a street's tester).
  // An ask sent before the connection went may never be answered on the new one: it is dropped.
  window.addEventListener("offline", function () { if (offlineSince === null) offlineSince = Date.now(); });
  // A phone woken, or a tab come back to, asks at once too when its asks had been failing (weak signal
  // that the phone never reported as offline: a re-check tester waited 20 s for a message).
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState !== "visible") return;
    if (channel !== null && !leading) seekLead(true);
    payOwed();
    if (failures > 0) askNowInsteadOfLater();
  });

  // --- the browser's tabs: one leads -------------------------------------------------------------

  // The lead, taken from another tab (steal: the member looks at this one) or waited for (queued:
  // when the leading tab goes, the next takes it). Held as long as the page lives.
  function seekLead(steal) {
    if (!steal) queued = true;
    navigator.locks.request(channel.name, steal ? { steal: true } : {}, function () {
      if (!steal) queued = false;
      becomeLeader();
      return new Promise(function () {});
    }).catch(function () {  // taken by a tab the member looked at since
      if (!steal) queued = false;
      loseLead();
    });
  }

  function becomeLeader() {
    if (leading) return;  // the page took the lead as it started
    leading = true;
    if (retryTimer !== null) { window.clearTimeout(retryTimer); retryTimer = null; }
    if (inflight === null && url && cursor !== null) ask();  // else it holds the next ask, once this one is answered
    tellTheOtherTabs(cursor);
  }

  function loseLead() {
    if (!leading) return;
    leading = false;
    if (inflight !== null && inflight.controller) {
      inflight.dropped = true;
      inflight.controller.abort();
      inflight = null;
    }
    if (retryTimer !== null) { window.clearTimeout(retryTimer); retryTimer = null; }
    if (!queued) seekLead(false);
    // What its held ask would have brought, up to now (the leading tab tells it of news from here on).
    if (url && cursor !== null && !switchedOff) ask();
  }

  // The other tabs ask what changed since their own cursor when it is older than `newest` (null:
  // whatever it is; a change this tab made, which its own held ask doesn't hear of). answered: the
  // answer that brought it news from cursor `since`, whose events' tabs say who made them.
  function tellTheOtherTabs(newest, since, answered) {
    if (channel === null || !leading) return;
    var tabs = answered && !answered.refresh ? answered.events.map(function (change) { return change.tab; }) : null;
    channel.postMessage({ cursor: newest === null ? null : String(newest), since: since === undefined || since === null ? null : String(since), tabs: tabs });
  }

  function heardFromTheLeadingTab(event) {
    var newest = event.data && event.data.cursor, tabs = event.data && event.data.tabs;
    if (leading || !url || cursor === null || switchedOff && newest !== null) return;
    if (newest !== null && newest !== undefined && Number(newest) <= Number(cursor)) return;
    // News of this tab's own requests alone, from where this tab stands: it would skip every one of
    // them (their answers refreshed it here), so it moves on without asking.
    if (inflight === null && tabs && tabs.length && event.data.since === String(cursor) &&
        tabs.every(function (tab) { return tab === TAB; })) {
      cursor = newest;
      return;
    }
    if (inflight !== null) { pinged = true; return; }
    if (retryTimer !== null) { window.clearTimeout(retryTimer); retryTimer = null; }
    ask();
  }

  // What this tab's own requests change, its held ask isn't told of (its answers refreshed it here):
  // the other tabs are.
  document.addEventListener("htmx:afterRequest", function (event) {
    var config = event.detail.requestConfig;
    if (leading && event.detail.successful && config && config.verb && config.verb !== "get") tellTheOtherTabs(null);
  });
  window.addEventListener("online", function () {
    var since = offlineSince;
    payOwed();
    offlineSince = null;
    if (!url || cursor === null || !window.fetch) return;
    if (askNowInsteadOfLater()) return;
    if (inflight !== null && since !== null && inflight.started <= since && inflight.controller) {
      inflight.dropped = true;
      inflight.controller.abort();
      inflight = null;
      ask();
    }
  });

  // A form sent to load another page (not through htmx, which prevents the default) is on its way:
  // its own answer says where the member is. Told by the channel of the same change first (their
  // account closed from this very page), the page went to the sign-in page's "This account is closed"
  // and the member never saw their own "Your account is closed". If the page is still here after
  // LEAVING_MS (a download), the next ask goes on as before.
  var leavingSince = -Infinity, LEAVING_MS = 10000;
  window.addEventListener("submit", function (event) {
    if (!event.defaultPrevented) leavingSince = Date.now();
  });

  // why: the server's word for it ("closed", "suspended"), from where it sent the ask.
  function signedOut(why) {
    if (Date.now() - leavingSince < LEAVING_MS) {
      askAgain(LEAVING_MS / 1000);
      return;
    }
    fire("wb:signed-out");
    window.location.assign("/login?next=" + encodeURIComponent(window.location.pathname + window.location.search) +
      "&ended=" + encodeURIComponent(why || "1"));
  }

  // The page says so at its top and stays as it was (a half-written message too): its Message
  // buttons, the nav's inbox link with its count and the home page's Messages card go (they stayed,
  // the card with a "Not found" box in it: an outside tester), and the other links and a send meet
  // the "switched off" answers.
  function sayMessagingIsOff() {
    var notice = document.getElementById("messaging-switched-off"), main = document.getElementById("main");
    if (!notice || !main || document.getElementById("messaging-off-notice")) return;
    main.insertBefore(notice.content.cloneNode(true), main.firstChild);
    document.querySelectorAll("form.message-button").forEach(function (form) { form.remove(); });
    // Hidden, not removed: an answer already on its way may still bring the badge out of band,
    // and htmx reports a part it can't find as an error.
    var card = document.getElementById("dashboard-messages"), badge = document.getElementById("inbox-badge");
    if (card) card.hidden = true;
    if (badge) (badge.closest(".nav-links > li") || badge).hidden = true;
    document.dispatchEvent(new CustomEvent("wb:messaging-off"));  // the title's count goes (notify.js)
  }

  function ask() {
    var started = Date.now(), headers = { Accept: "application/json", "X-WB-Tab": TAB };
    var shown = listShown(), active = openThreadId() || "0";  // the list is drawn with it open
    if (shown !== null) headers["X-WB-List"] = shown + "&active=" + active;
    var call = { started: started, controller: window.AbortController ? new AbortController() : null, dropped: false,
                 held: leading, since: cursor };
    inflight = call;
    fetch(url + "?since=" + encodeURIComponent(cursor) + (leading ? "" : "&wait=0"), {
      credentials: "same-origin", cache: "no-store", headers: headers,
      signal: call.controller ? call.controller.signal : undefined
    }).then(function (response) {
      if (inflight === call) inflight = null;
      // Signed out (everywhere, a new password, a suspension): the ask went to the sign-in page,
      // and so does the page, which shows what is private; it comes back here once signed in
      // (app.js keeps a draft for it).
      if (response.status === 401 || (response.redirected && new URL(response.url).pathname === "/login")) {
        tellTheOtherTabs(null);
        signedOut(response.redirected ? new URL(response.url).searchParams.get("ended") : null);
        return null;
      }
      // Messaging switched off (404) or no longer for this member (403): each live part asks once
      // more and leaves on its own answer. While it is off the channel's ask waits for it to be
      // switched on (or, where the server can't hold requests, asks now and then), and the page is
      // drawn again when it is back.
      if (response.status === 403 || response.status === 404) {
        if (!switchedOff) tellTheOtherTabs(null);
        // A page drawn while messaging was off has nothing of it to take away or say: it only
        // waits to be drawn again once messaging is on.
        if (!drawnOff) {
          fire("wb:poll-now");
          fire("wb:list-stale");
          fire("wb:unread-changed");
        }
        if (response.status === 404) {
          switchedOff = true;
          // Asked from the newest change the server knows (it answered at once an ask from before the
          // switch): the next ask waits for messaging to be back.
          var newest = response.headers.get("X-WB-Cursor");
          if (newest !== null && /^\d+$/.test(newest)) cursor = newest;
          if (!drawnOff) sayMessagingIsOff();
          // The server says when (Retry-After): at once where its next ask waits for the switch.
          var after = response.headers.get("Retry-After");
          if (leading) askAgain(after !== null && /^\d+$/.test(after) ? Number(after) : switchedOffRetry);
        }
        return null;
      }
      if (!response.ok) throw new Error("live channel: " + response.status);
      if (switchedOff) {
        tellTheOtherTabs(null);
        window.location.reload();
        return null;
      }
      return response.json();
    }).then(function (answer) {
      if (answer === null) return;
      failures = 0;
      cursor = answer.cursor;
      apply(answer, active);
      var quiet = !answer.events.length && !answer.refresh;
      if (!quiet) tellTheOtherTabs(answer.cursor, call.since, answer);
      if (!leading) {  // it asks again when the leading tab tells it of news
        if (pinged) { pinged = false; ask(); }
        return;
      }
      // A proxy that answers for a held request at once must not make this a busy loop. An unheld ask
      // made before the tab took the lead is followed by a held one at once.
      var retry = !call.held ? 0 : answer.retry || (quiet && Date.now() - started < 1000 ? 2 : 0);
      askAgain(retry);
    }).catch(function () {
      if (inflight === call) inflight = null;
      if (call.dropped) return;  // the page asked anew when it came back online
      failures += 1;
      askAgain(Math.min(MAX_BACKOFF_SECONDS, Math.pow(2, failures)));
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    sayApproved();
    url = document.body.getAttribute("data-live");
    cursor = document.body.getAttribute("data-live-cursor");
    switchedOffRetry = Number(document.body.getAttribute("data-live-retry")) || switchedOffRetry;  // LIVE_RETRY_SECONDS
    drawnOff = switchedOff = document.body.hasAttribute("data-live-off");  // drawn while messaging was off
    if (!url || cursor === null || !window.fetch) return;
    if (navigator.locks && window.BroadcastChannel) {
      channel = new BroadcastChannel("wb-live:" + (document.body.getAttribute("data-member") || ""));
      channel.onmessage = heardFromTheLeadingTab;
      // Looked at, it leads: its held ask goes now, as the lock (a steal waits for nobody) is taken.
      // In the background it asks once, unheld: what changed since the page was drawn.
      leading = document.visibilityState === "visible";
      ask();
      if (leading) seekLead(true);
      seekLead(false);  // next in line once another tab leads
      return;
    }
    ask();
  });
})();
