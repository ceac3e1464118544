// Kustosz player: recordings from their HLS playlist (hls.js served by the package, no CDN),
// and the live view: the camera's sub-stream as one fragmented-MP4 stream into Media Source
// Extensions (issue 52), HLS when that cannot be had (no MSE, no sub-stream: 404, a stream
// that keeps failing). The live view says what it is doing in words (issue 65 item 1), in the
// polite live region #live-status, with the words view.html gives it: connecting, playing,
// the HLS fallback, the picture stopped (no new frame for STALL_S), the feed broken off, the
// camera silent as the vault knows it (since when, why), the server not answering — each with
// the next try, backed off — and the view ended: access withdrawn or the sign-in ended, as
// /view/{token}/state says (web/live_state.py), after which it does not try again. A picture
// is never left frozen in silence.
(function () {
  "use strict";
  var video = document.getElementById("player");
  if (!video) { return; }
  var src = video.getAttribute("data-src");
  var wall = document.getElementById("walltime");
  var frag = null, hls = null;
  function show() {
    if (!wall || !frag || !frag.programDateTime) { return; }
    var t = new Date(frag.programDateTime + (video.currentTime - frag.start) * 1000);
    wall.textContent = t.toLocaleString("pl-PL", { timeZone: "Europe/Warsaw" });
  }
  function startHls(fatal) {
    if (window.Hls && window.Hls.isSupported()) {
      hls = new window.Hls({ enableWorker: false, lowLatencyMode: !!video.getAttribute("data-live") });
      hls.on(window.Hls.Events.FRAG_CHANGED, function (_e, data) { frag = data.frag; show(); });
      hls.on(window.Hls.Events.ERROR, function (_e, data) {
        if (data.fatal) { fatal(data.type + ": " + data.details); }
      });
      hls.loadSource(src);
      hls.attachMedia(video);
      window.kustoszHls = hls;
    } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
      video.src = src;
    }
  }
  function codecOf(bytes) {  // avc1.PPCCLL from the avcC box of the stream's moov
    for (var i = 4; i + 7 < bytes.length; i++) {
      if (bytes[i] === 0x61 && bytes[i + 1] === 0x76 && bytes[i + 2] === 0x63 && bytes[i + 3] === 0x43) {
        var hex = function (b) { return ("0" + b.toString(16)).slice(-2); };
        return "avc1." + hex(bytes[i + 5]) + hex(bytes[i + 6]) + hex(bytes[i + 7]);
      }
    }
    return null;
  }
  function joined(a, b) {
    var c = new Uint8Array(a.length + b.length);
    c.set(a);
    c.set(b, a.length);
    return c;
  }

  // The stream into MSE, played at the live edge. ``on`` is told "playing" when its first
  // picture is appended, "absent" (404: no sub-stream), "unplayable" (the browser cannot play
  // its codec), or trouble: "ended" (it played and stopped), "refused" (an answer other than
  // a picture), "error". A 503 (no picture yet) is asked again each second until ``until``.
  // Returns the function that stops it.
  function openStream(url, until, on) {
    var ms = new window.MediaSource(), sb = null, pending = [], head = null, gone = false;
    var aborter = window.AbortController ? new window.AbortController() : null;
    var edging = window.setInterval(edge, 500), again = null;
    function stop() {
      gone = true;
      window.clearInterval(edging);
      window.clearTimeout(again);
      if (aborter) { aborter.abort(); }
    }
    function tell(what) { if (!gone) { stop(); on(what); } }
    function pump() {
      if (gone || !sb || sb.updating || !pending.length) { return; }
      var chunk = pending.reduce(joined, new Uint8Array(0));
      pending = [];
      try { sb.appendBuffer(chunk); } catch (e) { tell("error"); }
    }
    // Stay at the live edge (issue 68): a little faster while more than CHASE_S behind the
    // newest picture, a jump only when far behind (a seek decodes from the key frame again).
    var CHASE_S = 0.07, JUMP_S = 1.5;
    function edge() {  // and keep ~10 s behind it at most
      if (gone || !sb || !video.buffered.length) { return; }
      var end = video.buffered.end(video.buffered.length - 1), behind = end - video.currentTime;
      if (behind > JUMP_S) { video.currentTime = Math.max(end - CHASE_S, 0); }
      video.playbackRate = behind > CHASE_S ? 1 + Math.min(behind - CHASE_S, 0.25) : 1;
      if (!sb.updating && video.currentTime - video.buffered.start(0) > 20) {
        sb.remove(0, video.currentTime - 10);
      }
    }
    function got(chunk) {
      if (sb) { pending.push(chunk); pump(); return; }
      head = head ? joined(head, chunk) : chunk;
      var codec = codecOf(head), type = 'video/mp4; codecs="' + codec + '"';
      if (!codec) { return; }
      if (!window.MediaSource.isTypeSupported(type)) { tell("unplayable"); return; }
      sb = ms.addSourceBuffer(type);
      sb.mode = "segments";
      sb.addEventListener("updateend", function () { edge(); pump(); });
      pending.push(head);
      head = null;
      pump();
      on("playing");
    }
    function fetchIt() {
      var options = { credentials: "same-origin", cache: "no-store" };
      if (aborter) { options.signal = aborter.signal; }
      fetch(url, options).then(function (r) {
        if (r.status === 503 && Date.now() < until) {
          again = window.setTimeout(fetchIt, 1000);
          return null;
        }
        if (r.status === 404) { tell("absent"); return null; }
        if (!r.ok || !r.body) { tell("refused"); return null; }
        var reader = r.body.getReader();
        var read = function () {
          return reader.read().then(function (part) {
            if (gone) { return null; }
            if (part.done) { tell(sb ? "ended" : "refused"); return null; }
            got(part.value);
            return read();
          });
        };
        return read();
      }).catch(function () { tell("error"); });
    }
    ms.addEventListener("sourceopen", fetchIt);
    video.src = URL.createObjectURL(ms);
    return stop;
  }

  function live() {
    var box = document.getElementById("live-status");
    var again = document.getElementById("live-again");
    var player = video.parentNode;
    var STALL_S = 6, CONNECT_S = 15, WAITS = [1, 2, 4, 8, 15];
    var mse = !!(video.getAttribute("data-stream") && window.MediaSource && window.fetch &&
                 window.ReadableStream);
    var hlsOnly = !mse, silent = box.getAttribute("data-silent") || "";
    var trouble = silent ? [silent] : [];  // what went wrong, said until the picture moves
    var fails = 0, played = false, over = false, waiting = false, stop = null, kind = "";
    var moved = Date.now(), at = -1, mode = null;

    function words(name, values) {
      return (box.getAttribute("data-text-" + name) || "").replace(/\{(\w+)\}/g, function (m, k) {
        return values && values[k] !== undefined ? String(values[k]) : m;
      });
    }
    function clock(ms) {
      return new Date(ms).toLocaleTimeString("pl-PL", { timeZone: "Europe/Warsaw" });
    }
    function say(state, lines) {
      var text = lines.filter(Boolean).join(" ");
      kind = state;
      box.setAttribute("data-state", state);
      if (box.textContent !== text) { box.textContent = text; }
      player.classList.toggle("trouble",
                              ["playing", "hls", "paused", "connecting"].indexOf(state) < 0);
    }
    function teardown() {
      kind = "";  // what the emptied picture fires is not the person pausing it
      if (stop) { stop(); stop = null; }
      if (hls) { hls.destroy(); hls = null; window.kustoszHls = null; }
      mode = null;
      video.removeAttribute("data-mode");
      video.removeAttribute("src");
      video.load();
      at = -1;
    }
    function attempt() {
      if (over) { return; }
      waiting = false;
      moved = Date.now();
      var next = words(fails ? "again" : "connecting", { attempt: fails + 1 });
      say("connecting", trouble.concat(next));
      // every third try of a stream that fails goes by HLS — unless the camera is silent, when
      // HLS has only its last recorded seconds to show, as if they were live
      if (hlsOnly || (fails % 3 === 2 && !silent)) {
        mode = "hls";
        startHls(function () { fail(played ? "lost" : "nopicture", "error"); });
      } else {
        mode = "stream";
        stop = openStream(video.getAttribute("data-stream"), moved + CONNECT_S * 1000, streamSaid);
      }
      video.muted = true;
      var started = video.play();
      if (started && started.catch) {
        started.catch(function (e) {  // the browser wants a person's press: said, not "no picture"
          if (e && e.name === "NotAllowedError") { say("paused", [words("paused")]); }
        });
      }
    }
    function streamSaid(what) {
      stop = null;
      if (what === "playing") { video.setAttribute("data-mode", "stream"); return; }
      if (what === "absent" || what === "unplayable") {  // HLS it is, from now on
        hlsOnly = true;
        teardown();
        attempt();
        return;
      }
      fail(what === "ended" ? "lost" : "nopicture", what);
    }
    function playing() {
      played = true;
      fails = 0;
      trouble = [];
      silent = "";
      say(mode === "hls" ? "hls" : "playing", [words(mode === "hls" ? "hls" : "playing")]);
    }
    function fail(state, how) {  // the picture is not there: say why, ask the server, try again
      if (over || waiting) { return; }
      waiting = true;
      var first = !played, quiet = Math.round((Date.now() - moved) / 1000);
      var sentence = words(state, { time: clock(state === "stalled" ? moved : Date.now()),
                                    seconds: quiet });
      teardown();
      fails += 1;
      video.setAttribute("data-reconnects", String(fails));
      var wait = WAITS[Math.min(fails - 1, WAITS.length - 1)];
      ask(function (st) {
        if (over) { return; }
        if (st && st.ended) { end(st.ended); return; }
        // the server answers, but the stream never could be had: HLS from now on
        if (st && first && how === "error") { hlsOnly = true; }
        silent = (st && st.camera) || "";
        trouble = st ? [sentence, silent] : [words("server", { time: clock(Date.now()) })];
        say(st ? (silent ? "silent" : state) : "server",
            trouble.concat(words("retry", { seconds: wait, attempt: fails + 1 })));
        window.setTimeout(attempt, wait * 1000);
      });
    }
    function ask(then) {  // the server's word on this view, or null when it does not answer
      var aborter = window.AbortController ? new window.AbortController() : null;
      var limit = window.setTimeout(function () { if (aborter) { aborter.abort(); } }, 5000);
      var options = { credentials: "same-origin", cache: "no-store",
                      headers: { Accept: "application/json" } };
      if (aborter) { options.signal = aborter.signal; }
      fetch(box.getAttribute("data-state-url"), options).then(function (r) {
        if (!r.ok) { throw new Error("HTTP " + r.status); }
        return r.json();
      }).then(function (st) { window.clearTimeout(limit); then(st); },
               function () { window.clearTimeout(limit); then(null); });
    }
    function end(ended) {
      over = true;
      window.clearInterval(watching);
      teardown();
      say("ended", [ended.said, ended.todo]);
      again.hidden = false;
    }
    // The watch: the picture moves (playing), or it has not for STALL_S (stopped), or it
    // never came within CONNECT_S of a try.
    var watching = window.setInterval(function () {
      // a tab in the background may hold its video still: not a frozen picture
      if (over || waiting || kind === "paused" || document.hidden) { moved = Date.now(); return; }
      var now = Date.now(), t = video.currentTime;
      if (t !== at && t > 0 && !video.paused) {
        at = t;
        moved = now;
        if (kind === "connecting") { playing(); }
      } else if ((kind === "playing" || kind === "hls") && now - moved >= STALL_S * 1000) {
        fail("stalled", "stall");
      } else if (kind === "connecting" && now - moved >= CONNECT_S * 1000) {
        fail("nopicture", "stall");
      }
    }, 1000);
    video.addEventListener("pause", function () {
      if (kind === "playing" || kind === "hls") { say("paused", [words("paused")]); }
    });
    video.addEventListener("play", function () {
      if (kind === "paused") { moved = Date.now(); playing(); }
    });
    attempt();
  }

  if (video.getAttribute("data-live")) {
    live();
  } else {
    startHls(function (why) { video.setAttribute("data-error", why); });
  }
  video.addEventListener("timeupdate", show);
  // The camera's own marks (motion, inputs; issue 34): each button plays from its moment.
  function seekTo(ms) {
    var details = hls && hls.levels && hls.levels[0] && hls.levels[0].details;
    if (!details) { return false; }
    var frags = details.fragments, i;
    for (i = frags.length - 1; i >= 0; i--) {
      if (frags[i].programDateTime && frags[i].programDateTime <= ms) {
        video.currentTime = frags[i].start + (ms - frags[i].programDateTime) / 1000;
        return true;
      }
    }
    if (frags.length) { video.currentTime = frags[0].start; return true; }
    return false;
  }
  var jumps = document.querySelectorAll("button.jump[data-at]");
  Array.prototype.forEach.call(jumps, function (button) {
    button.addEventListener("click", function () {
      if (seekTo(Number(button.getAttribute("data-at")))) {
        video.setAttribute("data-jumped", button.getAttribute("data-at"));
        video.focus();
      }
    });
  });
})();
