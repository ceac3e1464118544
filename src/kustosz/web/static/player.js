// Kustosz player: HLS from the vault (hls.js served by the package, no CDN).
(function () {
  "use strict";
  var video = document.getElementById("player");
  if (!video) { return; }
  var src = video.getAttribute("data-src");
  var wall = document.getElementById("walltime");
  var frag = null;
  function show() {
    if (!wall || !frag || !frag.programDateTime) { return; }
    var t = new Date(frag.programDateTime + (video.currentTime - frag.start) * 1000);
    wall.textContent = t.toLocaleString("pl-PL", { timeZone: "Europe/Warsaw" });
  }
  // Live view as one fragmented-MP4 stream into Media Source Extensions (issue 52): a frame
  // appended as it comes, played at the live edge; HLS below is the fallback when the stream
  // is not offered (no sub-stream: 404), not ready, or fails.
  function startHls() {
    if (window.Hls && window.Hls.isSupported()) {
      var hls = new window.Hls({ enableWorker: false, lowLatencyMode: !!video.getAttribute("data-live") });
      hls.on(window.Hls.Events.FRAG_CHANGED, function (_e, data) { frag = data.frag; show(); });
      hls.on(window.Hls.Events.ERROR, function (_e, data) {
        if (data.fatal) { video.setAttribute("data-error", data.type + ": " + data.details); }
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
  // A stream that played and then ended (the relay restarted, the camera's connection
  // dropped, a proxy cut it) is opened again, after 1, 2, 3 s; a stream that never played, or
  // one that keeps failing, hands over to HLS rather than leaving a frozen picture.
  var RETRIES = 3, retries = 0, played = false;
  function startStream(url) {
    var ms = new window.MediaSource(), sb = null, pending = [], head = null, over = false;
    var aborter = window.AbortController ? new window.AbortController() : null, timer = null;
    var failed = function (why) {
      if (over) { return; }
      over = true;  // once per stream
      if (timer) { window.clearInterval(timer); }
      if (aborter) { aborter.abort(); }
      if (played && retries < RETRIES) {
        retries += 1;
        video.setAttribute("data-reconnects", String(retries));
        window.setTimeout(function () { startStream(url); }, 1000 * retries);
        return;
      }
      if (played) { video.setAttribute("data-error", "stream: " + why); }
      video.removeAttribute("data-mode");
      video.removeAttribute("src");
      startHls();
    };
    var pump = function () {
      if (!sb || sb.updating || !pending.length) { return; }
      var n = 0, i, chunk;
      for (i = 0; i < pending.length; i++) { n += pending[i].length; }
      chunk = new Uint8Array(n); n = 0;
      for (i = 0; i < pending.length; i++) { chunk.set(pending[i], n); n += pending[i].length; }
      pending = [];
      try { sb.appendBuffer(chunk); } catch (e) { failed(String(e)); }
    };
    var edge = function () {  // stay at the live edge; keep ~10 s behind it at most
      if (over || !sb || !video.buffered.length) { return; }
      var end = video.buffered.end(video.buffered.length - 1);
      if (end - video.currentTime > 0.5) { video.currentTime = Math.max(end - 0.1, 0); }
      if (!sb.updating && video.currentTime - video.buffered.start(0) > 20) {
        sb.remove(0, video.currentTime - 10);
      }
    };
    ms.addEventListener("sourceopen", function () {
      var options = { credentials: "same-origin", cache: "no-store" };
      if (aborter) { options.signal = aborter.signal; }
      fetch(url, options).then(function (r) {
        if (!r.ok || !r.body) { throw new Error("HTTP " + r.status); }
        var reader = r.body.getReader();
        var read = function () {
          return reader.read().then(function (got) {
            if (over) { return null; }
            if (got.done) { failed("ended"); return null; }
            if (!sb) {
              head = head ? (function () { var b = new Uint8Array(head.length + got.value.length); b.set(head); b.set(got.value, head.length); return b; })() : got.value;
              var codec = codecOf(head), type = 'video/mp4; codecs="' + codec + '"';
              if (!codec) { return read(); }
              if (!window.MediaSource.isTypeSupported(type)) { throw new Error("not supported: " + type); }
              sb = ms.addSourceBuffer(type);
              sb.mode = "segments";
              sb.addEventListener("updateend", function () { edge(); pump(); });
              played = true;
              retries = 0;  // it plays again: the next end gets its retries anew
              video.setAttribute("data-mode", "stream");
              pending.push(head); head = null;
            } else {
              pending.push(got.value);
            }
            pump();
            return read();
          });
        };
        return read();
      }).catch(function (e) { failed(String(e)); });
    });
    video.src = URL.createObjectURL(ms);
    video.muted = true;
    var playing = video.play();
    if (playing && playing.catch) { playing.catch(function () { return null; }); }
    timer = window.setInterval(edge, 500);
  }
  var stream = video.getAttribute("data-stream");
  if (stream && window.MediaSource && window.fetch && window.ReadableStream) {
    startStream(stream);
  } else {
    startHls();
  }
  video.addEventListener("timeupdate", show);
  // The camera's own marks (motion, inputs; issue 34): each button plays from its moment.
  function seekTo(ms) {
    var hlsNow = window.kustoszHls;
    var details = hlsNow && hlsNow.levels && hlsNow.levels[0] && hlsNow.levels[0].details;
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
