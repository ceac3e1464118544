// Review of a masked copy. The server counts watching from the bytes the media gate sent,
// played out at real-time speed on its own clock; the player reports its position (in order:
// never less than it reported before) and the `ended` event, which only hold that back (a
// paused player). Seeking ahead of what was watched is undone here too.
(function () {
  "use strict";
  var videos = document.querySelectorAll("video.review-video");
  Array.prototype.forEach.call(videos, function (video) {
    var watched = parseFloat(video.getAttribute("data-watched")) || 0;
    var reported = parseFloat(video.getAttribute("data-reported")) || 0;
    var last = 0;
    var path = video.getAttribute("data-path");
    function show(data) {
      var note = document.querySelector(".play-state[data-for='" + path + "']");
      if (!note || data.ratio_pl === undefined) { return; }
      note.textContent = data.ended ? "Obejrzane do końca (" + data.ratio_pl + ")."
        : "Obejrzano dotąd: " + data.ratio_pl + ".";
    }
    function report(ended, tries) {
      var at = ended ? video.duration : video.currentTime;
      if (!isFinite(at)) { return Promise.resolve(null); }
      reported = Math.max(reported, at);
      var body = new URLSearchParams();
      body.set("path", path);
      body.set("position", String(reported));
      if (ended) { body.set("ended", "1"); }
      return fetch(video.getAttribute("data-report"), {
        method: "POST", credentials: "same-origin", body: body,
        headers: { "X-CSRF-Token": video.getAttribute("data-csrf") }
      }).then(function (r) { return r.json(); }).then(function (data) {
        show(data);
        if (data.ended) {
          video.setAttribute("data-ended", "1");
          if (document.querySelectorAll("video.review-video:not([data-ended='1'])").length === 0) {
            var left = document.getElementById("not-watched");
            if (left) { left.textContent = "Wszystkie nagrania obejrzano do końca."; }
          }
        } else if (ended && (tries || 0) < 10) {
          // The server's clock may not have played the last frames out yet: ask again.
          setTimeout(function () { report(true, (tries || 0) + 1); }, 1000);
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
      if (video.playbackRate > 1) { video.playbackRate = 1; }
    });
    video.addEventListener("ended", function () { report(true, 0); });
    video.src = video.getAttribute("data-src");
  });
})();
