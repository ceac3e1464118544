// The service worker of alarm notifications (issue 65 item 3): shows what the server pushed
// (web/alarm_push.py: a title, the alarm in the device's language, a tag per alarm, so that
// a page that told it already and this show it once), and opens or brings forward the
// dashboard when the notification is chosen. It handles no fetch: pages never pass it.
// In an installation each office registers it with its prefix (?root=/o/mops, scope
// /static/o/mops/): the dashboard opened is that office's.
var ROOT = new URL(self.location.href).searchParams.get("root") || "";
if (!/^\/o\/[a-z][a-z0-9-]{0,39}$/.test(ROOT)) { ROOT = ""; }
self.addEventListener("push", function (event) {
  var told = {};
  try { told = event.data ? event.data.json() : {}; } catch (e) { told = {}; }
  var title = told.title || "Kustosz";
  event.waitUntil(self.registration.showNotification(title, {
    body: told.body || "", tag: told.tag || "kustosz-alarm", lang: told.lang || "pl",
    data: { url: ROOT + (told.url || "/") }, renotify: false
  }));
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var url = new URL((event.notification.data && event.notification.data.url) || ROOT + "/",
                    self.location.origin).href;
  event.waitUntil(self.clients.matchAll({ type: "window", includeUncontrolled: true })
    .then(function (pages) {
      for (var i = 0; i < pages.length; i++) {
        if (new URL(pages[i].url).origin === self.location.origin && "focus" in pages[i]) {
          return pages[i].navigate(url).then(function (page) { return page && page.focus(); })
            .catch(function () { return pages[i].focus(); });
        }
      }
      return self.clients.openWindow(url);
    }));
});
