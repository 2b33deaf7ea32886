/* Boot: render the current route, follow hash changes, show the cart count. */
(function () {
  "use strict";

  var SY = window.SY;
  document.title = SY.t("app.title");
  window.addEventListener("hashchange", function () {
    SY.render();
  });
  window.addEventListener("unhandledrejection", function (event) {
    if (event.reason instanceof SY.ApiError) {
      event.preventDefault();
      SY.showError(event.reason);
    }
  });
  SY.anonymousId();
  if (SY.tracker) SY.tracker.autoTrackBrowser(window); /* $launch, $show, $pageview per route, data-track clicks */
  SY.render();
  SY.refreshCartCount();
  SY.checkGift();
})();
