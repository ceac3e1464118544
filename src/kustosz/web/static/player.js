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
})();
