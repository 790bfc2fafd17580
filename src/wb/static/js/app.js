// WhiteBalloon's few behaviours that HTML and htmx can't express on their own.
// Loaded as a file (our CSP allows no inline script).
(function () {
  "use strict";

  // Times on pages are drawn in this browser's time zone: the server reads it from this cookie
  // (an IANA name such as "America/Los_Angeles", nothing else), from the next page on.
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    var known = ("; " + document.cookie + ";").indexOf("; wb_tz=" + zone + ";") >= 0;
    if (!known && /^[A-Za-z0-9_+\-]+(\/[A-Za-z0-9_+\-]+){0,2}$/.test(zone || "")) {
      document.cookie = "wb_tz=" + zone + "; path=/; max-age=31536000; samesite=lax";
    }
  } catch (error) { /* no Intl: times stay in UTC, as they say */ }

  // At a keyboard, Enter sends a message and Shift+Enter adds a line. On a touch screen
  // (a coarse pointer), whose keyboard has no Shift+Enter, Return adds a line and the Send
  // button sends.
  function enterSends() { return !window.matchMedia("(pointer: coarse)").matches; }
  function explainEnter() {
    var box = document.querySelector("#compose textarea[data-keyboard-placeholder]");
    if (box && enterSends()) box.placeholder = box.getAttribute("data-keyboard-placeholder");
  }
  document.addEventListener("DOMContentLoaded", explainEnter);
  document.addEventListener("htmx:afterSwap", explainEnter);
  document.addEventListener("keydown", function (event) {
    var box = event.target;
    if (event.key !== "Enter" || event.shiftKey || event.isComposing) return;
    if (!box.matches || !box.matches("#compose textarea") || !enterSends()) return;
    event.preventDefault();
    // Nothing to send: nothing is sent, and it says so, as Send does (Enter did nothing a keyboard
    // user could hear or see: a residents' building's tester); but not to a second press (pressedAgain).
    if (box.value.trim() === "") {
      if (!pressedAgain(box.form)) showComposeError(box, "Write something before sending.", true);
      return;
    }
    // A send is still on its way: this one follows as soon as it lands (see below).
    if (box.form.classList.contains("htmx-request")) { sendWhenSwapped = true; return; }
    box.form.requestSubmit();
  });

  // The error a send's answer would draw (_compose.html), drawn here; aboutText: it goes once the member types.
  // Drawn anew each time, so that the same words said again are read out again.
  function showComposeError(box, words, aboutText) {
    var old = box.form.querySelector(".compose-error, .compose-ready"), error = document.createElement("p");
    error.className = "compose-error";
    error.id = "compose-error";
    error.setAttribute("role", "alert");
    if (old) old.replaceWith(error); else box.form.insertBefore(error, box.form.querySelector("label") || box);
    if (aboutText) error.setAttribute("data-about-text", "");
    error.textContent = words;
    box.setAttribute("aria-invalid", "true");
    describedBy(box, "compose-error", true);
    return error;
  }
  function clearComposeError(box) {
    var error = box.form.querySelector(".compose-error");
    if (error) error.remove();
    box.removeAttribute("aria-invalid");
    box.removeAttribute("aria-describedby");
  }

  // A request that gets no answer (the connection dropped, a timeout), the server's error (503 while
  // the messaging database can't be used, 500) or a proxy's error page never takes the place of what
  // asked: a send, a message's Delete or Remove, a conversation picked in the inbox, the New message
  // search. What asked stays as it was, with what was written in it, and says in words what didn't
  // happen and what to do (a 503 box took the compose form's place and the message typed in it, a
  // failed delete the message's, and an offline Enter on a conversation did nothing: an outside
  // tester). What the server draws for them (a send refused for its text, a limit) still comes in.
  var UNANSWERED = [
    { name: "send", asks: function (elt) { return elt.id === "compose"; },
      draws: function (xhr) { return xhr.status < 500 && /\bid="compose"/.test(xhr.responseText); },
      didnt: function () { return "Not sent"; }, unavailable: "messages can't be stored right now",
      next: "Your message is still here; send it again in a moment.", say: sendFailed },
    { name: "message-action", asks: function (elt) { return elt.matches("form") && !!elt.closest(".message-actions-menu"); },
      draws: function () { return false; },
      didnt: function (form) { return /\/delete$/.test(form.getAttribute("hx-post")) ? "Not deleted" : "Not removed"; },
      unavailable: "messages can't be changed right now", next: "The message is as it was; try again in a moment.",
      say: function (form, words) {
        var menu = form.closest(".message-actions-menu");
        menu.insertBefore(unansweredNote("message-action", words, "form-error"), menu.firstChild);
        // Under the thread's newest message the alert pushed the menu out of sight (a re-check tester).
        menu.scrollIntoView({ block: "nearest" });
      } },
    // A message's ⋯ menu loads its actions as it opens (message_html.py): offline it showed only the
    // no-JavaScript link, which led to the browser's offline page, and loaded nothing once back online
    // (an outside tester). It says so in the menu, and loads when opened again or back online (loadMenu).
    { name: "message-menu", asks: function (elt) { return elt.matches("details.message-actions"); },
      draws: function (xhr) { return xhr.status < 500; },
      didnt: function () { return "Couldn't load"; }, unavailable: "messages can't be shown right now",
      next: function () { return navigator.onLine ? "Try again in a moment." : "It loads once you're back online."; },
      say: function (menu, words) {
        var items = menu.querySelector(".message-actions-menu");
        menu.setAttribute("data-menu-unloaded", "");
        if (items) items.replaceChildren(unansweredNote("message-menu", words, "form-error"));
        // In sight, as a menu that loads is: on a zoomed phone its words ran under the thread's
        // foot, "Couldn't load: you're offline." and no more (a re-check tester).
        menu.scrollIntoView({ block: "nearest" });
      } },
    // A conversation picked offline opens once back online (pickAgainOnline), as the ⋯ menu and the
    // search do: "Try again in a moment" stayed above the list for good (a re-check tester).
    { name: "thread-pane", asks: function (elt, target) { return isThreadPane(target); },
      draws: function (xhr) { return xhr.status < 500; },
      didnt: function () { return navigator.onLine ? "Couldn't load" : "Couldn't open it"; },
      unavailable: "messages can't be shown right now",
      next: function () { return navigator.onLine ? "Try again in a moment." : "It opens once you're back online."; },
      say: function (link, words) {  // by the list, where the member is (the pane is hidden on a phone)
        var list = document.getElementById("conversation-list"), pane = document.getElementById("thread-pane");
        var note = unansweredNote("thread-pane", words, "form-error");
        if (list) list.parentNode.insertBefore(note, list); else pane.insertBefore(note, pane.firstChild);
        pickOwed = !navigator.onLine && link && link.matches("a[hx-get]") ? link : null;
      } },
    { name: "search", asks: function (elt) { return !!elt.closest(".new-message-search"); },
      draws: function (xhr) { return xhr.status < 500; },
      didnt: function () { return "Couldn't search"; }, unavailable: "members can't be searched right now",
      next: function () { return navigator.onLine ? "Press Search to try again." : "It searches again once you're back online."; },
      say: function (field, words) {  // in the results' own live region, in place of what they said
        var note = unansweredNote("search", words, "hint");
        note.removeAttribute("role");
        document.getElementById("new-message-results").replaceChildren(note);
      } }
  ];
  function unansweredPart(elt, target) {
    if (!elt || !elt.matches) return null;
    for (var i = 0; i < UNANSWERED.length; i++) if (UNANSWERED[i].asks(elt, target)) return UNANSWERED[i];
    return null;
  }
  function unansweredNote(name, words, className) {
    var note = document.createElement("p");
    note.className = className;
    note.setAttribute("role", "alert");
    note.setAttribute("data-unanswered", name);
    note.textContent = words;
    return note;
  }
  // "Not sent: messages can't be stored right now. Your message is still here; send it again in a moment."
  // A refusal the server explains (a 4xx error box) is said in its own words.
  function whatWentWrong(part, elt, xhr, timedOut) {
    var status = timedOut || !xhr ? 0 : xhr.status, didnt = part.didnt(elt);
    if (status >= 400 && status < 500) {
      var said = new DOMParser().parseFromString(xhr.responseText || "", "text/html").querySelector(".error-box p");
      return didnt + ": " + (said ? said.textContent.trim() : "the server turned it down (error " + status + ").");
    }
    var why = !navigator.onLine ? "you're offline" : timedOut ? "the server took too long to answer"
      : status === 503 ? part.unavailable
      : status >= 500 && status !== 502 && status !== 504 ? "something went wrong on the server"
      : "the server couldn't be reached";  // no answer, or a proxy's (502, 504)
    return didnt + ": " + why + ". " + (typeof part.next === "function" ? part.next() : part.next);
  }
  // (htmx fires beforeSwap on the target: what asked is the request's element.)
  function askedBy(event) { return event.detail.requestConfig ? event.detail.requestConfig.elt : event.detail.elt; }
  // An answer to what is no longer on the page is not drawn: what it brings out of band, found by id,
  // is now another conversation's. A late send's message came into the conversation opened since,
  // and its poller followed the old one (a re-check tester). Requests from a thread that goes are
  // not drawn once it has gone (ignoreAnswersIn: their events no longer reach the document, so
  // each element hears it itself); one whose target stays is refused here. A send's text waits as its own conversation's draft
  // (keepDraftAsBoxGoes), which tells once opened again whether it arrived (sentAfterAll).
  document.addEventListener("htmx:beforeSwap", function (event) {
    var asker = askedBy(event);
    if (asker && asker.isConnected === false) event.detail.shouldSwap = false;
  });
  function ignoreAnswersIn(root) {
    if (!root) return;
    root.querySelectorAll("[hx-get], [hx-post]").forEach(function (elt) {
      elt.addEventListener("htmx:beforeSwap", function (event) { event.detail.shouldSwap = false; });
    });
  }
  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr, asker = askedBy(event), part = unansweredPart(asker, event.detail.target);
    if (!part || xhr.status < 400 || part.draws(xhr)) return;
    event.detail.shouldSwap = false;
    part.say(asker, whatWentWrong(part, asker, xhr, false), xhr.status >= 500);
  });
  function unanswered(timedOut) {
    return function (event) {
      var asker = askedBy(event), part = unansweredPart(asker, event.detail.target);
      if (part) part.say(asker, whatWentWrong(part, asker, event.detail.xhr, timedOut), true);
    };
  }
  document.addEventListener("htmx:sendError", unanswered(false));
  document.addEventListener("htmx:timeout", unanswered(true));
  // What the last try said goes as the next one leaves (a send's alert stays until its answer comes).
  // A thread the live channel draws again is no pick of the member's: what a pick said stays.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var part = unansweredPart(event.detail.elt, event.detail.target);
    if (!part || (part.name === "thread-pane" && isLiveRedraw(event))) return;
    if (part.name === "thread-pane") pickOwed = null;  // picked again, or something else
    document.querySelectorAll('[data-unanswered="' + part.name + '"]').forEach(function (note) { note.remove(); });
  });
  // Back online, the conversation last picked offline is picked again (its address follows), unless
  // the member has gone elsewhere since. A send going again by itself (sendAgainOnline) is answered
  // first, so it isn't an answer to a thread that has gone.
  var pickOwed = null;
  function pickAgainOnline() {
    var link = pickOwed, row = link && link.closest("li.conversation");
    if (!link || !navigator.onLine || sendingForm !== null) return;
    pickOwed = null;
    // (The list may have drawn its row again since: the same conversation's row is picked.)
    if (!link.isConnected && row) {
      link = document.querySelector('#conversation-list li.conversation[data-conversation-id="' + row.getAttribute("data-conversation-id") + '"] a');
    }
    if (link && link.isConnected) htmx.trigger(link, "click");
  }
  window.addEventListener("online", function () { window.setTimeout(pickAgainOnline, 0); });
  // (A send's answer replaces its form: htmx says so on what is left of the page, not the form. A
  // failed one is said, and its form let go, just after.)
  document.addEventListener("htmx:afterRequest", function () { window.setTimeout(pickAgainOnline, 0); });
  document.addEventListener("htmx:historyRestore", function () { pickOwed = null; });
  // Back online, a search that couldn't be made is made.
  window.addEventListener("online", function () {
    var field = document.getElementById("new-message-q");
    if (field && document.querySelector('#new-message-results [data-unanswered="search"]')) htmx.trigger(field, "search");
  });

  // The box empties as soon as a send leaves (htmx has read the form by then), so the member
  // can write the next message at once; the send answers with a fresh compose form, and
  // what was typed meanwhile is carried into it. An Enter pressed meanwhile sends it next.
  // A refused send comes back with its text and the error; anything typed since follows it.
  // Until the server has it, the text on its way is the box's draft (leaving the page keeps it), and
  // a send that takes a while says "Sending…" (the box had emptied and nothing said so: an outside tester).
  var sendingText = null, sendingForm = null, keptText = null, keptFor = null, sendWhenSwapped = false, lastSendOk = false;
  var SENDING_SAID_AFTER_MS = 500;  // a quick send would only flash it
  var SEND_GIVEN_UP_AFTER_MS = 20000;
  var sentAt = 0, resending = false, resendingForm = null;  // when a send was last stored; the page's own send again
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (event.detail.elt.id !== "compose") return;
    var form = event.detail.elt, box = form.querySelector("textarea"), ready = form.querySelector(".compose-ready");
    sendingText = box.value;
    sendingForm = form;
    resendingForm = resending ? form : null;
    if (ready) ready.remove();  // "You can send again now", "Back online": said, and done
    box.value = "";
    keepDraft();
    saySending(form, sendingText);
  });
  function saySending(form, text) {
    var note = document.createElement("p"), words = Array.from(text.trim().replace(/\s+/g, " "));
    note.className = "compose-sending";
    note.id = "compose-sending";
    note.setAttribute("role", "status");  // there before its words, so that they are read out
    form.insertBefore(note, form.querySelector("label") || form.firstChild);
    var excerpt = words.length > 40 ? words.slice(0, 40).join("").trim() + "…" : words.join("");
    window.setTimeout(function () { note.textContent = "Sending “" + excerpt + "”…"; }, SENDING_SAID_AFTER_MS);
  }
  document.addEventListener("htmx:beforeSwap", function (event) {
    var form = event.detail.elt;
    if (form.id !== "compose" || sendingText === null || !event.detail.shouldSwap) return;
    var typed = form.querySelector("textarea").value, status = event.detail.xhr.status;
    lastSendOk = status < 400;
    if (lastSendOk) sentAt = Date.now();
    keptText = lastSendOk || typed === "" ? typed : sendingText + "\n" + typed;
    keptFor = event.detail.xhr;
    // The server answered: stored, or refused (nothing stored). Only "still being sent" (409) keeps the key.
    if (status !== 409) keepSendKey(form, null);
    if (lastSendOk) forgetDraft(form);  // what was typed since comes back with keptText
    sendingText = null;
    sendingForm = null;
  });
  // After settling: only then has htmx wired up the new form (a submit before that would
  // be a full-page post).
  document.addEventListener("htmx:afterSettle", function (event) {
    if (keptText === null || event.detail.xhr !== keptFor) return;
    var box = document.querySelector("#compose textarea");
    var text = keptText, send = sendWhenSwapped && lastSendOk;
    keptText = null;
    keptFor = null;
    sendWhenSwapped = false;
    if (!box) return;
    if (text !== "") box.value = text;
    // What comes back (a refused send's text, and anything typed since) is written on from its end:
    // the caret was at its start, and the next words went in front (a re-check tester).
    if (text !== "" || !lastSendOk) box.setSelectionRange(box.value.length, box.value.length);
    if (text === "") return;
    box.focus();
    if (send && text.trim() !== "") box.form.requestSubmit();
  });
  // A second press of Send while its message is on its way, or just after it was stored (a double tap
  // on a phone), sends nothing and says nothing: "Write something before sending." came under the box
  // the stored message had just left (an outside tester). An empty send at any other time still says so.
  var PRESSED_AGAIN_WITHIN_MS = 1000;
  function pressedAgain(form) {
    return sendingForm === form || form.classList.contains("htmx-request") || Date.now() - sentAt < PRESSED_AGAIN_WITHIN_MS;
  }
  document.addEventListener("htmx:confirm", function (event) {
    var form = event.detail.elt, box = form && form.id === "compose" && form.querySelector("#compose-body");
    if (box && box.value.trim() === "" && pressedAgain(form)) event.preventDefault();
  });

  // A send with no answer (network down, the server restarting, a timeout) or the server's error
  // (UNANSWERED): the text goes back in the box, and the alert says why (nothing did: Enter looked as
  // if it did nothing, an operator tester). unsure: it may have been stored all the same (its answer
  // lost): the thread asks what is new, and the key stays with the text for a send again.
  function sendFailed(form, words, unsure) {
    var box = form.querySelector("textarea"), note = form.querySelector("#compose-sending");
    if (sendingForm === form && sendingText !== null) box.value = box.value === "" ? sendingText : sendingText + "\n" + box.value;
    sendingText = null;
    sendingForm = null;
    sendWhenSwapped = false;
    if (note) note.remove();
    var error = showComposeError(box, words, false);
    if (unsure) error.setAttribute("data-unsure", "");
    // Offline: back online, it goes again by itself, once (not a send that was that again).
    if (!navigator.onLine) error.setAttribute("data-offline", resendingForm === form ? "said" : "send-again");
    resendingForm = null;
    box.setSelectionRange(box.value.length, box.value.length);
    if (!document.activeElement || document.activeElement === document.body) box.focus();
    showLength(box);
    fitToText(box);
    keepDraft();
    if (!unsure) keepSendKey(form, null);  // answered and refused: nothing was stored
    else if (document.getElementById("poller")) document.body.dispatchEvent(new CustomEvent("wb:poll-now"));
  }

  // Back online (the browser says so, or the server answers the page again: the thread's poll, owed
  // since the dropout, live.js), a send that failed only for being offline goes again, once, with
  // its key, if the box still holds its words: "Not sent: you're offline" stayed after the phone
  // was back, and nothing was sent (an outside tester). Words changed since are the member's to send:
  // the note says they can.
  function sendAgainOnline() {
    var form = document.querySelector("form#compose"), error = form && form.querySelector(".compose-error[data-offline]");
    if (!error || sendingForm === form || !navigator.onLine) return;
    var box = form.querySelector("textarea"), key = sendKey(form), again = error.getAttribute("data-offline") === "send-again";
    error.removeAttribute("data-offline");
    if (again && key && box.value === key.text) {
      resending = true;
      try { form.requestSubmit(); } finally { resending = false; }
      return;
    }
    var note = document.createElement("p");
    note.className = "compose-ready";
    note.id = "compose-error";  // what describes the box still
    note.setAttribute("role", "status");
    note.textContent = "You're back online. Press Send to send your message.";
    error.replaceWith(note);
    box.removeAttribute("aria-invalid");
  }
  window.addEventListener("online", sendAgainOnline);
  document.addEventListener("htmx:afterRequest", function (event) {
    var xhr = event.detail.xhr;
    if (xhr && xhr.status > 0 && event.detail.elt.id !== "compose") sendAgainOnline();
  });

  // Each message goes with a key of its own (Idempotency-Key, as the API takes it): sent again with the
  // same words after a failure, it goes with the same key, and the server stores it once however many
  // answers were lost (a send again after a lost answer stored it twice: an outside tester). Other words
  // are another message, with a new key. The key waits in this tab with the draft, {text, key, after:
  // the member's newest message in the thread when it was first sent}.
  var SEND_KEY = "wb-draft:key:", sendKeysHere = {};
  function sendKey(form) {
    var id = form.getAttribute("data-draft");
    try {
      var kept = window.sessionStorage.getItem(SEND_KEY + id);
      if (kept !== null) return JSON.parse(kept);
    } catch (error) { /* storage off, or not ours */ }
    return sendKeysHere[id] || null;
  }
  function keepSendKey(form, key) {
    var id = form.getAttribute("data-draft");
    sendKeysHere[id] = key;
    try {
      if (key) window.sessionStorage.setItem(SEND_KEY + id, JSON.stringify(key));
      else window.sessionStorage.removeItem(SEND_KEY + id);
    } catch (error) { /* storage off: kept in this page only */ }
  }
  function newSendKey() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);  // randomUUID is only for https pages
    return Array.prototype.map.call(bytes, function (b) { return (b < 16 ? "0" : "") + b.toString(16); }).join("");
  }
  document.addEventListener("htmx:configRequest", function (event) {
    var form = event.detail.elt;
    if (form.id !== "compose" || !form.hasAttribute("data-draft")) return;
    var text = form.querySelector("textarea").value, key = sendKey(form);
    if (!key || key.text !== text) key = { text: text, key: newSendKey(), after: newestOwnId() };
    keepSendKey(form, key);
    event.detail.headers["Idempotency-Key"] = key.key;
    // A send stalled on a weak signal is given up after a while, and said so (it waited with no end).
    if (!event.detail.timeout) event.detail.timeout = SEND_GIVEN_UP_AFTER_MS;
  });
  // A send whose answer never came may have been stored: once the thread shows a message of the
  // member's with its words, sent since, "Not sent" goes, and so does the copy in the box (it said "Not
  // sent" beside the message the thread then showed: an outside tester). Links are drawn with their
  // host in lower case: such a message may stay unrecognised, and sending it again stores nothing new.
  function sentAfterAll() {
    var form = document.querySelector("form#compose"), list = threadList(), key = form && sendKey(form);
    if (!key || !list || sendingForm === form) return;
    var mine = list.querySelectorAll("li.message.mine:not(.deleted)"), arrived = false;
    for (var i = mine.length - 1; i >= 0 && !arrived; i--) {
      var body = mine[i].querySelector(".body");
      arrived = parseInt(mine[i].getAttribute("data-id"), 10) > key.after && !!body && sameWords(body.textContent, key.text);
    }
    if (!arrived) return;
    keepSendKey(form, null);
    var box = form.querySelector("textarea");
    if (form.querySelector(".compose-error[data-unsure]")) clearComposeError(box);
    if (!sameWords(box.value, key.text)) return;
    box.value = "";
    keepDraft();
    showLength(box);
    fitToText(box);
  }
  function sameWords(shown, sent) { return shown.replace(/\s+/g, " ").trim() === sent.replace(/\s+/g, " ").trim(); }

  // What is typed and not yet sent is never lost by leaving it: picking another conversation
  // (the thread pane is swapped), leaving the page (a link, "All conversations" on a phone, a
  // reload) or the session ending under the page (signed out elsewhere, a new password: live.js
  // or an htmx answer's HX-Redirect takes the page to sign in, which brings the member back).
  // The text waits in this tab's sessionStorage under the member and the conversation
  // (data-draft) and goes back into the box when that conversation's box is drawn again.
  // Signing out here forgets every draft (a shared computer).
  var DRAFT = "wb-draft:", signingOut = false, sessionEnded = false;
  // The box's own form says whose draft it is, or (a send refused because messaging was switched
  // off, its text kept in a box of its own) the element around it.
  function draftKey(box) {
    var holder = box && (box.form || box.closest("[data-draft]"));
    return holder && holder.getAttribute("data-draft") ? DRAFT + holder.getAttribute("data-draft") : null;
  }
  // A send still on its way is kept too, until the server has it: it may never arrive (its key makes
  // sending it again harmless if it did).
  function keepDraft() {
    var box = document.querySelector("#compose textarea"), key = draftKey(box);
    if (!key || signingOut) return;
    var text = sendingText !== null && sendingForm === box.form ? sendingText + (box.value ? "\n" + box.value : "") : box.value;
    try {
      if (text.trim() === "") window.sessionStorage.removeItem(key);
      else window.sessionStorage.setItem(key, text);
    } catch (error) { /* storage off */ }
  }
  function forgetDraft(form) {
    try { window.sessionStorage.removeItem(DRAFT + form.getAttribute("data-draft")); } catch (error) { /* storage off */ }
  }
  function restoreDraft() {
    var box = document.querySelector("#compose textarea"), key = draftKey(box);
    if (!box) return showUnsent();
    if (!key || box.value !== "") return fitToText(box);  // a refused send's text came back in it
    if (sendingForm === box.form) return;  // the draft is the text on its way (a send just made from this box)
    try {
      var text = window.sessionStorage.getItem(key);
      if (text === null) return;
      window.sessionStorage.removeItem(key);
      box.value = text;
    } catch (error) { /* storage off */ }
    showLength(box);  // a long draft brings its count back (it waited for a key: an outside tester)
    fitToText(box);  // and its height (where CSS doesn't size it: a re-check tester)
  }
  // A box that closed (a pause, a block) while something was typed in it: the text is shown to copy
  // (_compose.html's template), and stays kept for when the box opens again.
  function showUnsent() {
    var closed = document.querySelector("#compose[data-draft]"), unsent = closed && closed.querySelector("template[data-unsent]");
    if (!unsent) return;
    try {
      var text = window.sessionStorage.getItem(DRAFT + closed.getAttribute("data-draft"));
      if (text === null || text.trim() === "") return;
      closed.appendChild(unsent.content.cloneNode(true));
      closed.querySelector("#compose-unsent").value = text;
    } catch (error) { /* storage off */ }
  }
  function keepDraftAsSessionEnds() {
    keepDraft();
    keepForms();
    sessionEnded = true;  // what was kept with the send on its way stands as the page leaves
  }
  // A comment or a help request being written when the session ended under it went with the page,
  // though the sign-in page said it was kept (a street's tester): a form marked data-keep-form (with
  // the member's id) keeps its text fields in this tab too, and has them back when its page is drawn
  // again for that member. Only as the session ends: leaving a form on purpose leaves it.
  function formKey(form, field) {
    return DRAFT + "form:" + form.getAttribute("data-keep-form") + ":" + window.location.pathname + ":" + field.name;
  }
  function keptFields(form) {
    return Array.prototype.filter.call(form.querySelectorAll("textarea[name], input[name]:not([type]), input[type=text][name]"),
                                       function (field) { return !field.readOnly; });
  }
  // What the member changed, not what the page was drawn with: an old bio came back over a newer one
  // saved elsewhere meanwhile (a re-check tester).
  function changedFields(form) {
    var kept = {};
    keptFields(form).forEach(function (field) {
      if (field.value.trim() !== "" && field.value !== field.defaultValue) kept[formKey(form, field)] = field.value;
    });
    return kept;
  }
  function keepForms() {
    document.querySelectorAll("form[data-keep-form]").forEach(function (form) {
      var kept = changedFields(form);
      try {
        Object.keys(kept).forEach(function (key) { window.sessionStorage.setItem(key, kept[key]); });
      } catch (error) { /* storage off */ }
    });
  }
  // A form posted as the session ended elsewhere, before this page heard of it: the post goes to the
  // sign-in page (and comes back to the form's page after), its words with it only in this tab. They
  // are kept as the form is sent, and wait for its page if the next page is the sign-in; anywhere
  // else the post arrived, and its answer shows what it must.
  var SUBMITTING = DRAFT + "submitting";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form[data-keep-form]")) return;
    try { window.sessionStorage.setItem(SUBMITTING, JSON.stringify(changedFields(form))); } catch (error) { /* storage off */ }
  });
  document.addEventListener("DOMContentLoaded", function () {
    try {
      var kept = window.sessionStorage.getItem(SUBMITTING);
      if (kept === null) return;
      window.sessionStorage.removeItem(SUBMITTING);
      if (window.location.pathname !== "/login" || document.querySelector("[data-forget-drafts]")) return;
      kept = JSON.parse(kept);
      Object.keys(kept).forEach(function (key) { window.sessionStorage.setItem(key, kept[key]); });
    } catch (error) { /* storage off */ }
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-keep-form]").forEach(function (form) {
      keptFields(form).forEach(function (field) {
        try {
          var key = formKey(form, field), text = window.sessionStorage.getItem(key);
          if (text === null) return;
          window.sessionStorage.removeItem(key);
          if (field.value === field.defaultValue) field.value = text;  // untouched since drawn
        } catch (error) { /* storage off */ }
      });
    });
  });
  document.addEventListener("wb:signed-out", keepDraftAsSessionEnds, true);  // live.js fires it on the body
  // live.js draws the page again (messaging back on, a restore, an approval): what was typed comes back.
  document.addEventListener("wb:redrawing", function () { keepDraft(); keepForms(); }, true);
  document.addEventListener("htmx:beforeOnLoad", function (event) {
    if (event.detail.xhr.getResponseHeader("HX-Redirect")) keepDraftAsSessionEnds();
  });
  // A send on its way from the box that goes is heard of no more (its answer goes to the form gone):
  // its text waits as the draft, and the thread drawn again tells whether it arrived (sentAfterAll).
  function keepDraftAsBoxGoes() {
    keepDraft();
    sendingText = null;
    sendingForm = null;
  }
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "thread-pane" && event.detail.shouldSwap) {
      keepDraftAsBoxGoes();
      ignoreAnswersIn(event.detail.target);
    }
  });
  // Back and Forward swap in another page of the history (the thread's ← goes Back): the box's
  // text is kept before it goes (it was lost on the way back to the list).
  function historyGoes() {
    keepDraftAsBoxGoes();
    ignoreAnswersIn(document.getElementById("thread-pane"));
  }
  document.addEventListener("htmx:historyCacheHit", historyGoes);
  document.addEventListener("htmx:historyCacheMissLoad", historyGoes);
  window.addEventListener("pagehide", function () { if (!sessionEnded) keepDraft(); });
  window.addEventListener("pageshow", function (event) {
    // Back to a page the browser kept whole: its box holds the text itself, so the kept copy goes
    // (else it would come back into this box again after being sent).
    if (event.persisted) { var box = document.querySelector("#compose textarea"), key = draftKey(box); if (key) try { window.sessionStorage.removeItem(key); } catch (error) { /* storage off */ } }
  });
  document.addEventListener("DOMContentLoaded", restoreDraft);
  document.addEventListener("htmx:afterSettle", restoreDraft);
  document.addEventListener("DOMContentLoaded", sentAfterAll);
  document.addEventListener("submit", function (event) {
    if (!event.target.matches || !event.target.matches("form.sign-out")) return;
    signingOut = true;
    forgetDrafts();
  }, true);
  function forgetDrafts() {
    try {
      Object.keys(window.sessionStorage).forEach(function (key) {
        if (key.indexOf(DRAFT) === 0) window.sessionStorage.removeItem(key);
      });
    } catch (error) { /* storage off */ }
  }
  // The sign-in page after the account was closed: what was being typed can never be sent (it
  // stayed in the tab: a re-check tester).
  document.addEventListener("DOMContentLoaded", function () {
    if (document.querySelector("[data-forget-drafts]")) forgetDrafts();
  });

  // A form on a long page (Settings) comes back at its own section (#anchor): the note saying what
  // was saved goes there too, under the section's heading (under its header, where it has one: a
  // thread's, with Mute in it), where the member is looking (without JavaScript it stays at the top
  // of the page).
  document.addEventListener("DOMContentLoaded", function () {
    var flashes = document.querySelector("main > .flashes");
    var id = window.location.hash.slice(1);
    var section = flashes && id ? document.getElementById(decodeURIComponent(id)) : null;
    if (!section || section.tagName !== "SECTION") return;
    var heading = section.querySelector("h2"), header = heading && heading.closest("header");
    var after = header && section.contains(header) ? header : heading;
    if (after) after.insertAdjacentElement("afterend", flashes); else section.insertBefore(flashes, section.firstChild);
    section.scrollIntoView();
  });

  // Menu (base.html): with large text on a phone the member's own links fold under it (CSS
  // decides when: the button shows only then). Escape closes it, back to the button.
  document.addEventListener("DOMContentLoaded", function () {
    var toggle = document.querySelector(".nav-menu-toggle");
    if (!toggle) return;
    var nav = toggle.closest(".nav");
    function setOpen(open) {
      nav.classList.toggle("nav-open", open);
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    }
    nav.classList.add("nav-folding");
    toggle.hidden = false;
    toggle.addEventListener("click", function () { setOpen(!nav.classList.contains("nav-open")); });
    nav.addEventListener("keydown", function (event) {
      if (event.key !== "Escape" || !nav.classList.contains("nav-open")) return;
      setOpen(false);
      toggle.focus();
    });
    document.addEventListener("click", function (event) {  // a tap elsewhere closes it, as other menus
      if (nav.classList.contains("nav-open") && !nav.contains(event.target)) setOpen(false);
    });
  });

  // A page a POST drew once (a password reset link): its history entry becomes a plain visit, so a
  // reload asks with GET and doesn't post again (that made a new link: a re-check tester).
  document.addEventListener("DOMContentLoaded", function () {
    if (document.querySelector("[data-posted-once]") && window.history.replaceState) {
      history.replaceState(history.state, "", location.href);
    }
  });

  // "Copy link" beside an invite (and "Copy token" by a new token): copies it (on a phone too, where selecting a long link is
  // fiddly), says so in the button's own words, and selects the link where the browser won't copy.
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("button[data-copy]").forEach(function (button) { button.hidden = false; });
  });
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-copy]");
    var field = button && document.getElementById(button.getAttribute("data-copy"));
    if (!field) return;
    var label = button.getAttribute("data-label") || button.textContent;  // "Copy link", "Copy token"
    button.setAttribute("data-label", label);
    function said(words) {
      button.textContent = words;
      setTimeout(function () { button.textContent = label; }, 4000);
    }
    function selectIt() { field.focus(); field.select(); said("Selected: copy it"); }
    if (!navigator.clipboard) { selectIt(); return; }
    navigator.clipboard.writeText(field.value).then(function () { said("Copied"); }, selectIt);
  });

  // Plain (non-htmx) forms that destroy something ask first. A form with a `confirmed` field
  // tells the server the question was answered (without JavaScript, the server asks).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (!question) return;
    // A rule saved as it stands changes nothing (the server says so): no question first (an admin
    // tester was asked "Change who may start conversations?" with nothing changed).
    if (form.hasAttribute("data-confirm-changes") && !changedSinceDrawn(form)) return;
    // A choice without the tick it needs is refused by the server, beside the form: no question first
    // (a tester confirmed "Change who may start conversations?" only to be told to tick a circle).
    if (lacksItsTick(form)) return;
    if (!window.confirm(question)) { event.preventDefault(); return; }
    if (form.elements.confirmed) form.elements.confirmed.value = "1";
  }, true);

  // A chosen option marked data-needs-one="name" needs at least one ticked box of that name.
  function lacksItsTick(form) {
    return Array.prototype.some.call(form.querySelectorAll("[data-needs-one]:checked"), function (choice) {
      var name = choice.getAttribute("data-needs-one");
      return !Array.prototype.some.call(form.elements, function (field) { return field.name === name && field.checked; });
    });
  }

  function changedSinceDrawn(form) {
    return Array.prototype.some.call(form.elements, function (field) {
      if (field.type === "checkbox" || field.type === "radio") return field.checked !== field.defaultChecked;
      if (field.type === "hidden" || field.type === "submit" || field.tagName === "BUTTON") return false;
      if (field.tagName === "SELECT") return Array.prototype.some.call(field.options, function (o) { return o.selected !== o.defaultSelected; });
      return field.value !== field.defaultValue;
    });
  }

  // Polling components (nav badge, dashboard count, thread poller) never swap an error page
  // into their place. 403/404 mean messaging is no longer there for this member (switched
  // off, account suspended): they stop polling and leave. Other errors: try at the next tick.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var component = event.detail.elt;
    if (event.detail.xhr.status < 400 || !component.matches("#inbox-badge, #dashboard-unread, #dashboard-conversations, #poller")) return;
    event.detail.shouldSwap = false;
    if (event.detail.xhr.status !== 403 && event.detail.xhr.status !== 404) return;
    var item = component.parentElement;
    component.remove();
    if (item && item.matches(".nav-links > li") && !item.children.length) item.remove();
  });

  function threadList() { return document.getElementById("thread-messages"); }

  // Messages arrive through the poller and with a send's answer, and a poll on its way while
  // a send is answered may bring some of the same: keep the first of each id, in id order.
  function tidyThread() {
    var list = threadList();
    if (!list) return;
    var seen = {};
    var items = list.querySelectorAll("li.message");
    items.forEach(function (item) {
      if (seen[item.id]) item.remove(); else seen[item.id] = true;
    });
    if (list.querySelector("li.message")) {
      var empty = list.querySelector(".thread-empty");
      if (empty) empty.remove();
    }
    tidyDaysAndGroups(list);
  }

  // Every run the server draws (a page, an older page, a poll) starts with its day's
  // separator and its own time groups: where two runs meet, drop the separator that repeats
  // a day and group a member's messages within 5 minutes across the seam, as the server does.
  function tidyDaysAndGroups(list) {
    var day = null, side = null, start = 0;
    Array.prototype.slice.call(list.children).forEach(function (item) {
      if (item.matches("li.day-separator")) {
        var next = item.nextElementSibling;
        while (next && !next.matches("li.message, li.day-separator")) next = next.nextElementSibling;
        if (!next || next.matches("li.day-separator") || next.getAttribute("data-day") === day) item.remove();
        return;
      }
      if (!item.matches("li.message")) return;
      var at = parseInt(item.getAttribute("data-at"), 10);
      var itemSide = item.classList.contains("mine") ? "mine" : "theirs";
      var sameDay = item.getAttribute("data-day") === day;
      var grouped = sameDay && itemSide === side && at - start <= 300;
      item.classList.toggle("grouped", grouped);
      if (!grouped) { side = itemSide; start = at; }
      day = item.getAttribute("data-day");
    });
  }

  // "Seen" under the newest of my messages that the other member has read.
  function placeSeen() {
    var list = threadList();
    var poller = document.getElementById("poller");
    if (!list || !poller) return;
    var seenId = parseInt(poller.getAttribute("data-seen-id") || "0", 10);
    var mine = list.querySelectorAll("li.message.mine:not(.deleted)"), target = null;
    for (var i = mine.length - 1; i >= 0; i--) {
      if (parseInt(mine[i].getAttribute("data-id"), 10) <= seenId) { target = mine[i]; break; }
    }
    // Moved only when it belongs to another message: the thread is a live region, and "Seen" taken
    // away and put back after every change was read out each time (a building's tester heard six).
    list.querySelectorAll(".seen-label").forEach(function (label) {
      if (label.parentNode !== target) label.remove();
    });
    if (target && !target.querySelector(":scope > .seen-label")) {
      var label = document.createElement("p");
      label.className = "seen-label";
      label.textContent = "Seen";
      target.appendChild(label);
    }
  }

  function nearBottom(list) { return list.scrollHeight - list.scrollTop - list.clientHeight < 120; }
  function newestMessage(list) { var items = list.querySelectorAll("li.message"); return items[items.length - 1] || null; }
  // The thread's end; but the other member's message taller than the thread is shown from its start,
  // not its last lines (a long notice that came opened at "…here is the long notice abo": an
  // outside tester). Its start on screen counts as seeing it (readerSeesEnd).
  function scrollToEnd() {
    var list = threadList();
    if (!list) return;
    list.scrollTop = list.scrollHeight;
    var newest = newestMessage(list);
    if (newest && newest.classList.contains("theirs") && newest.offsetHeight > list.clientHeight - 48) {
      list.scrollTop += topInList(newest, list) - 8;
    }
  }
  function newestStartInView(list) {
    var newest = newestMessage(list);
    if (!newest) return true;
    var top = topInList(newest, list);
    return top >= 0 && top < list.clientHeight - 24;
  }

  // A read waits until the member can see the newest messages: their tab in front and the thread
  // scrolled to its end. Until then the other member sees no "Seen", and the message stays unread
  // (badge, tab title, a desktop notice); a reader scrolled up is shown "New messages below".
  // The poller's read ([data-read]) is held back and asked again once they can see it.
  var waitingRead = null;  // { thread: id, url: the read's address }
  function readerSeesEnd() { var list = threadList(); return !document.hidden && (!list || nearBottom(list) || newestStartInView(list)); }
  function drawNewBelow() {
    var thread = document.getElementById("thread"), cue = thread && thread.querySelector("[data-new-below]");
    var show = !!waitingRead && !document.hidden && waitingRead.thread === openConversationId();
    if (!thread || !!cue === show) return;
    if (!show) { cue.remove(); return; }
    cue = document.createElement("button");
    cue.type = "button";
    cue.className = "new-below";
    cue.setAttribute("data-new-below", "");
    cue.textContent = "New messages below ↓";
    var scroller = thread.querySelector(".thread-scroll");
    scroller.parentNode.insertBefore(cue, scroller.nextSibling);
  }
  function readIfSeen() {
    if (!waitingRead) return;
    if (waitingRead.thread !== openConversationId()) waitingRead = null;  // another conversation is open now
    else if (readerSeesEnd()) {
      var url = waitingRead.url;
      waitingRead = null;
      htmx.ajax("POST", url, { source: document.getElementById("thread"), swap: "none" });
    }
    drawNewBelow();
  }
  document.addEventListener("htmx:confirm", function (event) {
    var elt = event.detail.elt;
    if (!elt.matches || !elt.matches("[data-read]") || readerSeesEnd()) return;
    event.preventDefault();
    waitingRead = { thread: openConversationId(), url: elt.getAttribute("hx-post") };
    drawNewBelow();
  });
  document.addEventListener("scroll", function (event) {
    if (waitingRead && event.target && event.target.id === "thread-messages") readIfSeen();
  }, true);
  document.addEventListener("visibilitychange", readIfSeen);
  // A read that failed (a dropout, the server's error) is owed, as live.js owes every part whose
  // fetch failed, and asked again when it says (wb:read-again), while its conversation is open: it was
  // asked once, and the title and badge counted a message on the screen unread for good, with no
  // "Seen" (a re-check tester).
  document.addEventListener("wb:read-again", function () {
    var open = openConversationId();
    if (!waitingRead && open !== "0") waitingRead = { thread: open, url: "/messages/" + open + "/read" };
    readIfSeen();
  }, true);  // live.js fires it on <body>, not bubbling: heard on its way down
  document.addEventListener("click", function (event) {
    if (!event.target.closest || !event.target.closest("[data-new-below]")) return;
    scrollToEnd();
    // The cue goes once the end is in view: the focus moves to the newest message (read out; Tab
    // goes on to its actions and the box), not to the page's start with the button (a keyboard tester).
    var list = threadList(), newest = list && newestMessage(list);
    if (newest) {
      newest.setAttribute("tabindex", "-1");
      newest.focus({ preventScroll: true });
    }
    readIfSeen();
  });

  // "Skip to writing a message": focus the box itself (a link to it only scrolls in some browsers),
  // and leave the address as it is.
  document.addEventListener("click", function (event) {
    var skip = event.target.closest && event.target.closest("[data-skip-to-compose]");
    if (!skip) return;
    var box = document.getElementById("compose-body") || document.getElementById("compose");
    if (!box) return;
    event.preventDefault();
    if (!box.matches("textarea")) box.setAttribute("tabindex", "-1");
    box.focus();
  });

  // "Show older messages" puts a page above what the reader sees: the message that was at the
  // top stays where it was on screen (after the seam's repeated separator is gone). The thread
  // is a live region for new messages only: it is silent while an older page lands.
  var olderAnchor = null, olderAnchorTop = 0;
  function topInList(item, list) { return item.getBoundingClientRect().top - list.getBoundingClientRect().top; }

  function speakAgainAfterNextFrame(list) {
    // Two frames: the browser has taken in the older page while the region was silent.
    requestAnimationFrame(function () {
      requestAnimationFrame(function () { list.setAttribute("aria-live", "polite"); });
    });
  }

  // A member's own message, once it lands, is scrolled into view wherever they had scrolled
  // (ownSentAfter: the newest of their messages the thread showed when the send went out).
  var ownSentAfter = null;
  function newestOwnId() {
    var list = threadList(), mine = list ? list.querySelectorAll("li.message.mine") : [];
    return mine.length ? parseInt(mine[mine.length - 1].getAttribute("data-id"), 10) : 0;
  }
  function scrollToOwnMessage() {
    if (ownSentAfter === null || newestOwnId() <= ownSentAfter) return;
    ownSentAfter = null;
    scrollToEnd();
  }
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.elt.id === "compose" && event.detail.xhr.status < 400) ownSentAfter = newestOwnId();
  });

  // Whether the reader was at the bottom is asked only by swaps in the thread: a list or
  // badge answer landing between a poll's swap and its settle would otherwise find a tall
  // new message and decide the reader had scrolled away.
  // And only a swap in the thread scrolls it: a list or badge landing later must not pull a
  // reader who has scrolled up since the thread's last swap back down to its end.
  // A reader who scrolls up between a swap and its settle (htmx waits a moment) stays there too:
  // where the thread was scrolled when the swap began is kept, and a settle after they scrolled
  // up from it leaves them be.
  var stickToBottom = true, scrolledAtSwap = null;
  function inThread(node) { return !!node && (isThreadPane(node) || !!(node.closest && node.closest("#thread"))); }
  function scrolledUpSinceSwap() {
    var list = threadList();
    return !!scrolledAtSwap && scrolledAtSwap.list === list && list.scrollTop < scrolledAtSwap.top;
  }
  document.addEventListener("htmx:beforeSwap", function (event) {
    var list = threadList();
    var target = event.detail.target;
    if (list && target && !inThread(target)) return;
    stickToBottom = !list || nearBottom(list) || isThreadPane(target);
    scrolledAtSwap = list && !isThreadPane(target) ? { list: list, top: list.scrollTop } : null;
    if (list && target && target.matches && target.matches("#thread-messages > li.older")) {
      olderAnchor = list.querySelector("li.message");
      if (olderAnchor) olderAnchorTop = topInList(olderAnchor, list);
      list.setAttribute("aria-live", "off");
      stickToBottom = false;
    }
  });
  // As soon as the older page is in (not a settle later): the seam shows no repeated
  // separator and the reader's message doesn't move, not even for a frame.
  document.addEventListener("htmx:afterSwap", function () {
    var list = threadList();
    if (!olderAnchor || !list) return;
    tidyThread();
    if (olderAnchor.isConnected) list.scrollTop += topInList(olderAnchor, list) - olderAnchorTop;
    olderAnchor = null;
    speakAgainAfterNextFrame(list);
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    tidyThread();
    placeSeen();
    if (stickToBottom && !olderAnchor && inThread(event.target) && !scrolledUpSinceSwap()) scrollToEnd();
    scrollToOwnMessage();
    sentAfterAll();
  });
  // An answer's out-of-band parts are swapped in even when the element that asked is gone (a poll
  // answered after a send's answer replaced its poller), and htmx then fires the after-swap events
  // on that detached element, where no listener hears them. htmx:oobBeforeSwap fires on the part
  // itself: what must follow the swap is queued from there, to run as soon as the answer is in
  // (before the page is drawn again).
  // Such an answer may come once another conversation is open (a send answered, then another picked):
  // what it brings for its own thread (data-thread) is not drawn into this one (Dave's messages came into
  // Carol's thread: CI).
  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    var fragment = event.detail.fragment;
    var part = fragment && fragment.nodeType === Node.DOCUMENT_FRAGMENT_NODE ? fragment.firstElementChild : fragment;
    var thread = part && part.getAttribute && part.getAttribute("data-thread");
    if (thread && thread !== openConversationId()) { event.detail.shouldSwap = false; return; }
    if (inThread(event.detail.target)) queueMicrotask(function () { tidyThread(); scrollToOwnMessage(); sentAfterAll(); });
    dropRepeatedDay(event.detail.target, event.detail.fragment);
  });
  // New messages come with their day's separator, which the thread already shows when they are of
  // its last day: dropped before they go in, so the live region never adds it ("Today" was added
  // before every message that came: a residents' building's tester).
  function dropRepeatedDay(target, fragment) {
    if (!target || target.id !== "thread-messages" || !fragment || !fragment.querySelector) return;
    var shown = target.querySelectorAll("li.message"), separator = fragment.querySelector("li.day-separator");
    if (!shown.length || !separator) return;
    var next = separator.nextElementSibling;
    while (next && !next.matches("li.message")) next = next.nextElementSibling;
    if (next && next.getAttribute("data-day") === shown[shown.length - 1].getAttribute("data-day")) separator.remove();
  }

  // A conversation picked in the inbox list swaps only the thread pane (the list keeps its
  // scroll). The list's "current" marker moves to the new thread, whose unread count the
  // server no longer shows; the inbox shows the pane on phones; focus goes to the thread's
  // heading (not the compose box, whose autofocus would open a phone's keyboard), so screen
  // readers announce the change.
  function isThreadPane(elt) { return !!elt && elt.id === "thread-pane"; }

  function markCurrentConversation(id) {
    document.querySelectorAll("#conversation-list li.conversation").forEach(function (row) {
      var current = row.getAttribute("data-conversation-id") === id;
      var link = row.querySelector("a");
      row.classList.toggle("active", current);
      if (current) {
        link.setAttribute("aria-current", "page");
        row.classList.remove("unread");
        var badge = row.querySelector(".badge");
        if (badge) badge.remove();
      } else {
        link.removeAttribute("aria-current");
      }
    });
  }

  document.addEventListener("htmx:afterSwap", function (event) {
    var pane = event.detail.target;
    if (!isThreadPane(pane)) return;
    pane.querySelectorAll("[autofocus]").forEach(function (box) { box.removeAttribute("autofocus"); });
    var thread = pane.querySelector("#thread");
    if (thread) markCurrentConversation(thread.getAttribute("data-conversation-id"));
    var inbox = pane.closest(".inbox");
    if (inbox) inbox.classList.add("has-thread");
  });
  // A thread opened with a mouse click puts the focus in its box, ready to type, as a thread loaded
  // as a page does (a tester's reply went nowhere, the focus on the heading); opened from the
  // keyboard (or a screen reader's click) or on a touch screen, on its heading.
  var openedByMouse = false;
  document.addEventListener("click", function (event) {
    var row = event.target.closest && event.target.closest("#conversation-list li.conversation a");
    if (row) openedByMouse = event.detail > 0 && event.pointerType !== "touch" && event.pointerType !== "pen" && !touchOnly();
  }, true);
  document.addEventListener("htmx:afterSettle", function (event) {
    if (!isThreadPane(event.detail.target)) return;
    var heading = event.detail.target.querySelector("#thread h2");
    if (isLiveRedraw(event)) return keepFocusThroughRedraw(event.detail.target, heading);
    var box = openedByMouse && event.detail.target.querySelector("#compose-body");
    openedByMouse = false;
    if (box) box.focus({ preventScroll: true });
    else if (heading) heading.focus();
    showWholeThread();
  });
  // A thread drawn again because the live channel said so (live.js: the other member paused, a
  // block, the rules), not because the member picked it: the focus stays where they left it. It
  // went to the thread's heading, ringed, from the box or the list (a street's tester). Only when
  // what had it is gone (the box, closed by a pause) does the heading take it, and the box takes it
  // back once open again, unless the member has moved on meanwhile.
  function isLiveRedraw(event) {
    var config = event.detail.requestConfig;
    return !!(config && config.headers && config.headers["X-WB-Redraw"]);
  }
  var focusBeforeRedraw = null, boxClosedOnFocus = false, typedBeforeRedraw = null;
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (!isThreadPane(event.detail.target) || !isLiveRedraw(event)) return;
    var active = document.activeElement, box = document.getElementById("compose-body");
    focusBeforeRedraw = active && active !== document.body && event.detail.target.contains(active) ? active : null;
    typedBeforeRedraw = box ? { value: box.value, start: box.selectionStart, end: box.selectionEnd } : null;
  });
  // In the same turn as the swap, so no key pressed meanwhile is lost: the box drawn again holds what
  // was typed, where it was typed, and keeps the focus it had. Done at the settle, 20 ms later, keys
  // pressed in between went nowhere, and one that reached the new box first took the place of all
  // the words (a street's re-check tester).
  document.addEventListener("htmx:afterSwap", function (event) {
    if (!isThreadPane(event.detail.target) || !isLiveRedraw(event)) return;
    var typed = typedBeforeRedraw, box = document.getElementById("compose-body");
    typedBeforeRedraw = null;
    if (!typed || !box || typed.value === "") return;
    box.value = typed.value;
    try { window.sessionStorage.removeItem(draftKey(box)); } catch (error) { /* storage off */ }
    if (focusBeforeRedraw && focusBeforeRedraw.id === "compose-body") {
      box.focus({ preventScroll: true });
      box.setSelectionRange(typed.start, typed.end);
    }
  });
  function keepFocusThroughRedraw(pane, heading) {
    var had = focusBeforeRedraw, box = pane.querySelector("#compose-body");
    focusBeforeRedraw = null;
    if (boxClosedOnFocus && box && (!had || had.id === "compose")) {
      boxClosedOnFocus = false;
      box.focus({ preventScroll: true });
      return;
    }
    if (!had) return;  // it was outside the thread (the list, the menu): it is still there
    var again = had.id && document.getElementById(had.id);
    if (again && pane.contains(again)) return again.focus({ preventScroll: true });
    var closed = had.id === "compose-body" && pane.querySelector("#compose");
    if (closed) {
      // The box that had it closed (a pause, "Nobody new"): its place, which says why, takes it, so a
      // screen reader reads why and a zoomed phone shows it (the heading took it, at the page's top,
      // and nothing was said: a re-check tester); the box takes it back when it opens again.
      boxClosedOnFocus = true;
      closed.setAttribute("tabindex", "-1");
      closed.focus();
    } else if (heading) heading.focus({ preventScroll: true });
  }
  document.addEventListener("focusin", function (event) {
    if (boxClosedOnFocus && event.target.id !== "compose") boxClosedOnFocus = false;
  });
  // A thread that fits the window but runs past its bottom (a phone turned sideways, under the
  // site's header) is scrolled up so its box and Send are on screen (they were below it, and
  // nothing showed there was a box: an outside tester). A taller one (large text) stays at its head.
  function showWholeThread() {
    var thread = document.getElementById("thread");
    if (!thread) return;
    var box = thread.getBoundingClientRect();
    if (box.bottom > window.innerHeight && box.height <= window.innerHeight) thread.scrollIntoView({ block: "end" });
  }
  document.addEventListener("DOMContentLoaded", showWholeThread);
  // Back and forward: htmx asks the server for the whole page and swaps in its body.
  document.addEventListener("htmx:historyRestore", function () {
    tidyThread();
    placeSeen();
    scrollToEnd();
    returnToListPlace();
  });

  // Back to the list where it was left. A row picked in the list notes the list's address (its
  // page and filter) and how far it was scrolled (the page on a phone, the list's own box on a
  // desktop); "All conversations" in the thread then goes back in history to that list, and a list
  // drawn again by Back (htmx asks the server: nothing of a page is kept in the browser) scrolls
  // to where it was. Only numbers and addresses are kept, for this tab (sessionStorage).
  var LEFT_LIST = "wb-left-list";
  function here() { return location.pathname + location.search; }
  function leftList() {
    try { return JSON.parse(sessionStorage.getItem(LEFT_LIST)) || null; } catch (e) { return null; }
  }
  document.addEventListener("click", function (event) {
    var row = event.target.closest && event.target.closest("#conversation-list li.conversation a");
    if (!row) return;
    var scroller = row.closest(".inbox-list");
    try {
      sessionStorage.setItem(LEFT_LIST, JSON.stringify({
        list: here(), thread: new URL(row.href, location.href).pathname + new URL(row.href, location.href).search,
        pageY: window.scrollY, listTop: scroller ? scroller.scrollTop : 0,
      }));
    } catch (e) { /* storage refused: the list opens at its top, as without this */ }
  });
  // The history entry a picked row pushed says which list it came from: only from there does
  // "All conversations" go back (from a thread opened elsewhere it opens the inbox).
  document.addEventListener("htmx:pushedIntoHistory", function (event) {
    var left = leftList();
    if (left && left.thread === event.detail.path) {
      history.replaceState(Object.assign({}, history.state, { wbList: left.list }), "");
    }
  });
  document.addEventListener("click", function (event) {
    var back = event.target.closest && event.target.closest("#thread .back-link");
    if (!back || !history.state || !history.state.wbList || event.button !== 0 || event.ctrlKey ||
        event.metaKey || event.shiftKey) return;
    event.preventDefault();
    history.back();  // the list's own entry: its page, filter and place
  });
  function returnToListPlace() {
    var left = leftList();
    if (!left || left.list !== here() || !document.getElementById("conversation-list")) return;
    var scroller = document.querySelector(".inbox-list");
    if (scroller) scroller.scrollTop = left.listTop;
    window.scrollTo(0, left.pageY);
    var row = document.querySelector('#conversation-list a[href="' + left.thread + '"]');
    if (row) row.focus({ preventScroll: true });
  }

  // The inbox list asks for its rows again when the live channel (live.js) or the member's own
  // action (wb:list-changed) says they changed, with the thread open now (picked since the list
  // was drawn, maybe). The browser revalidates with the rows' ETag: unchanged rows cost a 304.
  function openConversationId() {
    var thread = document.getElementById("thread");
    return (thread && thread.getAttribute("data-conversation-id")) || "0";
  }
  function isList(elt) { return !!elt && elt.id === "conversation-list"; }
  document.addEventListener("htmx:configRequest", function (event) {
    if (!isList(event.detail.elt)) return;
    var url = new URL(event.detail.path, window.location.href);
    url.searchParams.set("active", openConversationId());
    event.detail.path = url.pathname + url.search;
  });
  // A new list keeps the member's scroll and focus. It never swaps in an error, nor the sign-in
  // page a stale session is sent to; those (and 403/404) stop the polling: the links still work.
  var listKept = null;
  document.addEventListener("htmx:beforeSwap", function (event) {
    var list = event.detail.elt, xhr = event.detail.xhr;
    if (!isList(list)) return;
    var answeredBy = xhr.responseURL ? new URL(xhr.responseURL).pathname : null;
    var signedOut = answeredBy !== null && answeredBy !== new URL(list.getAttribute("hx-get"), window.location.href).pathname;
    if (xhr.status >= 400 || signedOut) {
      event.detail.shouldSwap = false;
      if (signedOut || xhr.status === 403 || xhr.status === 404) {
        list.removeAttribute("hx-get");
        list.removeAttribute("hx-trigger");
        var still = list.cloneNode(true);
        list.replaceWith(still);
        htmx.process(still);
      }
      return;
    }
    if (!event.detail.shouldSwap) return;  // 204: nothing changed
    keepListPlace(list);
  });
  document.addEventListener("htmx:afterSwap", function (event) { restoreListPlace(event.target); });
  // The same when the list comes along with the answer to an action that changed it (a send, a
  // read: views._answer_changing_list).
  // Such an answer may bring only the rows that changed, with the order and times of all the
  // page's rows (data-list-rows): the list keeps its other rows. A row it has neither kept nor
  // been brought means it was drawn before something it never heard of: it asks for itself.
  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    var list = event.detail.target, fragment = event.detail.fragment;
    if (!isList(list) || !event.detail.shouldSwap) return;
    keepListPlace(list);
    var order = fragment.getAttribute && fragment.getAttribute("data-list-rows");
    if (order !== null && order !== undefined) {
      event.detail.shouldSwap = false;
      if (!mergeListRows(list, fragment, JSON.parse(order))) {
        listKept = null;
        document.body.dispatchEvent(new CustomEvent("wb:list-stale"));
        return;
      }
    }
    queueMicrotask(function () { restoreListPlace(list); });  // as for the thread, above
  });
  function mergeListRows(list, fragment, order) {
    var rows = list.querySelector("ul.conversations"), came = fragment.querySelector("ul.conversations");
    if (!rows || !came) return false;
    var kept = {}, brought = {};
    rows.querySelectorAll(":scope > li.conversation").forEach(function (row) { kept[row.getAttribute("data-conversation-id")] = row; });
    came.querySelectorAll(":scope > li.conversation").forEach(function (row) { brought[row.getAttribute("data-conversation-id")] = row; });
    var next = [];
    for (var i = 0; i < order.length; i++) {
      var id = String(order[i][0]), row = brought[id] || kept[id];
      if (!row) return false;
      if (!brought[id]) {  // a kept row's time in words moves on ("5 min ago", then "1 h ago"),
        var time = row.querySelector("time"), name = row.querySelector(".conversation-name bdi");
        if (time) time.textContent = order[i][1];
        if (name && name.textContent !== order[i][2]) name.textContent = order[i][2];  // and a name may change
      }
      next.push(row);
    }
    rows.replaceChildren.apply(rows, next);
    ["data-list-version", "data-list-cursor"].forEach(function (name) {
      if (came.hasAttribute(name)) rows.setAttribute(name, came.getAttribute(name));
    });
    var pager = list.querySelector(".pager"), newPager = fragment.querySelector(".pager");
    if (pager) pager.remove();
    if (newPager) list.appendChild(newPager);
    Object.keys(brought).forEach(function (id) { if (brought[id].isConnected) htmx.process(brought[id]); });
    return true;
  }
  function keepListPlace(list) {
    if (listAnswersDue > 1) listUnsure = true;  // this answer's request is among them
    var scroller = list.closest(".inbox-list");
    var focused = document.activeElement && document.activeElement.closest && document.activeElement.closest("#conversation-list li.conversation");
    listKept = {
      scrollTop: scroller ? scroller.scrollTop : null,
      focused: focused ? focused.getAttribute("data-conversation-id") : null,
    };
  }
  // Answers that may draw the list (its own, and an action's that brings it along) can cross on
  // the way: one the server drew before an action may land after that action's answer. So a list
  // drawn while another such answer was still due asks again once they are all in.
  // (Counted on the request itself: htmx's own events for an element gone meanwhile reach no one.)
  var listAnswersDue = 0, listUnsure = false;
  document.addEventListener("htmx:beforeSend", function (event) {  // a request on its way (none cancelled)
    if (!isList(event.detail.elt) && event.detail.requestConfig.verb === "get") return;
    listAnswersDue += 1;
    event.detail.xhr.addEventListener("loadend", function () {  // after htmx has handled the answer
      listAnswersDue -= 1;
      if (listAnswersDue === 0 && listUnsure) {
        listUnsure = false;
        document.body.dispatchEvent(new CustomEvent("wb:list-stale"));
      }
    });
  });
  // Each list the server draws says the newest change it shows at least (data-list-cursor; the
  // page's own list: the page's live cursor, read before it). The list a live answer brings
  // (live.js: wb:list-came, with the answer's cursor) is drawn unless the list on screen came
  // with a newer cursor (an action's answer drawn after a change the live answer was drawn
  // before: the tab's own changes never come back through its live channel) or an answer that
  // may draw the list is still due, or the member opened another conversation since the ask left
  // (the answer's rows are drawn for the one open then); then the list asks for itself. Any
  // change after the live answer's cursor comes with a later live answer.
  var listCursor = 0;
  document.addEventListener("DOMContentLoaded", function () {
    listCursor = Number(document.body.getAttribute("data-live-cursor")) || 0;
  });
  function noteListCursor(list) {
    var rows = list.querySelector("ul.conversations");
    var cursor = rows && Number(rows.getAttribute("data-list-cursor"));
    if (cursor > listCursor) listCursor = cursor;
  }
  document.addEventListener("wb:list-came", function (event) {
    var list = document.getElementById("conversation-list");
    if (!list || !list.getAttribute("hx-get")) return;
    if (listAnswersDue > 0 || event.detail.cursor < listCursor || event.detail.active !== openConversationId()) {
      document.body.dispatchEvent(new CustomEvent("wb:list-stale"));
      return;
    }
    // Its rows come out of band (as with an action's answer), so they are drawn as those are.
    htmx.swap(list, event.detail.html, { swapStyle: "none" });
    emptyPaneFollowsList();
  });
  // The thread pane of an inbox that had no conversations said "No conversations yet" beside the
  // eight that had arrived since (a marketplace tester): once the list has a row, it says pick one.
  function emptyPaneFollowsList() {
    var hidden = document.querySelector("[data-just-hidden]");
    if (hidden && document.querySelector('#conversation-list li.conversation[data-conversation-id="' +
                                         hidden.getAttribute("data-just-hidden") + '"]')) hidden.remove();
    var empty = document.querySelector("#thread-pane [data-empty-list]");
    if (!empty || !document.querySelector("#conversation-list li.conversation")) return;
    var pick = document.querySelector("#thread-pane template[data-empty-pick]");
    if (pick) empty.replaceWith(pick.content.cloneNode(true)); else empty.remove();
  }
  document.addEventListener("htmx:afterSettle", emptyPaneFollowsList);
  function restoreListPlace(list) {
    if (!isList(list)) return;
    noteListCursor(list);
    if (!listKept) return;
    var scroller = list.closest(".inbox-list");
    if (scroller && listKept.scrollTop !== null) scroller.scrollTop = listKept.scrollTop;
    var row = listKept.focused && list.querySelector('li.conversation[data-conversation-id="' + listKept.focused + '"] a');
    if (row) row.focus({ preventScroll: true });
    listKept = null;
    var open = openConversationId();
    if (open !== "0") markCurrentConversation(open);
  }

  // A message's ⋯ menu: once open, its items are scrolled into sight (the menu opens under the
  // message, maybe below the fold).
  document.addEventListener("toggle", function (event) {
    var menu = event.target;
    if (!menu.matches || !menu.matches("details.message-actions") || !menu.open) return;
    menu.scrollIntoView({ block: "nearest" });
  }, true);
  document.addEventListener("htmx:afterSwap", function (event) {
    var menu = event.detail.elt.closest && event.detail.elt.closest("details.message-actions[open]");
    if (menu) menu.scrollIntoView({ block: "nearest" });
  });
  // A menu whose actions couldn't load (UNANSWERED) asks again as it opens again, and, open, once
  // back online (its own trigger fires once). Its no-JavaScript link goes nowhere while offline:
  // the browser's offline page took the member off the thread.
  function loadMenu(menu) {
    var items = menu.querySelector(".message-actions-menu");
    menu.removeAttribute("data-menu-unloaded");
    // (A failure is said in the menu, UNANSWERED: the promise's rejection is not news.)
    if (items) htmx.ajax("GET", menu.getAttribute("hx-get"), { source: menu, target: items, swap: "outerHTML settle:0ms" })
      .catch(function () {});
  }
  document.addEventListener("toggle", function (event) {
    var menu = event.target;
    if (menu.matches && menu.matches("details.message-actions[data-menu-unloaded]") && menu.open) loadMenu(menu);
  }, true);
  window.addEventListener("online", function () {
    document.querySelectorAll("details.message-actions[data-menu-unloaded][open]").forEach(loadMenu);
  });
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("details.message-actions .message-actions-menu a");
    if (!link || navigator.onLine) return;
    event.preventDefault();
    loadMenu(link.closest("details.message-actions"));  // and it says why nothing came
  });

  // "New message" in the inbox is a <details>: opening it puts the cursor in the search box.
  document.addEventListener("toggle", function (event) {
    var box = event.target;
    if (!box.matches || !box.matches("details.new-message") || !box.open) return;
    var input = box.querySelector("input[type=search]");
    if (input) input.focus();
  }, true);
  // A message deleted or removed from its own ⋯ menu takes the focus with it: it goes to what
  // took its place (the deleted message's ⋯), else to the next message's ⋯ (or the one before),
  // so a keyboard or screen reader user stays where they were in the thread.
  var refocus = null;
  document.addEventListener("htmx:beforeSwap", function (event) {
    var form = event.detail.requestConfig && event.detail.requestConfig.elt, item = event.detail.target;
    if (!event.detail.shouldSwap || !form || !form.closest || !form.closest(".message-actions-menu") || !item || !item.matches("li.message")) return;
    var near = item.nextElementSibling, before = item.previousElementSibling;
    while (near && !near.matches("li.message")) near = near.nextElementSibling;
    while (before && !before.matches("li.message")) before = before.previousElementSibling;
    refocus = { id: item.id, near: near && near.id, before: before && before.id };
  });
  document.addEventListener("htmx:afterSettle", function () {
    if (refocus === null) return;
    var ids = [refocus.id, refocus.near, refocus.before], summary = null;
    refocus = null;
    for (var i = 0; i < ids.length && !summary; i++) {
      var item = ids[i] && document.getElementById(ids[i]);
      summary = item && item.querySelector("details.message-actions > summary");
    }
    if (summary) summary.focus();
  });

  // Escape inside a disclosure that works as a menu ("New message", a message's ⋯, the
  // Safety of a conversation or a profile) closes it and hands focus back to its summary.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || !event.target.closest) return;
    var box = event.target.closest("details.new-message[open], details.message-actions[open], " +
      "details.safety[open], .desktop-notices-compact details[open]");
    if (!box) return;
    event.preventDefault();
    box.open = false;
    box.querySelector("summary").focus();
  });
  // The menus that open over the page (Safety, a message's ⋯) close when the member clicks or
  // tabs elsewhere: left open, Safety covered the first message while focus was already past it.
  // (Focus that leaves the page, to a confirmation dialog, leaves them be.)
  var POPOVERS = "details.safety[open], details.message-actions[open]";
  document.addEventListener("click", function (event) {
    document.querySelectorAll(POPOVERS).forEach(function (menu) {
      if (!menu.contains(event.target)) menu.open = false;
    });
  });
  document.addEventListener("focusout", function (event) {
    var menu = event.target.closest && event.target.closest(POPOVERS);
    if (menu && event.relatedTarget && !menu.contains(event.relatedTarget)) menu.open = false;
  });
  // A form the server sent back with errors: each field names its error (aria-invalid, and the
  // error among what describes it), and the first such field takes the focus, so a screen reader
  // says what went wrong there instead of starting again at the top of the page.
  function markFieldErrors() {
    var first = null;
    document.querySelectorAll("form .field-error[id]").forEach(function (error) {
      var field = null;
      for (var before = error.previousElementSibling; before && !field; before = before.previousElementSibling) {
        field = before.matches("input:not([type=hidden]), textarea, select") ? before
          : before.querySelector("input:not([type=hidden]), textarea, select");
      }
      if (!field) return;
      field.setAttribute("aria-invalid", "true");
      var described = (field.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
      if (described.indexOf(error.id) < 0) described.push(error.id);
      field.setAttribute("aria-describedby", described.join(" "));
      if (!first) first = field;
    });
    if (first) first.focus();
    return !!first;
  }

  // What an action came back to say ("Conversation muted", "Thanks, an admin will look at your
  // report"), on the page it led to: read out and where the keyboard goes on from (before, focus was
  // on <body>, or in the message box, which opened a phone's keyboard after a tap on Mute).
  // Not when the member has already put the focus somewhere (a menu opened while the page was
  // still loading): moving it would close that menu under their finger. A box's autofocus is the
  // page's doing, not theirs: the note still takes it.
  function focusFlashes() {
    var flashes = document.querySelector("[data-flashes]"), focused = document.activeElement;
    var taken = focused && focused !== document.body && !focused.hasAttribute("autofocus");
    if (!flashes || taken) return;
    flashes.focus();
    if (window.location.hash) keepFocusThroughTheJump(flashes);
  }

  // A page reached at #section (a settings form's redirect, a posted comment): the browser's jump
  // there comes after the note took the focus, and Chromium drops the focus when the section can't
  // take it, so the note was read out by no screen reader (a residents' building's tester, in
  // Settings). The note takes it back once, where the jump left the page, unless the member has
  // touched the page or a key by then.
  function keepFocusThroughTheJump(flashes) {
    var touched = false;
    function touch() { touched = true; }
    document.addEventListener("pointerdown", touch, { once: true, capture: true });
    document.addEventListener("keydown", touch, { once: true, capture: true });
    flashes.addEventListener("blur", function () {
      setTimeout(function () {
        var now = document.activeElement;
        if (!touched && (!now || now === document.body)) flashes.focus({ preventScroll: true });
      });
    }, { once: true });
  }

  // Near the 5,000 characters a message may have, the box says how many are left (and past it,
  // how many too many), as the server counts them: characters, not UTF-16 units, without the
  // spaces around the text. Only near the end; a screen reader hears it with the box
  // (aria-describedby), not at every key.
  var MESSAGE_MAX = 5000, COUNT_FROM = 4500;
  function describedBy(box, id, on) {
    var ids = (box.getAttribute("aria-describedby") || "").split(" ").filter(function (x) { return x && x !== id; });
    if (on) ids.push(id);
    if (ids.length) box.setAttribute("aria-describedby", ids.join(" "));
    else box.removeAttribute("aria-describedby");
  }
  function showLength(box) {
    var form = box.form, note = form && form.querySelector("[data-length]");
    var used = Array.from(box.value.trim()).length;
    if (used < COUNT_FROM) {
      if (note) { note.remove(); describedBy(box, "compose-length", false); }
      return;
    }
    if (!note) {
      note = document.createElement("p");
      note.className = "compose-length";
      note.id = "compose-length";
      note.setAttribute("data-length", "");
      form.insertBefore(note, box);
      describedBy(box, "compose-length", true);
    }
    describedBy(box, "compose-length", true);  // again: a send's error may have reset the list
    var left = MESSAGE_MAX - used;
    note.classList.toggle("over", left < 0);
    function characters(n) { return n.toLocaleString("en") + (n === 1 ? " character" : " characters"); }
    note.textContent = left >= 0 ? characters(left) + " left"
      : characters(-left) + " too many (" + MESSAGE_MAX.toLocaleString("en") + " at most)";
  }
  document.addEventListener("input", function (event) {
    if (!event.target || event.target.id !== "compose-body") return;
    // A refusal of the text itself (nothing written, too long) is over once the member writes:
    // the length note says the rest. Others (a limit's wait) stay until the next send.
    if (event.target.form.querySelector(".compose-error[data-about-text]")) clearComposeError(event.target);
    showLength(event.target);
    fitToText(event.target);
  });
  // A limit's refusal says when its wait is over, once, where it said to wait: "Try again in 46 seconds"
  // stayed on screen long after (a marketplace's tester). Its seconds count down on screen ("56 seconds"
  // stood still for a minute: a marketplace's tester), heard once: the note is an alert only for its first
  // words, then a plain note that the box's description reads as it is now.
  var ALERT_HEARD_MS = 1500;
  function sayWhenTheWaitIsOver() {
    var note = document.querySelector("#compose .compose-error[data-retry-after]");
    if (!note || note.hasAttribute("data-waiting")) return;
    note.setAttribute("data-waiting", "");
    var over = Date.now() + Number(note.getAttribute("data-retry-after")) * 1000;
    window.setTimeout(function () { if (note.classList.contains("compose-error")) note.removeAttribute("role"); }, ALERT_HEARD_MS);
    var ticking = window.setInterval(function () {
      if (!note.isConnected) { window.clearInterval(ticking); return; }
      var left = Math.ceil((over - Date.now()) / 1000);
      if (left > 0) {
        note.textContent = note.textContent.replace(/ in \d+ seconds?\./, " in " + left + (left === 1 ? " second." : " seconds."));
        return;
      }
      window.clearInterval(ticking);
      // No longer an error: said as news, and the box no longer marked wrong (a re-check tester).
      var box = note.form && note.form.querySelector("#compose-body") || document.getElementById("compose-body");
      note.textContent = "You can send again now.";
      note.className = "compose-ready";
      note.setAttribute("role", "status");
      if (box) box.removeAttribute("aria-invalid");
    }, 1000);
  }
  document.addEventListener("DOMContentLoaded", sayWhenTheWaitIsOver);
  document.addEventListener("htmx:afterSettle", sayWhenTheWaitIsOver);

  // Where CSS can't size the box to its text (field-sizing, app.css), its height follows the text here.
  var SIZES_ITSELF = window.CSS && CSS.supports && CSS.supports("field-sizing", "content");
  function fitToText(box) {
    if (SIZES_ITSELF || !box) return;
    box.style.height = "auto";
    box.style.height = box.scrollHeight + 2 + "px";  // max-height (app.css) still holds
  }
  // Past the end it isn't sent: the server would refuse it anyway, and past 256 KiB the refusal
  // ("Too large") took the box's place and what was in it (an operator tester pasted 1 MB).
  // It says so as the server's refusal would, an alert with the box marked invalid: the length
  // note alone changed, and a screen reader said nothing at Enter (an outside tester).
  document.addEventListener("htmx:confirm", function (event) {
    var form = event.detail.elt, box = form && form.id === "compose" && form.querySelector("#compose-body");
    var used = box ? Array.from(box.value.trim()).length : 0;
    if (used <= MESSAGE_MAX) return;
    event.preventDefault();
    showLength(box);
    showComposeError(box, "Messages can be at most " + MESSAGE_MAX.toLocaleString("en") + " characters; this one has "
      + used.toLocaleString("en") + ".", true);
    box.focus();
  });

  // On a touch screen the message box waits for a tap: its autofocus opened the keyboard over a
  // thread not read yet (a tester). With a mouse or keyboard it keeps the focus, ready to reply.
  function touchOnly() {
    return !!window.matchMedia && matchMedia("(pointer: coarse)").matches && !matchMedia("(any-pointer: fine)").matches;
  }
  function leaveTheBoxOnTouch() {
    var box = document.getElementById("compose-body");
    if (!box || !box.hasAttribute("autofocus") || !touchOnly()) return;
    box.removeAttribute("autofocus");
    if (document.activeElement === box) box.blur();
    // The browser may still give it the focus after this (autofocus runs at its next rendering,
    // once a candidate; a CI run caught it): until the member first touches the page or a key,
    // that focus is taken back. Their own tap on the box keeps it.
    var touched = false;
    function touch() { touched = true; }
    document.addEventListener("pointerdown", touch, { once: true, capture: true });
    document.addEventListener("keydown", touch, { once: true, capture: true });
    box.addEventListener("focus", function undo() {
      if (touched) box.removeEventListener("focus", undo);
      else box.blur();
    });
  }

  // Back and Forward draw a page of the history again, its box's autofocus too (Forward into a
  // thread raised a phone's keyboard: a re-check tester).
  document.addEventListener("htmx:historyRestore", leaveTheBoxOnTouch);
  document.addEventListener("DOMContentLoaded", function () {
    leaveTheBoxOnTouch();
    tidyThread();
    placeSeen();
    scrollToEnd();
    if (!markFieldErrors()) focusFlashes();
  });
})();
