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
