/*
 * Search on a site opened from the disk (file://).
 *
 * Material runs its search in a Web Worker, and Chromium and Firefox refuse
 * `new Worker("file:///…")`. This stands in for Worker only on file:// pages:
 * the worker script runs in a hidden iframe of the same page, and messages go
 * through the iframe's window. Served over HTTP the browser's own Worker is used.
 *
 * Material's offline plugin adds a polyfill from unpkg.com unless a script
 * named "iframe-worker" is already listed; this is that script, shipped with
 * the site, so nothing is fetched from the internet. Material awaits
 * importScripts() when it finds IFrameWorker on the parent window, so here it
 * returns a Promise.
 */
(function () {
  "use strict";
  if (location.protocol !== "file:") {
    return;
  }

  // Runs inside the iframe: the worker's postMessage and importScripts.
  function runtime() {
    window.postMessage = function (data) {
      parent.postMessage(data, "*");
    };
    window.importScripts = function () {
      var urls = Array.prototype.slice.call(arguments);
      return urls.reduce(function (done, url) {
        return done.then(function () {
          return new Promise(function (resolve, reject) {
            var script = document.createElement("script");
            script.src = url;
            script.onload = function () { resolve(); };
            script.onerror = function () { reject(new Error("cannot load " + url)); };
            document.body.appendChild(script);
          });
        });
      }, Promise.resolve());
    };
  }

  function IFrameWorker(url) {
    var target = new EventTarget();
    var frame = document.createElement("iframe");
    var self = this;
    frame.hidden = true;
    document.body.appendChild(frame);
    var inner = frame.contentWindow;
    // the worker's URL is relative to the page, as `new Worker(url)` resolves it
    var src = new URL(url, location.href).href;
    inner.document.open();
    inner.document.write(
      "<!doctype html><html><body><script>(" + runtime + ")();<\/script>" +
      '<script src="' + src.replace(/"/g, "&quot;") + '"><\/script></body></html>'
    );
    inner.document.close();
    // after close(): open() drops the listeners the window had; the load event waits for the
    // worker script, so the first message reaches a worker that listens
    var ready = new Promise(function (resolve) {
      inner.addEventListener("load", resolve);
    });

    window.addEventListener("message", function (ev) {
      if (ev.source !== inner) {
        return;
      }
      var message = new MessageEvent("message", { data: ev.data });
      target.dispatchEvent(message);
      if (typeof self.onmessage === "function") {
        self.onmessage(message);
      }
    });

    this.onmessage = null;
    this.onerror = null;
    this.addEventListener = target.addEventListener.bind(target);
    this.removeEventListener = target.removeEventListener.bind(target);
    this.dispatchEvent = target.dispatchEvent.bind(target);
    this.postMessage = function (data) {
      ready.then(function () {
        inner.dispatchEvent(new inner.MessageEvent("message", { data: data }));
      });
    };
    this.terminate = function () {
      frame.remove();
    };
  }

  window.IFrameWorker = IFrameWorker;
  window.Worker = IFrameWorker;
})();
