// Review of a masked copy: the player reports its position to the server (which decides what
// counts as watched) and the `ended` event; seeking ahead of what was watched is undone.
(function () {
  "use strict";
  var videos = document.querySelectorAll("video.review-video");
  Array.prototype.forEach.call(videos, function (video) {
    var watched = parseFloat(video.getAttribute("data-watched")) || 0;
    var last = 0;
    function report(ended) {
      var body = new URLSearchParams();
      body.set("path", video.getAttribute("data-path"));
      body.set("position", String(ended ? video.duration : video.currentTime));
      if (ended) { body.set("ended", "1"); }
      return fetch(video.getAttribute("data-report"), {
        method: "POST", credentials: "same-origin", body: body,
        headers: { "X-CSRF-Token": video.getAttribute("data-csrf") }
      }).then(function (r) { return r.json(); }).then(function (data) {
        if (data.ended) {
          var note = document.querySelector(".play-state[data-for='" + video.getAttribute("data-path") + "']");
          if (note) { note.textContent = "Obejrzane do końca."; }
          video.setAttribute("data-ended", "1");
        }
        return data;
      });
    }
    video.addEventListener("timeupdate", function () {
      if (!video.seeking && video.currentTime <= watched + 1.5) {
        watched = Math.max(watched, video.currentTime);
      }
      var now = Date.now();
      if (now - last >= 1000 && !video.paused) { last = now; report(false); }
    });
    video.addEventListener("seeking", function () {
      if (video.currentTime > watched + 0.5) { video.currentTime = watched; }
    });
    video.addEventListener("ratechange", function () {
      if (video.playbackRate > 2) { video.playbackRate = 1; }
    });
    video.addEventListener("ended", function () { report(true); });
    video.src = video.getAttribute("data-src");
  });
})();
